import { Client } from 'undici';
import { classifyNetworkError, describeNetworkFailure } from '../net/failure';
import { sniOf } from '../net/upstream-sni';
import { DISCOVERY_PATH } from '../protocol/paths';

/**
 * What one fetch of the upstream's discovery document got: an answer (any status, its body
 * as text), an answer too large to be a document, or no answer at all (with a reason that
 * never names the upstream's address).
 */
export type FetchOutcome =
  | { readonly kind: 'answer'; readonly status: number; readonly body: string }
  | { readonly kind: 'oversized'; readonly status: number }
  | { readonly kind: 'unreachable'; readonly reason: string };

/** Largest document read: the published one is well under 1 KiB; 64 KiB leaves room for future fields (as the client allows). */
export const DOCUMENT_BODY_LIMIT = 64 * 1024;

const HEADERS = { accept: 'application/json', connection: 'close', 'user-agent': 'cryptid-gateway-discovery' } as const;

/**
 * `GET {upstream}/.well-known/cryptid` on a connection of its own (as the health probe does:
 * never a pooled socket of the proxied traffic), with SNI and certificate checks against the
 * upstream's own name. The whole fetch is aborted after `timeoutMs`, or when `signal` aborts.
 * Never rejects.
 */
export function fetchUpstreamDocument(upstream: URL, timeoutMs: number, signal: AbortSignal): Promise<FetchOutcome> {
  return new Promise<FetchOutcome>((resolve) => {
    const ours = new AbortController();
    let client: Client | undefined;
    let done = false;
    const finish = (outcome: FetchOutcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      ours.abort();
      client?.destroy().catch(() => undefined);
      resolve(outcome);
    };
    const onAbort = (): void => finish({ kind: 'unreachable', reason: 'fetch aborted' });
    const timer = setTimeout(() => finish({ kind: 'unreachable', reason: `upstream did not answer within ${timeoutMs} ms` }), timeoutMs);
    timer.unref();
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });

    try {
      const sni = sniOf(upstream);
      client = new Client(upstream.origin, { headersTimeout: 0, bodyTimeout: 0, ...(sni && { connect: sni }) });
    } catch (err) {
      return finish({ kind: 'unreachable', reason: describe(err) });
    }
    client
      .request({ method: 'GET', path: DISCOVERY_PATH, headers: HEADERS, signal: ours.signal })
      .then(({ statusCode, body }) => readBody(statusCode, body))
      // After finish() (timeout, abort) this is the request being torn down: ignored.
      .then(finish, (err: unknown) => finish({ kind: 'unreachable', reason: describe(err) }));
  });
}

async function readBody(status: number, body: AsyncIterable<Buffer>): Promise<FetchOutcome> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > DOCUMENT_BODY_LIMIT) return { kind: 'oversized', status };
    chunks.push(chunk);
  }
  return { kind: 'answer', status, body: Buffer.concat(chunks).toString('utf8') };
}

/** From the error's code only: Node's messages name the address (`connect ECONNREFUSED 10.0.0.5:8008`). */
function describe(err: unknown): string {
  const failure = classifyNetworkError(err);
  return describeNetworkFailure(failure, 'upstream') ?? (failure.code === undefined ? 'fetch failed' : `fetch failed (${failure.code})`);
}
