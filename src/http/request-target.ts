import type { IncomingMessage } from 'node:http';

/** A request as frameworks hand it on: Express, Connect and @fastify/middie keep the URL the client sent here. */
type MountedRequest = IncomingMessage & { originalUrl?: unknown };

/**
 * The request target the client sent. Mounted at a sub-path (`app.use('/chat', gateway)`), a
 * framework strips its mount path from `req.url` and keeps the whole URL in
 * `req.originalUrl`; the gateway never rewrites paths, so it answers, guards and forwards
 * by the original, the same way for HTTP and for WebSocket upgrades (which bypass the
 * framework and arrive unchanged).
 */
export function requestTarget(req: IncomingMessage): string {
  const original = (req as MountedRequest).originalUrl;
  return typeof original === 'string' && original !== '' ? original : (req.url ?? '/');
}
