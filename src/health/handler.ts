import type { IncomingMessage, ServerResponse } from 'node:http';
import { writeError } from '../http/json-error';
import { HEALTHY, healthHttpStatus, type HealthBody } from '../protocol/health';
import type { HealthState } from './states';

const ALLOW = { allow: 'GET, HEAD' } as const;

/** Anything that holds the current verdict; the `HealthTracker` does. */
export interface HealthSource {
  readonly current: HealthState;
}

/** Settings of the endpoint. */
export interface HealthEndpointOptions {
  /** Reported as `version` (`health.version`). */
  readonly version: string;
  /** Wall clock in ms. @default Date.now */
  readonly now?: () => number;
  /** When the gateway started, on the same clock. @default now() at construction */
  readonly startedAt?: number;
}

/**
 * The parts of a body that depend on the state only, serialised once per state: a request
 * only adds the two numbers that move (`timestamp`, `uptime`).
 */
interface Prepared {
  readonly state: HealthState;
  readonly statusCode: number;
  /** `{"status":"…","timestamp":` */
  readonly head: string;
  /** `,"version":"…","uptime":` */
  readonly middle: string;
  /** `}` or `,"details":"…"}` */
  readonly tail: string;
}

/**
 * Serves `GET`/`HEAD /v1/health` from the state already held, never by asking the
 * upstream: 200 for `healthy` and `degraded`, 503 for `unhealthy` (load balancers take the
 * gateway out), `Cache-Control: no-store`. Other methods: 405 with `Allow: GET, HEAD`.
 */
export class HealthEndpoint {
  private readonly now: () => number;
  private readonly startedAt: number;
  private prepared: Prepared | undefined;
  private version: string;

  constructor(
    private readonly source: HealthSource,
    options: HealthEndpointOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.startedAt = options.startedAt ?? this.now();
    this.version = options.version;
  }

  /** A new `version` to report (live reload); `uptime` keeps counting from the start. */
  setVersion(version: string): void {
    if (version === this.version) return;
    this.version = version;
    this.prepared = undefined;
  }

  /** The body as it would be answered now. */
  body(): HealthBody {
    return JSON.parse(this.render(this.prepare(), this.now())) as HealthBody;
  }

  /** Answers a request for the health path. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method;
    const head = method === 'HEAD';
    if (method !== 'GET' && !head) return writeError(res, 'methodNotAllowed', ALLOW);
    const prepared = this.prepare();
    const body = this.render(prepared, this.now());
    res.writeHead(prepared.statusCode, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(head ? undefined : body);
  }

  private render(p: Prepared, nowMs: number): string {
    const timestamp = Math.floor(nowMs / 1000);
    const uptime = Math.max(0, Math.floor((nowMs - this.startedAt) / 1000));
    return p.head + timestamp + p.middle + uptime + p.tail;
  }

  /** Rebuilds the prepared parts when the source hands out a new state object. */
  private prepare(): Prepared {
    const state = this.source.current;
    if (this.prepared?.state === state) return this.prepared;
    const healthy = state.status === HEALTHY;
    this.prepared = {
      state,
      statusCode: healthHttpStatus(state.status),
      head: `{"status":${JSON.stringify(state.status)},"timestamp":`,
      middle: `,"version":${JSON.stringify(this.version)},"uptime":`,
      tail: healthy ? '}' : `,"details":${JSON.stringify(state.reason)}}`,
    };
    return this.prepared;
  }
}
