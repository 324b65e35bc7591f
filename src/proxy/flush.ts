import type { ServerResponse } from 'node:http';

/**
 * The `flush()` a compression middleware puts on the response (`compression`, and those
 * modelled on it), bound, or null on a plain response. Such a middleware keeps what is
 * written in its zlib stream until the response ends or is flushed: flushing after each
 * relayed chunk keeps a streamed upstream response (server-sent events, a long poll)
 * streamed. Looked up once per request, so the plain path pays one null check per chunk.
 */
export function flusherOf(res: ServerResponse): (() => void) | null {
  const flush = (res as ServerResponse & { flush?: unknown }).flush;
  return typeof flush === 'function' ? (flush as () => void).bind(res) : null;
}
