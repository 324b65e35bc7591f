import type { Socket } from 'node:net';
import { headerLines, invalidHeader } from './h1-request';
import { ResponseParser } from './h1-response';
import { connectUpstream, upstreamAddress } from './upstream-connect';

/**
 * What one GET on a connection of its own got: an answer with its body as text, an answer
 * whose body was not read (its status said enough) or was too large, or no answer: the
 * time ran out, the caller aborted, or the request failed (`error`, to be described by the
 * caller without the upstream's address).
 */
export type GetOnceOutcome =
  | { readonly kind: 'answer'; readonly status: number; readonly body: string }
  | { readonly kind: 'unread'; readonly status: number }
  | { readonly kind: 'oversized'; readonly status: number }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'aborted' }
  | { readonly kind: 'error'; readonly error: unknown };

/** One GET: where, with what, for how long, and how much of the body to read. */
export interface GetOnceRequest {
  readonly upstream: URL;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The whole exchange (connect, headers, body) is abandoned after this long. */
  readonly timeoutMs: number;
  /** Larger bodies are `oversized`. */
  readonly bodyLimit: number;
  /** Whether to read the body of an answer with this status (default: always). */
  readonly readsBody?: ((status: number) => boolean) | undefined;
}

/**
 * `GET {upstream}{path}` on a connection made for it (`Connection: close` in the headers):
 * never a pooled socket of the proxied traffic, so the proxy's connections can neither hide
 * nor cause its outcome. SNI and the certificate check use the upstream's own name; the
 * answer is read by the proxy's own parser (`h1-response.ts`). The socket is destroyed and
 * the timer and abort listener released however it ends. Never rejects.
 */
export function getOnce(request: GetOnceRequest, signal?: AbortSignal): Promise<GetOnceOutcome> {
  return new Promise<GetOnceOutcome>((resolve) => {
    // Assigned once, below the early outcomes; finish() reads it before then.
    // eslint-disable-next-line prefer-const
    let socket: Socket | undefined;
    let done = false;
    const finish = (outcome: GetOnceOutcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket?.destroy();
      resolve(outcome);
    };
    const onAbort = (): void => finish({ kind: 'aborted' });
    const timer = setTimeout(() => finish({ kind: 'timeout' }), request.timeoutMs);
    timer.unref();
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    const { upstream } = request;
    const fields = headerLines(request.headers);
    if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:')
      return finish({ kind: 'error', error: Object.assign(new Error('not an http(s) URL'), { code: 'ERR_INVALID_URL_SCHEME' }) });
    if (fields === null) return finish({ kind: 'error', error: invalidHeader() });
    let status = 0;
    let size = 0;
    const chunks: Buffer[] = [];
    const parser = new ResponseParser('GET', {
      onHead(head) {
        status = head.statusCode;
        if (request.readsBody?.(status) === false) finish({ kind: 'unread', status });
      },
      onBody(chunk) {
        size += chunk.length;
        if (size > request.bodyLimit) finish({ kind: 'oversized', status });
        else chunks.push(chunk);
      },
      onEnd() {
        finish({ kind: 'answer', status, body: Buffer.concat(chunks).toString('utf8') });
      },
    });
    const fail = (error: unknown): void => finish({ kind: 'error', error });
    socket = connectUpstream(upstreamAddress(upstream));
    socket.on('data', (chunk: Buffer) => {
      try {
        parser.execute(chunk);
      } catch (error) {
        fail(error);
      }
    });
    socket.on('error', fail);
    socket.on('close', () => {
      try {
        parser.finish();
      } catch (error) {
        fail(error);
      }
    });
    socket.write(`GET ${request.path} HTTP/1.1\r\nhost: ${upstream.host}\r\n${fields}\r\n`, 'latin1');
  });
}
