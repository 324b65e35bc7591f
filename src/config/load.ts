import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import YAML from 'yaml';
import { ConfigError } from '../errors';

/** One setting that the environment and the command line can fill (SPEC §2). */
interface Setting {
  readonly path: readonly string[];
  readonly env: string;
  readonly flag: string;
  readonly parse?: (value: string) => unknown;
}

const offOr = (value: string): unknown => (['off', 'false'].includes(value.trim().toLowerCase()) ? false : value);

/** The settings the environment and flags reach, and how. */
export const SETTINGS: readonly Setting[] = [
  { path: ['upstream'], env: 'CRYPTID_UPSTREAM', flag: 'upstream' },
  { path: ['discovery', 'document', 'server_name'], env: 'CRYPTID_SERVER_NAME', flag: 'server-name' },
  { path: ['listen'], env: 'CRYPTID_LISTEN', flag: 'listen' },
  { path: ['tls', 'cert'], env: 'CRYPTID_TLS_CERT', flag: 'tls-cert' },
  { path: ['tls', 'key'], env: 'CRYPTID_TLS_KEY', flag: 'tls-key' },
  { path: ['metrics', 'listen'], env: 'CRYPTID_METRICS_LISTEN', flag: 'metrics-listen', parse: offOr },
  { path: ['logLevel'], env: 'LOG_LEVEL', flag: 'log-level' },
];

/** Where the configuration file comes from: `--config`, else `CRYPTID_GATEWAY_CONFIG`. */
export const CONFIG_ENV = 'CRYPTID_GATEWAY_CONFIG';

export interface LoadSources {
  /** Flag values by flag name (without `--`), as parsed from the command line. */
  readonly flags: Readonly<Record<string, string | undefined>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/**
 * Merges file, environment and flags into one raw options object, with precedence
 * flag > environment > file (defaults come later, in `resolveConfig`).
 */
export function loadRawConfig(sources: LoadSources): Record<string, unknown> {
  const file = sources.flags.config ?? nonEmpty(sources.env[CONFIG_ENV]);
  const merged: Record<string, unknown> = file ? readConfigFile(resolvePath(sources.cwd, file)) : {};
  for (const setting of SETTINGS) {
    const value = nonEmpty(sources.env[setting.env]);
    if (value !== undefined) setPath(merged, setting.path, setting.parse ? setting.parse(value) : value);
  }
  for (const setting of SETTINGS) {
    const value = sources.flags[setting.flag];
    if (value !== undefined) setPath(merged, setting.path, setting.parse ? setting.parse(value) : value);
  }
  return merged;
}

/** Reads a YAML or JSON configuration file (YAML is a superset of JSON). */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : 'cannot be read';
    throw new ConfigError([{ path: '(file)', message: `${path}: ${reason}` }], { cause: err });
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ path: '(file)', message: `${path}: ${e.message.split('\n')[0] ?? 'invalid YAML'}` })),
    );
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([{ path: '(file)', message: `${path}: expected a mapping of options at the top level` }]);
  }
  return value as Record<string, unknown>;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
