import { performance } from 'node:perf_hooks';
import { Client } from 'undici';
import { sniOf } from '../net/upstream-sni';

/**
 * What one probe concluded (SPEC §4): `success`, `degraded` (a success whose answer says
 * the upstream is degraded, with its details), or `failure` with a reason that never
 * contains the upstream's address.
 */
export type ProbeVerdict =
  | { readonly result: 'success' }
  | { readonly result: 'degraded'; readonly details?: string }
  | { readonly result: 'failure'; readonly reason: string };

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

/** Longest upstream text (details, status) quoted in a reason. */
const QUOTE_LIMIT = 200;

/**
 * `GET {upstream}{path}`, classified as SPEC §4 says. Each probe has a connection of its
 * own (an undici `Client` made for it, `Connection: close`): probes never share a socket
 * with proxied traffic, so a pooled connection can neither hide nor cause a failed probe.
 * The whole probe (connect, headers, body) is aborted after `timeoutMs`. Never rejects.
 *
 * Not `node:http`'s client: its requests and responses run through the same stream and
 * header code as the gateway's own server-side answers, and a probe every few seconds is
 * enough to make that shared code slower for every request the gateway answers
 * (README, "Benchmarks": 0.8 µs on each discovery answer).
 */
export function probeUpstream(target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise<ProbeResult>((resolve) => {
    const { upstream } = target;
    const base = upstream.pathname.endsWith('/') ? upstream.pathname.slice(0, -1) : upstream.pathname;
    const sni = sniOf(upstream);
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

    const timer = setTimeout(
      () => finish({ result: 'failure', reason: `upstream did not answer the probe within ${target.timeoutMs} ms` }),
      target.timeoutMs,
    );
    timer.unref();
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    try {
      // The probe's own timer is the only timeout.
      client = new Client(upstream.origin, { headersTimeout: 0, bodyTimeout: 0, ...(sni && { connect: sni }) });
    } catch (err) {
      // An origin undici cannot use: a failed probe, not a throw.
      return finish({ result: 'failure', reason: describeError(err) });
    }
    client
      .request({
        method: 'GET',
        path: base + target.path,
        headers: { accept: 'application/json', connection: 'close', 'user-agent': 'cryptid-gateway-probe' },
        signal: ours.signal,
      })
      .then(async ({ statusCode, body }) => {
        if (statusCode < 200 || statusCode > 299) return finish({ result: 'failure', reason: `upstream answered ${statusCode}` });
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of body as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > PROBE_BODY_LIMIT) return finish({ result: 'failure', reason: `upstream health answer is larger than ${PROBE_BODY_LIMIT / 1024} KiB` });
          chunks.push(chunk);
        }
        finish(classifyAnswer(Buffer.concat(chunks).toString('utf8')));
      })
      // After finish() (timeout, abort, body too large) this is the request being torn down: ignored.
      .catch((err: unknown) => finish({ result: 'failure', reason: describeError(err) }));
  });
}

const RESET = 'upstream reset the connection';

/**
 * Classifies the body of a 2xx probe answer (SPEC §4; issue 4):
 * - not JSON (HTML, empty, truncated) → failure;
 * - JSON that is not an object, or an object without `status` → success (an upstream
 *   without `/v1/health` can be probed at `/.well-known/cryptid`);
 * - `status: "healthy"` → success; `"degraded"` → degraded with its `details`;
 * - `"unhealthy"`, any other value (`"unknown"`), a non-string → failure.
 */
