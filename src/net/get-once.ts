import { Client, request as requestOn } from './undici-client';
import { sniOf } from './upstream-sni';

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
 * `GET {upstream}{path}` on an undici `Client` made for it (`Connection: close` in the
 * headers): never a pooled socket of the proxied traffic, so the proxy's connections can
 * neither hide nor cause its outcome. SNI and the certificate check use the upstream's own
 * name. The client is destroyed and the timer and abort listener released however it ends.
 * Never rejects.
 */
export function getOnce(request: GetOnceRequest, signal?: AbortSignal): Promise<GetOnceOutcome> {
  return new Promise<GetOnceOutcome>((resolve) => {
    const ours = new AbortController();
    let client: Client | undefined;
    let done = false;
    const finish = (outcome: GetOnceOutcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      ours.abort();
      client?.destroy().catch(() => undefined);
      resolve(outcome);
    };
    const onAbort = (): void => finish({ kind: 'aborted' });
    const timer = setTimeout(() => finish({ kind: 'timeout' }), request.timeoutMs);
    timer.unref();
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    try {
      const sni = sniOf(request.upstream);
      // The timer above is the only timeout.
      client = new Client(request.upstream.origin, { headersTimeout: 0, bodyTimeout: 0, ...(sni && { connect: sni }) });
    } catch (error) {
      // An origin undici cannot use: an outcome, not a throw.
      return finish({ kind: 'error', error });
    }
    requestOn(client, { method: 'GET', path: request.path, headers: request.headers, signal: ours.signal })
      .then(({ statusCode, body }) =>
        request.readsBody?.(statusCode) === false ? { kind: 'unread' as const, status: statusCode } : readBody(statusCode, body, request.bodyLimit),
      )
      // After finish() (timeout, abort, body too large) this is the request being torn down: ignored.
      .then(finish, (error: unknown) => finish({ kind: 'error', error }));
  });
}

async function readBody(status: number, body: AsyncIterable<Buffer>, limit: number): Promise<GetOnceOutcome> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) return { kind: 'oversized', status };
    chunks.push(chunk);
  }
  return { kind: 'answer', status, body: Buffer.concat(chunks).toString('utf8') };
}
