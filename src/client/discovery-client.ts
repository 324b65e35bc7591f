import type { DiscoveryDocument } from '../protocol/document';
import { CLIENT_PROTOCOL_VERSION, isCompatible } from './compat';
import { normalizeDomain, type ConnectionOptions } from './connection';
import { discover, type DiscoveryResult } from './discover';
import { type DiscoveryError, isDiscoveryError } from './errors';
import { checkHealth, type HealthReport } from './health';
import type { PinResult } from './pinning';
import { RefreshCache } from './refresh-cache';
import { healthRank, unmetRequirement, type RejectedCandidate, type ServerRequirements } from './server-choice';
import type { TofuStore } from './tofu-store';

/** Options of `DiscoveryClient`. */
export interface DiscoveryClientOptions extends ConnectionOptions {
  /** The protocol version this client speaks. @default "1.0" */
  protocolVersion?: string;
  /** Pins certificates on first use; every fetch is checked against it. @default no pinning */
  tofuStore?: TofuStore;
  /** Capabilities lifetime when the server sends no `max-age`. @default 3600000 (1 h, the page's advice) */
  capabilitiesTtlMs?: number;
  /** Lower bound on a server's `max-age` (a `no-store` server is not fetched on every call). @default 60000 */
  minCapabilitiesTtlMs?: number;
  /** Upper bound on a server's `max-age` (a year-long `max-age` cannot freeze a document). @default 86400000 */
  maxCapabilitiesTtlMs?: number;
  /** Health lifetime. @default 30000 (the page's advice) */
  healthTtlMs?: number;
  /** How long past its lifetime a document may stand in when refreshes fail transiently. @default 86400000 */
  staleIfErrorMs?: number;
  /** How long a failure is remembered before the server is asked again. @default 30000 */
  negativeTtlMs?: number;
  /** Clock (Unix ms) for every lifetime. @default Date.now */
  now?: () => number;
}

/** The defaults of `DiscoveryClientOptions`, in one place. */
export const CLIENT_DEFAULTS = {
  protocolVersion: CLIENT_PROTOCOL_VERSION,
  capabilitiesTtlMs: 3_600_000,
  minCapabilitiesTtlMs: 60_000,
  maxCapabilitiesTtlMs: 86_400_000,
  healthTtlMs: 30_000,
  staleIfErrorMs: 86_400_000,
  negativeTtlMs: 30_000,
} as const;

/** A server's capabilities as the client holds them. */
export interface Capabilities {
  readonly domain: string;
  readonly document: DiscoveryDocument;
  /** Fingerprint of the certificate presented when the document was last fetched or revalidated. */
  readonly fingerprint: string;
  readonly pin: PinResult;
  /** When the document was last fetched or revalidated (Unix ms). */
  readonly fetchedAt: number;
  /** When it stops being fresh (Unix ms). */
  readonly expiresAt: number;
  /** True when a refresh failed transiently and this is the last good document. */
  readonly stale: boolean;
  /** With `stale`: why the refresh failed. */
  readonly error?: DiscoveryError;
}

/** A candidate that qualified. */
export interface UsableServer {
  readonly domain: string;
  readonly capabilities: Capabilities;
  /** Undefined when health was not checked or the server has no health endpoint. */
  readonly health: HealthReport | undefined;
}

/** The outcome of `chooseServer`. */
export interface ServerChoice {
  /** The best usable server: healthy before degraded, then in the caller's order. */
  readonly chosen: UsableServer | undefined;
  /** Every usable server, best first: the fallbacks. */
  readonly usable: readonly UsableServer[];
  /** Every other candidate, with the reason. */
  readonly rejected: readonly RejectedCandidate[];
}

/**
 * The client side of discovery for long-running processes: discovers through
 * caches (capabilities 1 h, health 30 s, a server's `max-age` honoured within bounds),
 * coalesces concurrent look-ups of a domain, serves the last good document marked
 * `stale` when a refresh fails transiently, remembers failures briefly, and answers the
 * published use cases: `chooseServer` and `canFederateWith`.
 */
export class DiscoveryClient {
  /** The protocol version this client speaks. */
  readonly protocolVersion: string;
  private readonly options: DiscoveryClientOptions;
  private readonly now: () => number;
  private readonly documents: RefreshCache<DiscoveryResult>;
  private readonly healths: RefreshCache<HealthReport>;

  constructor(options: DiscoveryClientOptions = {}) {
    this.options = options;
    this.protocolVersion = options.protocolVersion ?? CLIENT_DEFAULTS.protocolVersion;
    this.now = options.now ?? Date.now;
    const negativeTtlMs = options.negativeTtlMs ?? CLIENT_DEFAULTS.negativeTtlMs;
    this.documents = new RefreshCache(this.now, { negativeTtlMs, staleIfErrorMs: options.staleIfErrorMs ?? CLIENT_DEFAULTS.staleIfErrorMs });
    // Health is never served stale: an old "healthy" is exactly the wrong answer.
    this.healths = new RefreshCache(this.now, { negativeTtlMs, staleIfErrorMs: 0 });
  }

  /** The server's discovery document, from the cache when fresh. Rejects with `DiscoveryError`. */
  async capabilities(domain: string): Promise<Capabilities> {
    const name = normalizeDomain(domain);
    const cached = await this.documents.get(name, async (previous) => {
      const result = await discover(name, {
        ...this.connection(),
        ...(this.options.tofuStore !== undefined && { tofuStore: this.options.tofuStore }),
        ...(previous !== undefined && { previous }),
        now: this.now,
      });
      return { value: result, ttlMs: this.capabilitiesTtl(result.cache.maxAgeSeconds) };
    });
    const { document, fingerprint, pin } = cached.value;
    return {
      domain: name,
      document,
      fingerprint,
      pin,
      fetchedAt: cached.fetchedAt,
      expiresAt: cached.expiresAt,
      stale: cached.stale,
      ...(cached.error !== undefined && { error: cached.error }),
    };
  }

