import { classifyNetworkError, describeNetworkFailure } from '../net/failure';
import { getOnce } from '../net/get-once';
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
export async function fetchUpstreamDocument(upstream: URL, timeoutMs: number, signal: AbortSignal): Promise<FetchOutcome> {
  const got = await getOnce({ upstream, path: DISCOVERY_PATH, headers: HEADERS, timeoutMs, bodyLimit: DOCUMENT_BODY_LIMIT }, signal);
  switch (got.kind) {
    case 'answer':
    case 'oversized':
      return got;
    case 'unread': // not asked for: every body is read
      return { kind: 'answer', status: got.status, body: '' };
    case 'timeout':
      return { kind: 'unreachable', reason: `upstream did not answer within ${timeoutMs} ms` };
    case 'aborted':
      return { kind: 'unreachable', reason: 'fetch aborted' };
    case 'error':
      return { kind: 'unreachable', reason: describe(got.error) };
  }
}

/** From the error's code only: Node's messages name the address (`connect ECONNREFUSED 10.0.0.5:8008`). */
function describe(err: unknown): string {
  const failure = classifyNetworkError(err);
  return describeNetworkFailure(failure, 'upstream') ?? (failure.code === undefined ? 'fetch failed' : `fetch failed (${failure.code})`);
}
