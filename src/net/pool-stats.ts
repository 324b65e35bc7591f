/** The sockets of a keep-alive pool to another server, read when metrics are scraped. */
export interface PoolStats {
  /** Connections carrying a request now. */
  inUse(): number;
  /** Idle keep-alive connections ready for reuse. */
  free(): number;
}
