import type * as z from 'zod/mini';
import { TlsMaterialError, loadTlsMaterial, type TlsMaterial } from '../tls/material';
import { ConfigError, type ConfigProblem } from '../errors';
import { DOCUMENT_DEFAULTS, documentNearMisses, type MessageLimits, type RateLimits } from '../protocol/document';
import { nearMissOf } from '../protocol/near-miss';
import { PACKAGE_VERSION } from '../version';
import { DEFAULTS, defaultMaxBodyBytes } from './defaults';
import { parseListenAddress } from './listen-address';
import { readRedisCa, resolveRateLimits } from './resolve-rate-limits';
import type { HostPort, ResolvedConfig, ResolvedDiscovery } from './options';
import { configSchema, type ParsedConfig } from './schema';
import { knownKeysAt } from './schema-at';
import { safeParse } from '../validation/parse';

/** Where the configuration is used: `serve` needs a certificate and key and opens the metrics listener by default. */
export type ConfigMode = 'library' | 'serve';

/** A resolved configuration with the TLS material it names, read and checked. */
export interface LoadedConfig {
  readonly config: ResolvedConfig;
  readonly tls: TlsMaterial | undefined;
}

/**
 * Validates options once and fills every default. Reports every problem together in one
 * `ConfigError` (schema problems and certificate problems alike).
 */
export function resolveConfig(input: unknown, mode: ConfigMode): LoadedConfig {
  const parsed = safeParse(configSchema, input, { reportInput: true });
  const problems: ConfigProblem[] = parsed.success ? [] : parsed.error.issues.flatMap(toProblems);

  const raw = (isRecord(input) && isRecord(input.tls) ? input.tls : {}) as { cert?: unknown; key?: unknown };
  const certPath = typeof raw.cert === 'string' && raw.cert !== '' ? raw.cert : undefined;
  const keyPath = typeof raw.key === 'string' && raw.key !== '' ? raw.key : undefined;
  if (mode === 'serve') {
    if (!certPath) problems.push({ path: 'tls.cert', message: 'required for serve: a PEM certificate file (missing)' });
    if (!keyPath) problems.push({ path: 'tls.key', message: 'required for serve: a PEM private key file (missing)' });
  } else if (keyPath && !certPath) {
    problems.push({ path: 'tls.cert', message: 'required when tls.key is given (missing)' });
  }

  let tls: TlsMaterial | undefined;
  if (certPath) {
    try {
      tls = loadTlsMaterial(certPath, keyPath);
    } catch (err) {
      if (!(err instanceof TlsMaterialError)) throw err;
      problems.push({ path: err.file === certPath ? 'tls.cert' : 'tls.key', message: err.message });
    }
  }

  const literal = parsed.success ? parsed.data.discovery.document?.certificate_fingerprint : undefined;
  if (tls && literal !== undefined && literal !== tls.fingerprint) {
    problems.push({
      path: 'discovery.document.certificate_fingerprint',
      message: `does not match tls.cert, whose fingerprint is ${tls.fingerprint}: leave it out to have it computed (got "${literal}")`,
    });
  }
  const rawDocument = isRecord(input) && isRecord(input.discovery) && isRecord(input.discovery.document) ? input.discovery.document : {};
  for (const miss of documentNearMisses(rawDocument)) {
    problems.push({
      path: `discovery.document.${miss.path.join('.')}`,
      message: `not a protocol field: did you mean "${miss.resembles}"? (a misspelt field would be published as an extra one and leave the default of "${miss.resembles}" in force)`,
    });
  }
  if (mode === 'library' && !certPath && rawDocument.certificate_fingerprint === undefined) {
    problems.push({
      path: 'discovery.document.certificate_fingerprint',
      message: 'required when tls.cert is not set: give tls.cert (the fingerprint is computed) or the fingerprint literally (missing)',
    });
  }

  const redisCa = readRedisCa(parsed.success ? parsed.data.rateLimits.redis.ca : undefined, problems);

  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  return { config: finish(parsed.data, mode, redisCa), tls };
}

function finish(p: ParsedConfig, mode: ConfigMode, redisCa: string | undefined): ResolvedConfig {
  const metricsListen = p.metrics.listen ?? (mode === 'serve' ? DEFAULTS.metrics.listen : false);
  const limits = startingLimits(p.discovery);
  return {
    upstream: new URL(p.upstream),
    listen: hostPort(p.listen),
    tls: { cert: p.tls.cert, key: p.tls.key },
    metrics: { listen: metricsListen === false ? false : hostPort(metricsListen), defaultMetrics: p.metrics.defaultMetrics, gcDurations: p.metrics.gcDurations },
    discovery: p.discovery as ResolvedDiscovery,
    health: { version: p.health.version ?? PACKAGE_VERSION, probe: p.health.probe, passive: p.health.passive },
    proxy: {
      timeoutMs: p.proxy.timeoutMs,
      failFast: p.proxy.failFast,
      maxBodyBytes: p.proxy.maxBodyBytes ?? defaultMaxBodyBytes(limits.message.max_message_size),
      parsedBody: p.proxy.parsedBody,
      paths: p.proxy.paths,
      trustedProxies: p.proxy.trustedProxies,
      maxConnections: p.proxy.maxConnections,
      engine: p.proxy.engine,
    },
    rateLimits: resolveRateLimits(p.rateLimits, limits.rate, redisCa),
    shutdown: p.shutdown,
    logLevel: p.logLevel,
  };
}

/**
 * The limits the body cap and the default rate-limit rules start from: the configured
 * document's (defaults filled in), or, until the upstream's document is known, the
 * defaults with the overrides.
 */
function startingLimits(d: ParsedConfig['discovery']): { rate: RateLimits; message: MessageLimits } {
  return {
    rate: { ...DOCUMENT_DEFAULTS.rate_limits, ...d.document?.rate_limits } as RateLimits,
    message: { ...DOCUMENT_DEFAULTS.message_limits, ...d.document?.message_limits } as MessageLimits,
  };
}

function hostPort(value: string | number): HostPort {
  const parsed = parseListenAddress(value);
  // The schema has already refused anything that does not parse.
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}

function toProblems(issue: z.core.$ZodIssue): ConfigProblem[] {
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(issue.path);
    const hint = known ? ` (expected one of: ${known.join(', ')})` : '';
    return issue.keys.map((key) => {
      const near = known && nearMissOf(key, known);
      return { path: formatPath([...issue.path, key]), message: `unknown key${near === undefined ? '' : `: did you mean "${near}"?`}${hint}` };
    });
  }
  const input = (issue as { input?: unknown }).input;
  const got = input === undefined ? 'missing' : `got ${describe(input)}`;
  return [{ path, message: `${issue.message} (${got})` }];
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('');
}

function describe(value: unknown): string {
  if (isRecord(value)) return 'an object';
  if (Array.isArray(value)) return 'an array';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
