import { readFileSync } from 'node:fs';
import type { ConfigProblem } from '../errors';
import type { RateLimits } from '../protocol/document';
import type { ResolvedRateLimitRule, ResolvedRateLimits, ResolvedRedisTarget } from './options';
import { documentRateLimitRules, parseKey, parseMatch } from './rate-limit-rules';
import { parseClusterNode, parseRedisUrl, type RedisEndpoint } from './redis-target';
import type { ParsedConfig } from './schema';

type ParsedRateLimits = ParsedConfig['rateLimits'];

/**
 * Reads `rateLimits.redis.ca` as part of validation, so a missing file is reported with the
 * other problems. Returns the PEM text, or undefined (and a problem pushed) when it cannot be read.
 */
export function readRedisCa(path: string | undefined, problems: ConfigProblem[]): string | undefined {
  if (path === undefined) return undefined;
  try {
    const pem = readFileSync(path, 'utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      problems.push({ path: 'rateLimits.redis.ca', message: `${path}: expected a PEM certificate` });
      return undefined;
    }
    return pem;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    problems.push({ path: 'rateLimits.redis.ca', message: `${path}: ${code === 'ENOENT' ? 'no such file' : 'cannot be read'}` });
    return undefined;
  }
}

/** `rateLimits` with every default filled in: rules parsed (or derived from the document's limits), the Redis target spelled out. */
export function resolveRateLimits(p: ParsedRateLimits, limits: RateLimits, caPem: string | undefined): ResolvedRateLimits {
  return {
    enabled: p.enabled,
    store: p.store,
    redis: {
      target: p.store === 'redis' && p.redis.client === undefined ? redisTarget(p.redis.url, p.redis.cluster, caPem) : undefined,
      client: p.store === 'redis' ? p.redis.client : undefined,
      keyPrefix: p.redis.keyPrefix,
      timeoutMs: p.redis.timeoutMs,
    },
    onStoreError: p.onStoreError,
    replicas: p.replicas,
    maxKeys: p.maxKeys,
    rules: p.rules === null ? documentRateLimitRules(limits) : p.rules.map(resolveRule),
    rulesFromDocument: p.rules === null,
  };
}

function resolveRule(r: NonNullable<ParsedRateLimits['rules']>[number]): ResolvedRateLimitRule {
  // The schema has refused every entry these parsers reject.
  return {
    name: r.name,
    match: r.match.map((text) => parseMatch(text) as NonNullable<ReturnType<typeof parseMatch>>),
    key: parseKey(r.key) as NonNullable<ReturnType<typeof parseKey>>,
    limit: r.limit,
    windowMs: r.windowMs,
  };
}

function redisTarget(url: string | null, cluster: readonly string[] | null, caPem: string | undefined): ResolvedRedisTarget | undefined {
  const endpoints: RedisEndpoint[] = cluster !== null ? cluster.map((n) => parseClusterNode(n) as RedisEndpoint) : url !== null ? [parseRedisUrl(url) as RedisEndpoint] : [];
  const first = endpoints[0];
  if (first === undefined) return undefined;
  return {
    nodes: endpoints.map((e) => ({ host: e.host, port: e.port })),
    cluster: cluster !== null,
    username: first.username,
    password: first.password,
    db: first.db,
    tls: first.tls ? { ca: caPem } : undefined,
  };
}