export function classifyAnswer(body: string): ProbeVerdict {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { result: 'failure', reason: 'upstream health answer is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || !('status' in parsed)) return { result: 'success' };
  const { status } = parsed;
  const details = 'details' in parsed && typeof parsed.details === 'string' ? quote(parsed.details) : undefined;
  if (status === 'healthy') return { result: 'success' };
  if (status === 'degraded') return details === undefined || details === '' ? { result: 'degraded' } : { result: 'degraded', details };
  if (status === 'unhealthy') {
    return { result: 'failure', reason: details ? `upstream reports unhealthy: ${details}` : 'upstream reports unhealthy' };
  }
  if (typeof status === 'string') return { result: 'failure', reason: `upstream reports an unknown status "${quote(status)}"` };
  return { result: 'failure', reason: 'upstream health answer has a status that is not a string' };
}

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
      return RESET;
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

/** Upstream text fit to quote in a reason: one line, printable, at most 200 characters. */
function quote(text: string): string {
  // eslint-disable-next-line no-control-regex
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return line.length > QUOTE_LIMIT ? `${line.slice(0, QUOTE_LIMIT - 1)}…` : line;
}

/** Settings of the timer-driven prober. */
export interface ProberOptions {
  /** Runs one probe (usually `(signal) => probeUpstream(target, signal)`). */
  readonly probe: ProbeFunction;
  /** Time between probe starts; each wait is drawn within ±10 %. */
  readonly intervalMs: number;
  /** Receives every result, in order. Not called after `stop()`. */
  readonly onResult: (result: ProbeResult) => void;
  /** Source of jitter in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/**
 * The thin, timer-driven part of probing: the first probe at `start()`, then one every
 * `intervalMs` ± 10 % (jitter keeps a fleet of gateways from probing in lockstep), counted
 * from the start of the previous probe. Never two probes in flight: a tick that finds one
 * still running starts the next as soon as it ends. Timers are `unref`'d, so probing alone
 * never keeps a process alive.
 */
export class Prober {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: AbortController | undefined;
  /** A tick fell while a probe was running: start the next one when it ends. */
  private due = false;
  private started = false;
  private stopped = false;
  private readonly random: () => number;

  constructor(private readonly options: ProberOptions) {
    if (!(options.intervalMs > 0)) throw new RangeError(`intervalMs must be > 0, got ${options.intervalMs}`);
    this.random = options.random ?? Math.random;
  }

  /** True while a probe is in flight. */
  get probing(): boolean {
    return this.inFlight !== undefined;
  }

  /** Starts probing with a first probe right away. Idempotent; no effect after `stop()`. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.run();
  }

  /**
   * Probes now, unless a probe is in flight (or probing is not running); the periodic
   * schedule restarts from this probe. Returns whether a probe was started.
   */
  probeNow(): boolean {
    if (!this.started || this.stopped || this.inFlight !== undefined) return false;
    this.run();
    return true;
  }

  /** Clears the timer and aborts a probe in flight; its result is dropped. Idempotent. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const inFlight = this.inFlight;
    this.inFlight = undefined;
    inFlight?.abort();
  }

  private run(): void {
    clearTimeout(this.timer);
    this.due = false;
    const controller = new AbortController();
    this.inFlight = controller;
    const { intervalMs } = this.options;
    this.timer = setTimeout(() => this.tick(), Math.round(intervalMs * (0.9 + 0.2 * this.random())));
    this.timer.unref();
    this.options.probe(controller.signal).then(
      (result) => this.settle(controller, result),
      // A ProbeFunction must not reject; an injected one that does still counts as a failed probe.
      () => this.settle(controller, { result: 'failure', reason: 'probe failed', durationMs: 0 }),
    );
  }

  private tick(): void {
    this.timer = undefined;
    if (this.inFlight !== undefined) this.due = true;
    else this.run();
  }

  private settle(controller: AbortController, result: ProbeResult): void {
    if (this.inFlight !== controller) return; // stopped meanwhile
    this.inFlight = undefined;
    try {
      this.options.onResult(result);
    } catch (err) {
      // A throwing listener is a bug of its own: surface it like any throwing event listener
      // would, instead of turning it into an unhandled rejection or swallowing it.
      queueMicrotask(() => {
        throw err;
      });
    }
    if (this.due && !this.stopped) this.run();
  }
}
