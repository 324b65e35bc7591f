/** How the drill gateway process is set up and what it says over IPC. */

/** `library`: `createGateway` on a plain `node:http` server; `sidecar`: `startServer` (HTTPS). */
export type GatewayMode = 'library' | 'sidecar';

export interface ChildSetup {
  mode: GatewayMode;
  /** `GatewayOptions` as JSON (no logger, no registry). */
  options: unknown;
}

/** What the gateway process measures of itself. */
export interface GatewayStats {
  pid: number;
  /** Resident set size after a full GC, bytes. */
  rss: number;
  heapUsed: number;
  /** Open file descriptors (`/proc/self/fd`): sockets, listeners, pipes, files. */
  fds: number;
  /** Open TCP sockets (`TCPSocketWrap` handles): client connections, upstream pool, tunnels, probes. */
  sockets: number;
  /** Connections the public listener holds. */
  connections: number;
  /** Upstream pool sockets carrying a request (`cryptid_gateway_upstream_sockets{state="in_use"}`). */
  upstreamInUse: number;
  /** The process's own TCP sockets in CLOSE-WAIT: the peer closed, the gateway never did. */
  closeWait: number;
  status: string;
}

export type ChildMessage =
  | { type: 'ready'; port: number; status: string }
  | { type: 'status'; status: string; previous: string; reason: string; at: number }
  | { type: 'certificate'; fingerprint: string; at: number }
  | { type: 'certificateError'; at: number }
  | { type: 'stats'; id: number; stats: GatewayStats };

/** `quick`: without the full GC first (for polling a bound, where RSS is not read). */
export type ParentMessage = { type: 'stats'; id: number; quick?: boolean } | { type: 'close' };
