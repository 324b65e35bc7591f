import { createHash } from 'node:crypto';
import { request as httpRequest, type Agent, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';

/** One request of a drill's load and what came of it. Never a rejection: failures are outcomes. */
export interface Outcome {
  /** HTTP status, 0 when no response came. */
  readonly status: number;
  /** Error code when no (complete) response came: `ECONNREFUSED`, `ECONNRESET`, `HUNG`, … */
  readonly error: string | undefined;
  readonly latencyMs: number;
  readonly body: Buffer;
  /** The request went out on a kept-alive connection used before. */
  readonly reusedSocket: boolean;
  /** `sha256:…` of the certificate the server presented (https with `peerCertificate`). */
  readonly peerFingerprint: string | undefined;
}

export interface SendOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer | string;
  /** A keep-alive agent, or `false` for a fresh connection (and handshake). */
  agent: Agent | false;
  /** Trusted CAs for https (the drill's own certificates); the name checked is `localhost`. */
  ca?: string[];
  /** Give up after this long and call it `HUNG`: a bound on the drill, not a timing assertion. */
  hangAfterMs: number;
  /** Record the fingerprint of the certificate presented. */
  peerCertificate?: boolean;
}

/** Sends one request with node's own client over real sockets. */
export function send(url: string, options: SendOptions): Promise<Outcome> {
  const started = performance.now();
  const isHttps = url.startsWith('https:');
  return new Promise((resolve) => {
    let settled = false;
    let reusedSocket = false;
    let peerFingerprint: string | undefined;
    const finish = (status: number, error: string | undefined, body: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ status, error, latencyMs: performance.now() - started, body, reusedSocket, peerFingerprint });
    };
    const request = isHttps ? httpsRequest : httpRequest;
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: options.agent,
        ...(isHttps && { ca: options.ca, servername: 'localhost' }),
      },
      (res) => {
        if (options.peerCertificate) {
          const raw = (res.socket as TLSSocket).getPeerCertificate().raw;
          peerFingerprint = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => finish(res.statusCode ?? 0, undefined, Buffer.concat(chunks)));
        res.on('error', (err: NodeJS.ErrnoException) => finish(res.statusCode ?? 0, err.code ?? 'ERESPONSE', Buffer.concat(chunks)));
        res.on('aborted', () => finish(res.statusCode ?? 0, 'EABORTED', Buffer.concat(chunks)));
      },
    );
    const timer = setTimeout(() => {
      finish(0, 'HUNG', Buffer.alloc(0));
      req.destroy();
    }, options.hangAfterMs);
    req.on('socket', () => (reusedSocket = req.reusedSocket));
    req.on('error', (err: NodeJS.ErrnoException) => finish(0, err.code ?? err.message, Buffer.alloc(0)));
    req.end(options.body);
  });
}

/** The `error` field of a gateway error body, or undefined when the body is not the protocol's error shape. */
export function errorCode(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString()) as { error?: unknown };
    return typeof parsed.error === 'string' ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Closed-loop load: `concurrency` workers each run `task` again and again until `total`
 * tasks have started or `stop()` is called. Bounded in count by construction.
 */
export class Load {
  started = 0;
  finished = 0;
  private stopped = false;
  private readonly startedAt = performance.now();
  private endedAt = 0;
  readonly done: Promise<void>;
  private waiters: { count: number; wake: () => void }[] = [];

  constructor(
    concurrency: number,
    private readonly total: number,
    task: (i: number) => Promise<void>,
  ) {
    const worker = async (): Promise<void> => {
      while (!this.stopped && this.started < this.total) {
        const i = this.started++;
        await task(i);
        this.finished++;
        if (this.waiters.length > 0) this.wakeWaiters();
      }
    };
    this.done = Promise.all(Array.from({ length: concurrency }, worker)).then(() => {
      this.endedAt = performance.now();
      this.stopped = true;
      this.wakeWaiters();
    });
  }

  /** Starts no more tasks; `done` resolves when those in flight have finished. */
  stop(): Promise<void> {
    this.stopped = true;
    return this.done;
  }

  /** Resolves once `count` tasks have finished (or the load has ended). */
  untilFinished(count: number): Promise<void> {
    if (this.finished >= count || this.stopped) return Promise.resolve();
    return new Promise((wake) => this.waiters.push({ count, wake }));
  }

  /** Tasks finished per second, over the whole run. */
  get rate(): number {
    const end = this.endedAt || performance.now();
    return (this.finished * 1000) / Math.max(1, end - this.startedAt);
  }

  get durationMs(): number {
    return (this.endedAt || performance.now()) - this.startedAt;
  }

  private wakeWaiters(): void {
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (this.finished >= w.count || this.stopped) w.wake();
      else still.push(w);
    }
    this.waiters = still;
  }
}

/** Counts outcomes by kind (`200`, `502 UPSTREAM_UNAVAILABLE`, `ECONNRESET`, …) and the slowest answer. */
export class Tally {
  readonly kinds = new Map<string, number>();
  count = 0;
  maxLatencyMs = 0;

  add(kind: string, latencyMs: number): void {
    this.count++;
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
    if (latencyMs > this.maxLatencyMs) this.maxLatencyMs = latencyMs;
  }

  get(kind: string): number {
    return this.kinds.get(kind) ?? 0;
  }

  /** "200 × 1,234, 502 UPSTREAM_UNAVAILABLE × 17" */
  toString(): string {
    return [...this.kinds.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([kind, count]) => `${kind} × ${count.toLocaleString('en-US')}`)
      .join(', ');
  }
}

/** The kind of an outcome for a tally: the status with the gateway's error code, or the client error. */
export function kindOf(o: Outcome): string {
  if (o.error) return o.status ? `${o.status} then ${o.error}` : o.error;
  if (o.status >= 400) return `${o.status} ${errorCode(o.body) ?? '(no protocol error body)'}`;
  return String(o.status);
}

/**
 * How long the drills' keep-alive agents keep an idle connection: well under node's
 * server-side `keepAliveTimeout` (5 s), so that a client never reuses a connection the
 * server is closing as idle at that very moment (a race of the client's making).
 */
export const CLIENT_IDLE_MS = 2000;
