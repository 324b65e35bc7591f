import type { Cluster, Redis } from 'ioredis';
import type { ResolvedRateLimits } from '../config/options';
import type { Logger } from '../logger';
import type { RateLimitObserver } from './observer';
import { createRedisClient } from './redis-client';
import { withScript } from './redis-script';
import { RedisStore, redisKeyBase } from './redis-store';
import type { CompiledRule } from './rules';
import type { Decision } from './sliding-window';
import { failureOf, StoreHealth } from './store-health';

/** How long `close()` waits for an owned connection to end before it lets go of it. */
const CLOSE_WAIT_MS = 1000;

/**
 * The Redis side of the limiter: the client (created from the configuration, or the
 * library user's own), the script, the store's health, and the bound on every wait. A check
 * resolves within `timeoutMs` with the store's decisions, or with `undefined` when the store
 * did not answer (then `onStoreError` decides, in the caller).
 */
export class SharedStore {
  private readonly client: Redis | Cluster;
  private readonly owned: boolean;
  private readonly store: RedisStore;
  private readonly health: StoreHealth;
  private readonly onReady = (): void => this.health.connected();
  /** A key in the slot of the last check that failed (its own, never written), for the probe. */
  private probeKey: string | undefined;
  private readonly keyPrefix: string;
  private readonly onError = (): void => undefined;

  constructor(settings: ResolvedRateLimits, logger: Logger, observer: RateLimitObserver) {
    const { redis } = settings;
    this.keyPrefix = redis.keyPrefix;
    this.owned = redis.client === undefined;
    if (redis.client !== undefined) this.client = redis.client;
    else if (redis.target !== undefined) this.client = createRedisClient(redis.target);
    else throw new Error('store: redis needs redis.url, redis.cluster or redis.client');
    this.store = new RedisStore(withScript(this.client), redis.keyPrefix, redis.timeoutMs, this.client.isCluster);
    this.health = new StoreHealth({
      timeoutMs: redis.timeoutMs,
      // Where the last failed check went: in a Cluster, a key of the same slot is on the same node.
      ping: () => (this.probeKey === undefined ? this.client.ping() : this.client.exists(this.probeKey)),
      changed: (up, reason) => {
        observer.storeState(up);
        if (up) logger.info({ event: 'rate_limit_store_up' }, 'rate-limit store reachable: limits are shared again');
        else logger.warn({ event: 'rate_limit_store_down', reason, onStoreError: settings.onStoreError }, storeDownMessage(settings.onStoreError));
      },
    });
    // ioredis reports connection errors as events too; the checks and probes see them, so
    // they are neither logged here nor left unhandled.
    this.client.on('error', this.onError);
    this.client.on('ready', this.onReady);
    if (this.client.status === 'ready') this.health.connected();
    else this.health.start();
  }

  /** True while checks go to Redis. */
  get up(): boolean {
    return this.health.up;
  }

  /**
   * Checks one request against each rule (its client key per rule) in Redis, counting it
   * where admitted. Resolves within `timeoutMs`: the decisions, or undefined if Redis did not
   * answer (and the store is then down until a probe gets an answer).
   */
  check(rules: readonly CompiledRule[], keys: readonly string[]): Promise<Decision[] | undefined> {
    const hits = rules.map((rule, i) => this.store.hit(rule.name, keys[i] as string, rule.limit, rule.windowMs));
    return (hits.length === 1 ? (hits[0] as Promise<Decision>).then((d) => [d]) : Promise.all(hits)).catch((err: unknown) => {
      const rule = rules[0];
      if (this.client.isCluster && rule !== undefined) this.probeKey = `${redisKeyBase(this.keyPrefix, rule.name, keys[0] as string)}:probe`;
      this.health.failed(failureOf(err));
      return undefined;
    });
  }

  /** Stops probing; closes the connection if the gateway made it (a library user's client stays theirs). */
  async close(): Promise<void> {
    this.health.stop();
    this.client.off('error', this.onError);
    this.client.off('ready', this.onReady);
    if (!this.owned) return;
    const client = this.client;
    // Never "quit": it waits for Redis to answer, and a stopped Redis never does.
    client.on('error', this.onError);
    const ended = client.status === 'end' ? Promise.resolve() : new Promise<void>((resolve) => client.once('end', () => resolve()));
    client.disconnect();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
    client.off('error', this.onError);
  }
}

function storeDownMessage(onStoreError: 'allow' | 'deny'): string {
  return onStoreError === 'allow'
    ? 'rate-limit store unreachable: each replica limits by itself (limit ÷ replicas) until it answers again'
    : 'rate-limit store unreachable: limited routes answer 503 until it answers again';
}
