import { performance } from 'node:perf_hooks';
import { Client } from 'undici';
import { sniOf } from '../net/upstream-sni';
import { classifyAnswer } from './probe-answer';
import { describeError } from './probe-error';

/**
 * What one probe concluded: `success`, `degraded` (a success whose answer says the
 * upstream is degraded, with its details), or `failure` with a reason that never contains
 * the upstream's address.
 */
export type ProbeVerdict =
  { readonly result: 'success' } | { readonly result: 'degraded'; readonly details?: string } | { readonly result: 'failure'; readonly reason: string };

/** A probe's verdict and how long it took. */
export type ProbeResult = ProbeVerdict & { readonly durationMs: number };

/** The three probe results, as metrics label them. */
export type ProbeResultKind = ProbeVerdict['result'];

/**
 * Runs one probe. Must never reject; `signal` aborts it (the result is then discarded).
 * The default is {@link probeUpstream}; tests and embedders may inject their own.
 */
export type ProbeFunction = (signal: AbortSignal) => Promise<ProbeResult>;

/** Where and how to probe. */
export interface ProbeTarget {
  /** The upstream origin (`ResolvedConfig.upstream`). */
  readonly upstream: URL;
  /** Path probed, starting with `/` (`health.probe.path`). */
  readonly path: string;
  /** No complete answer by then: failure (`health.probe.timeoutMs`). */
  readonly timeoutMs: number;
}

/** Largest health answer read; a bigger one is a failure (a health answer is a few hundred bytes). */
export const PROBE_BODY_LIMIT = 64 * 1024;

const PROBE_HEADERS = { accept: 'application/json', connection: 'close', 'user-agent': 'cryptid-gateway-probe' } as const;

/**
 * `GET {upstream}{path}`, its answer classified by {@link classifyAnswer}. Each probe has a
 * connection of its own (an undici `Client` made for it, `Connection: close`): probes never
 * share a socket with proxied traffic, so a pooled connection can neither hide nor cause a
 * failed probe. The whole probe (connect, headers, body) is aborted after `timeoutMs`.
 * Never rejects.
 *
 * Not `node:http`'s client: its requests and responses run through the same stream and
 * header code as the gateway's own server-side answers, and a probe every few seconds is
 * enough to make that shared code slower for every request the gateway answers.
 */
export function probeUpstream(target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise<ProbeResult>((resolve) => {
    const ours = new AbortController();
    let client: Client | undefined;
    let done = false;

    const finish = (verdict: ProbeVerdict): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      ours.abort();
      client?.destroy().catch(() => undefined);
      resolve({ ...verdict, durationMs: performance.now() - started });
    };
    const onAbort = (): void => finish({ result: 'failure', reason: 'probe aborted' });

    const timer = setTimeout(() => finish({ result: 'failure', reason: `upstream did not answer the probe within ${target.timeoutMs} ms` }), target.timeoutMs);
    timer.unref();
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    try {
      client = probeClient(target.upstream);
    } catch (err) {
      // An origin undici cannot use: a failed probe, not a throw.
      return finish({ result: 'failure', reason: describeError(err) });
    }
    client
      .request({ method: 'GET', path: probePath(target), headers: PROBE_HEADERS, signal: ours.signal })
      .then(({ statusCode, body }) => verdictOf(statusCode, body))
      // After finish() (timeout, abort, body too large) this is the request being torn down: ignored.
      .then(finish, (err: unknown) => finish({ result: 'failure', reason: describeError(err) }));
  });
}

/** A client for one probe; the probe's own timer is the only timeout. */
function probeClient(upstream: URL): Client {
  const sni = sniOf(upstream);
  return new Client(upstream.origin, { headersTimeout: 0, bodyTimeout: 0, ...(sni && { connect: sni }) });
}

/** The probe path under the upstream's own path, if it has one. */
function probePath(target: ProbeTarget): string {
  const { pathname } = target.upstream;
  return (pathname.endsWith('/') ? pathname.slice(0, -1) : pathname) + target.path;
}

/** A non-2xx answer is a failure; a 2xx one is read (up to the limit) and classified. */
async function verdictOf(statusCode: number, body: AsyncIterable<Buffer>): Promise<ProbeVerdict> {
  if (statusCode < 200 || statusCode > 299) return { result: 'failure', reason: `upstream answered ${statusCode}` };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > PROBE_BODY_LIMIT) return { result: 'failure', reason: `upstream health answer is larger than ${PROBE_BODY_LIMIT / 1024} KiB` };
    chunks.push(chunk);
  }
  return classifyAnswer(Buffer.concat(chunks).toString('utf8'));
}
