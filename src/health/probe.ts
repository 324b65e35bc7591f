import { performance } from 'node:perf_hooks';
import { getOnce, type GetOnceOutcome } from '../net/get-once';
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
 * connection of its own (`getOnce`, `Connection: close`): probes never
 * share a socket with proxied traffic, so a pooled connection can neither hide nor cause a
 * failed probe. The whole probe (connect, headers, body) is aborted after `timeoutMs`.
 * Never rejects.
 *
 * Not `node:http`'s client: its requests and responses run through the same stream and
 * header code as the gateway's own server-side answers, and a probe every few seconds is
 * enough to make that shared code slower for every request the gateway answers.
 */
export async function probeUpstream(target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
  const started = performance.now();
  const got = await getOnce(
    { upstream: target.upstream, path: probePath(target), headers: PROBE_HEADERS, timeoutMs: target.timeoutMs, bodyLimit: PROBE_BODY_LIMIT, readsBody: isSuccess },
    signal,
  );
  return { ...verdictOf(got, target), durationMs: performance.now() - started };
}

/** The probe path under the upstream's own path, if it has one. */
function probePath(target: ProbeTarget): string {
  const { pathname } = target.upstream;
  return (pathname.endsWith('/') ? pathname.slice(0, -1) : pathname) + target.path;
}

/** Only a 2xx answer's body is read: any other status is a failure whatever it says. */
function isSuccess(status: number): boolean {
  return status >= 200 && status <= 299;
}

/** A 2xx answer is classified by its body; anything else is a failure with a reason that never names the upstream's address. */
function verdictOf(got: GetOnceOutcome, target: ProbeTarget): ProbeVerdict {
  switch (got.kind) {
    case 'answer':
      return classifyAnswer(got.body);
    case 'unread':
      return { result: 'failure', reason: `upstream answered ${got.status}` };
    case 'oversized':
      return { result: 'failure', reason: `upstream health answer is larger than ${PROBE_BODY_LIMIT / 1024} KiB` };
    case 'timeout':
      return { result: 'failure', reason: `upstream did not answer the probe within ${target.timeoutMs} ms` };
    case 'aborted':
      return { result: 'failure', reason: 'probe aborted' };
    case 'error':
      return { result: 'failure', reason: describeError(got.error) };
  }
}
