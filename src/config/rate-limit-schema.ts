import type { Cluster, Redis } from 'ioredis';
import * as z from 'zod/mini';
import { integerAtLeast, positiveInteger } from '../validation/numbers';
import { DEFAULTS } from './defaults';
import { parseKey, parseMatch } from './rate-limit-rules';
import { parseClusterNode, parseRedisUrl, redactRedisUrl, type RedisEndpoint } from './redis-target';

const D = DEFAULTS.rateLimits;

/** Rule names go into `RateLimit` headers (a structured-field string), metric labels and Redis keys (never a `{`). */
const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const matchEntry = z.string({ error: 'expected "/prefix" or "METHOD /prefix"' }).check(
  z.refine((text) => parseMatch(text) !== undefined, {
    error: 'expected "/prefix" or "METHOD /prefix", e.g. "/federation/" or "POST /v1/announce"',
  }),
);

const ruleKey = z.string({ error: 'expected ip, bearer or header:<name>' }).check(
  z.refine((text) => parseKey(text) !== undefined, {
    error: 'expected ip, bearer or header:<name> (a header name is a token, e.g. header:x-client-id)',
  }),
);

const rule = z.strictObject({
  name: z.string({ error: 'expected a rule name' }).check(z.regex(RULE_NAME, 'expected 1–64 letters, digits, "_", "-" or "." (starting with a letter or digit)')),
  match: z.array(matchEntry, { error: 'expected a list of path prefixes' }).check(z.minLength(1, 'expected at least one path prefix')),
  key: ruleKey,
  limit: positiveInteger,
  windowMs: integerAtLeast(1000, 'expected at least 1000 ms (answers count in seconds)', {
    notNumber: 'expected milliseconds, at least 1000',
    notWhole: 'expected whole milliseconds',
  }),
});

const redisUrl = z.string({ error: 'expected a redis:// or rediss:// URL' }).check(
  z.superRefine((text, ctx) => {
    const parsed = parseRedisUrl(text);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed, input: redactRedisUrl(text) });
  }),
);

const clusterNode = z.string({ error: 'expected "host:port" or a redis(s):// URL' }).check(
  z.superRefine((text, ctx) => {
    const parsed = parseClusterNode(text);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed, input: redactRedisUrl(text) });
  }),
);

/** True for an ioredis `Redis` or `Cluster`: both define Lua commands and report a connection status. */
function isRedisClient(value: unknown): value is Redis | Cluster {
  const v = value as { defineCommand?: unknown; status?: unknown } | null;
  return typeof v === 'object' && v !== null && typeof v.defineCommand === 'function' && typeof v.status === 'string';
}

const redis = z.strictObject({
  url: z._default(z.nullable(redisUrl), D.redis.url),
  cluster: z._default(
    z.nullable(z.array(clusterNode, { error: 'expected a list of "host:port" seed nodes' }).check(z.minLength(1, 'expected at least one seed node'))),
    D.redis.cluster,
  ),
  ca: z.optional(z.string({ error: 'expected a PEM file path' }).check(z.minLength(1, 'expected a PEM file path'))),
  keyPrefix: z._default(
    z
      .string({ error: 'expected a string' })
      .check(z.maxLength(64, 'expected at most 64 characters'), z.regex(/^[^{}\s]*$/, 'expected no "{", "}" or spaces (braces would move keys between Cluster slots)')),
    D.redis.keyPrefix,
  ),
  timeoutMs: z._default(positiveInteger, D.redis.timeoutMs),
  client: z.optional(z.custom<Redis | Cluster>(isRedisClient, { error: 'expected an ioredis Redis or Cluster instance (library only: a file cannot hold one)' })),
});

/**
 * `rateLimits`: the rules, the store and what happens when the store fails. Besides each
 * field, it checks that a Redis store is named exactly once and only with `store: redis`.
 */
export const rateLimitsSchema = z
  .strictObject({
    enabled: z._default(z.boolean({ error: 'expected true or false' }), D.enabled),
    store: z._default(z.enum(['memory', 'redis'], { error: 'expected memory or redis' }), D.store),
    redis: z.prefault(redis, {}),
    onStoreError: z._default(z.enum(['allow', 'deny'], { error: 'expected allow or deny' }), D.onStoreError),
    replicas: z._default(positiveInteger, D.replicas),
    maxKeys: z._default(positiveInteger, D.maxKeys),
    rules: z._default(z.nullable(z.array(rule, { error: 'expected a list of rules' })), D.rules),
  })
  .check(
    z.superRefine((value, ctx) => {
      const { url, cluster, client, ca } = value.redis;
      const named = [url !== null && 'url', cluster !== null && 'cluster', client !== undefined && 'client'].filter((k): k is string => k !== false);
      if (value.store === 'redis' && named.length === 0) {
        ctx.addIssue({ code: 'custom', path: ['redis', 'url'], message: 'required with store: redis: a redis:// or rediss:// URL (or redis.cluster)', input: undefined });
      }
      if (named.length > 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['redis', named[1] as string],
          message: `give one of redis.url, redis.cluster and redis.client, not ${named.join(' and ')}`,
          input: '(both given)',
        });
      }
      if (value.store === 'memory' && named.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['redis', named[0] as string],
          message: 'only used with store: redis (set rateLimits.store: redis, or remove it)',
          input: `store: ${value.store}`,
        });
      }
      // Entries that did not parse have their own problem already.
      const seeds = (cluster ?? []).map(parseClusterNode).filter((e): e is RedisEndpoint => typeof e !== 'string');
      const single = url === null ? undefined : parseRedisUrl(url);
      const endpoints = typeof single === 'object' ? [single, ...seeds] : seeds;
      const credentials = new Set(seeds.map((e) => JSON.stringify([e.tls, e.username ?? null, e.password ?? null])));
      if (credentials.size > 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['redis', 'cluster'],
          message: 'expected the same scheme and credentials on every seed node',
          input: `${credentials.size} different ones`,
        });
      }
      if (ca !== undefined && !endpoints.some((e) => e.tls)) {
        ctx.addIssue({ code: 'custom', path: ['redis', 'ca'], message: 'only used with TLS: give a rediss:// URL', input: ca });
      }
      const seen = new Set<string>();
      (value.rules ?? []).forEach((r, i) => {
        if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: 'expected a unique name: an earlier rule has it', input: r.name });
        seen.add(r.name);
      });
    }),
  );
