import * as z from 'zod/mini';
import { safeParse } from '../validation/parse';
import { errorForStatus, parseJsonBody } from './answer-status';
import { normalizeDomain, type ConnectionOptions } from './connection';
import { DiscoveryError } from './errors';
import { fetchPath } from './fetch-path';

import { HEALTH_STATUSES, UNHEALTHY, type HealthStatus } from '../protocol/health';
import { HEALTH_PATH } from '../protocol/paths';

export type { HealthStatus };

/** What `GET /v1/health` said, and what the client made of it. */
export interface HealthReport {
  readonly domain: string;
  /** `unhealthy` whenever the answer was 503, whatever its body says (load balancers go by the status). */
  readonly status: HealthStatus;
  /** The server's clock, Unix seconds. */
  readonly timestamp: number;
  /** The server software's version. */
  readonly version: string;
  /** Seconds since the server started. */
  readonly uptime: number;
  /** The server's reason when not healthy; untrusted text, sanitise before display. */
  readonly details?: string;
  /** 200 or 503. */
  readonly httpStatus: number;
  /**
   * Server clock minus local clock, whole seconds (positive: the server is ahead); the
   * page's reason for `timestamp`. Measured at the middle of the exchange, ±1 s.
   */
  readonly clockSkewSeconds: number;
  /** When the answer arrived (Unix ms). */
  readonly checkedAt: number;
  /** Fingerprint of the certificate presented. */
  readonly fingerprint: string;
}

/** Options of `checkHealth()`. */
export interface HealthOptions extends ConnectionOptions {
  signal?: AbortSignal;
  /** Local clock (Unix ms), for `checkedAt` and the skew. @default Date.now */
  now?: () => number;
}

const healthSchema = z.looseObject({
  status: z.enum(HEALTH_STATUSES),
  timestamp: z.number().check(z.nonnegative()),
  version: z.string(),
  uptime: z.number().check(z.nonnegative()),
  details: z.optional(z.string()),
});

/**
 * `GET https://{domain}/v1/health`: 200 (healthy or degraded) and 503 (unhealthy) both
 * give a report; a 503 without a health body is `SERVER_UNAVAILABLE`, a 404
 * `ENDPOINT_NOT_FOUND`, a malformed body `INVALID_DOCUMENT`.
 */
export async function checkHealth(domain: string, options: HealthOptions = {}): Promise<HealthReport> {
  const name = normalizeDomain(domain);
  const now = options.now ?? Date.now;
  const sentAt = now();
  const answer = await fetchPath(name, options, {
    path: HEALTH_PATH,
    wantBody: (status) => status === 200 || status === 503,
    signal: options.signal,
  });
  const checkedAt = now();
  if (answer.status !== 200 && answer.status !== 503) throw errorForStatus(name, answer, 'health endpoint', checkedAt);

  let json: unknown;
  try {
    json = parseJsonBody(name, answer, 'health report');
  } catch (error) {
    if (answer.status === 503) throw errorForStatus(name, answer, 'server', checkedAt);
    throw error;
  }
  const parsed = safeParse(healthSchema, json);
  if (!parsed.success) {
    // A 503 from something other than a Cryptid health endpoint (a load balancer, say).
    if (answer.status === 503) throw errorForStatus(name, answer, 'server', checkedAt);
    const problems = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new DiscoveryError('INVALID_DOCUMENT', `${name}: invalid health report (${problems.join('; ')})`, {
      domain: name,
      status: answer.status,
      problems,
    });
  }
  const body = parsed.data;
  const localSeconds = (sentAt + checkedAt) / 2000;
  return {
    domain: name,
    status: answer.status === 503 ? UNHEALTHY : body.status,
    timestamp: body.timestamp,
    version: body.version,
    uptime: body.uptime,
    ...(body.details !== undefined && { details: body.details }),
    httpStatus: answer.status,
    clockSkewSeconds: Math.round(body.timestamp - localSeconds),
    checkedAt,
    fingerprint: answer.fingerprint,
  };
}