  /** The server's health report (with clock skew), cached for `healthTtlMs`. Rejects with `DiscoveryError`. */
  async health(domain: string): Promise<HealthReport> {
    const name = normalizeDomain(domain);
    const ttlMs = this.options.healthTtlMs ?? CLIENT_DEFAULTS.healthTtlMs;
    const cached = await this.healths.get(name, async () => ({ value: await checkHealth(name, { ...this.connection(), now: this.now }), ttlMs }));
    return cached.value;
  }

  /**
   * Picks a server among `candidates` (the page's "Client Server Selection"), all asked
   * in parallel: compatible protocol, required features, federation if asked, not
   * unhealthy; healthy before degraded before no health endpoint, then in the given order.
   * Never rejects: every candidate not chosen is in `rejected` with the reason.
   */
  async chooseServer(candidates: readonly string[], requirements: ServerRequirements = {}): Promise<ServerChoice> {
    const verdicts = await Promise.all(candidates.map((domain) => this.judge(domain, requirements)));
    const usable: UsableServer[] = [];
    const rejected: RejectedCandidate[] = [];
    for (const verdict of verdicts) {
      if ('reason' in verdict) rejected.push(verdict);
      else usable.push(verdict);
    }
    // Array.prototype.sort is stable: equal health keeps the caller's preference order.
    usable.sort((a, b) => healthRank(a.health) - healthRank(b.health));
    return { chosen: usable[0], usable, rejected };
  }

  /**
   * Whether this server can federate with `domain` (the page's "Federation Compatibility
   * Check"): the remote has `federation_enabled` and a compatible protocol major. Rejects
   * with `DiscoveryError` when the remote cannot be discovered.
   */
  async canFederateWith(domain: string): Promise<boolean> {
    const { document } = await this.capabilities(domain);
    return document.federation_enabled && isCompatible(document.protocol_version, this.protocolVersion);
  }

  /**
   * Accepts a changed certificate for `domain` after it was verified out of band: pins
   * `fingerprint` in the `tofuStore` and drops what is cached, so the next look-up fetches.
   */
  async acceptFingerprint(domain: string, fingerprint: string): Promise<void> {
    const name = normalizeDomain(domain);
    if (this.options.tofuStore === undefined) throw new TypeError('acceptFingerprint needs a tofuStore');
    await this.options.tofuStore.set(name, fingerprint);
    this.forget(name);
  }

  /** Drops everything cached about `domain`, failures included. */
  forget(domain: string): void {
    const name = normalizeDomain(domain);
    this.documents.delete(name);
    this.healths.delete(name);
  }

  private async judge(domain: string, requirements: ServerRequirements): Promise<UsableServer | RejectedCandidate> {
    let capabilities: Capabilities;
    try {
      capabilities = await this.capabilities(domain);
    } catch (error) {
      return { domain, reason: 'discovery_failed', message: describe(error), error: asError(error) };
    }
    const unmet = unmetRequirement(capabilities.document, requirements, this.protocolVersion);
    if (unmet !== undefined) return { domain: capabilities.domain, ...unmet };
    if (requirements.checkHealth === false) return { domain: capabilities.domain, capabilities, health: undefined };
    try {
      const health = await this.health(domain);
      if (health.status === 'unhealthy') {
        return { domain: capabilities.domain, reason: 'unhealthy', message: 'reports itself unhealthy' };
      }
      return { domain: capabilities.domain, capabilities, health };
    } catch (error) {
      // No health endpoint says nothing about health: usable, ranked last.
      if (isDiscoveryError(error, 'ENDPOINT_NOT_FOUND')) return { domain: capabilities.domain, capabilities, health: undefined };
      if (isDiscoveryError(error, 'SERVER_UNAVAILABLE')) {
        return { domain: capabilities.domain, reason: 'unhealthy', message: 'health endpoint answers unavailable', error };
      }
      return { domain: capabilities.domain, reason: 'health_check_failed', message: describe(error), error: asError(error) };
    }
  }

  private capabilitiesTtl(maxAge: number | undefined): number {
    const o = this.options;
    const fallback = o.capabilitiesTtlMs ?? CLIENT_DEFAULTS.capabilitiesTtlMs;
    if (maxAge === undefined) return fallback;
    const min = o.minCapabilitiesTtlMs ?? CLIENT_DEFAULTS.minCapabilitiesTtlMs;
    const max = o.maxCapabilitiesTtlMs ?? CLIENT_DEFAULTS.maxCapabilitiesTtlMs;
    return Math.min(max, Math.max(min, maxAge * 1000));
  }

  private connection(): ConnectionOptions {
    const o = this.options;
    return {
      ...(o.ca !== undefined && { ca: o.ca }),
      ...(o.resolve !== undefined && { resolve: o.resolve }),
      ...(o.timeoutMs !== undefined && { timeoutMs: o.timeoutMs }),
      ...(o.maxBodyBytes !== undefined && { maxBodyBytes: o.maxBodyBytes }),
      ...(o.maxRedirects !== undefined && { maxRedirects: o.maxRedirects }),
    };
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : 'unknown failure';
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
