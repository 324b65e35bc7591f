import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type * as IORedis from 'ioredis';
import type { ResolvedRedisTarget } from '../config/options';

/** Reconnection backoff: quick at first, then every 2 s at most, for as long as it takes. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 6), 2000);
}

/** How long connecting may take before ioredis drops the attempt and backs off. */
const CONNECT_TIMEOUT_MS = 2000;

/**
 * The connection options every connection shares. A request never waits in ioredis' own
 * queues: no offline queue (a command while disconnected fails at once) and no retries of a
 * command (it fails when its connection does); the limiter's own timer bounds the rest.
 * No auto-pipelining: the store already sends the checks of one event-loop turn as one
 * script call, and ioredis' own batching would hold that call back one more turn.
 */
function connectionOptions(target: ResolvedRedisTarget): RedisOptions {
  return {
    ...(target.username !== undefined && { username: target.username }),
    ...(target.password !== undefined && { password: target.password }),
    ...(target.tls !== undefined && { tls: target.tls.ca === undefined ? {} : { ca: target.tls.ca } }),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: reconnectDelayMs,
  };
}

/**
 * ioredis, loaded the first time a Redis store is configured: a gateway on the memory store
 * (most sidecars) does not carry its ~7 MiB of code and heap.
 */
function ioredis(): typeof IORedis {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a synchronous, on-demand load
  return require('ioredis') as typeof IORedis;
}

/** An ioredis client for the configured target: one server, or a Cluster from its seed nodes. */
export function createRedisClient(target: ResolvedRedisTarget): Redis | Cluster {
  const { Cluster, Redis } = ioredis();
  const options = connectionOptions(target);
  if (target.cluster) {
    const clusterOptions: ClusterOptions = {
      redisOptions: options,
      enableOfflineQueue: false,
      clusterRetryStrategy: reconnectDelayMs,
    };
    return new Cluster(
      target.nodes.map((n) => ({ host: n.host, port: n.port })),
      clusterOptions,
    );
  }
  const node = target.nodes[0];
  if (node === undefined) throw new Error('a Redis target names at least one node');
  return new Redis({ ...options, host: node.host, port: node.port, db: target.db });
}
