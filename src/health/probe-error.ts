/**
 * A reason for a probe that got no answer, from the error's code only: Node's messages
 * name the address (`connect ECONNREFUSED 10.0.0.5:8008`), which must not leak.
 */
export function describeError(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  switch (code) {
    case 'ECONNREFUSED':
      return 'upstream refused the connection';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET': // undici's "other side closed": the connection ended before a complete answer
      return 'upstream reset the connection';
    case 'ETIMEDOUT':
      return 'connection to the upstream timed out';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'upstream host name could not be resolved';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'upstream host is unreachable';
    case undefined:
      return 'probe failed';
    default:
      if (/CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code)) return `TLS handshake with the upstream failed (${code})`;
      return /^[A-Z0-9_]{1,40}$/.test(code) ? `probe failed (${code})` : 'probe failed';
  }
}
