import { DEFAULTS } from './defaults';

/**
 * One setting of `serve` that a command-line flag and an environment variable both fill
 * (a flag wins over the environment, the environment over the file).
 */
export interface ServeFlag {
  /** Long flag name, without `--`. */
  readonly name: string;
  /** The environment variable for the same setting. */
  readonly env: string;
  /** Dotted configuration key the value lands on; undefined for the flag that names the file itself. */
  readonly key: string | undefined;
  /** Placeholder for the value in help text (`FILE`, `URL`). */
  readonly value: string;
  /** What it sets, in a few words (the `serve --help` line). */
  readonly help: string;
  /** Turns the text into the option's value; without it, the text is the value. */
  readonly parse?: (text: string) => unknown;
}

/** `off` or `false` (any case) turns a listener off; anything else is an address. */
const offOr = (text: string): unknown => (['off', 'false'].includes(text.trim().toLowerCase()) ? false : text);

/** `--config FILE` / `CRYPTID_GATEWAY_CONFIG`: names the configuration file rather than a key in it. */
export const CONFIG_FILE_FLAG = {
  name: 'config',
  env: 'CRYPTID_GATEWAY_CONFIG',
  key: undefined,
  value: 'FILE',
  help: 'YAML or JSON configuration file',
} as const satisfies ServeFlag;

/**
 * Every flag of `serve` with its environment variable, in help order: the one list from
 * which the command line is parsed, the environment is read and `serve --help` is written.
 * The README's flag table is checked against it (test/unit/config/readme-flags.test.ts).
 */
export const SERVE_FLAGS = [
  CONFIG_FILE_FLAG,
  { name: 'upstream', env: 'CRYPTID_UPSTREAM', key: 'upstream', value: 'URL', help: 'the Cryptid server, http(s)://host:port' },
  {
    name: 'server-name',
    env: 'CRYPTID_SERVER_NAME',
    key: 'discovery.document.server_name',
    value: 'NAME',
    help: 'published server_name (an FQDN)',
  },
  {
    name: 'discovery-source',
    env: 'CRYPTID_DISCOVERY_SOURCE',
    key: 'discovery.source',
    value: 'SOURCE',
    help: "config|upstream: publish the upstream's own document",
  },
  { name: 'listen', env: 'CRYPTID_LISTEN', key: 'listen', value: 'HOST:PORT', help: `public HTTPS listener (${DEFAULTS.listen})` },
  { name: 'tls-cert', env: 'CRYPTID_TLS_CERT', key: 'tls.cert', value: 'FILE', help: 'PEM certificate, leaf first' },
  { name: 'tls-key', env: 'CRYPTID_TLS_KEY', key: 'tls.key', value: 'FILE', help: 'PEM private key' },
  {
    name: 'metrics-listen',
    env: 'CRYPTID_METRICS_LISTEN',
    key: 'metrics.listen',
    value: 'ADDR',
    help: 'metrics/probes listener, or "off"',
    parse: offOr,
  },
  // A URL may carry the Redis password: an environment variable filled from a Secret keeps it out of the file.
  { name: 'redis-url', env: 'CRYPTID_REDIS_URL', key: 'rateLimits.redis.url', value: 'URL', help: 'shared rate-limit store (with rateLimits.store: redis)' },
  { name: 'log-level', env: 'LOG_LEVEL', key: 'logLevel', value: 'LEVEL', help: 'fatal|error|warn|info|debug|trace|silent' },
] as const satisfies readonly ServeFlag[];

/** The long name of one of {@link SERVE_FLAGS}. */
export type ServeFlagName = (typeof SERVE_FLAGS)[number]['name'];
