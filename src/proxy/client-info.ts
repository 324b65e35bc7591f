import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ClientInfo } from './headers';

/** The request path without the query (`/v1/messages?x=1` → `/v1/messages`). */
export function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** What the gateway's own socket knows about the client, for the `X-Forwarded-*` headers. */
export function clientInfo(req: IncomingMessage): ClientInfo {
  return { remoteAddress: req.socket.remoteAddress, encrypted: (req.socket as Partial<TLSSocket>).encrypted === true };
}
