import { resolve as resolvePath } from 'node:path';
import { readConfigFile } from '../config/load';
import type { ResolvedDiscovery, ResolvedRateLimits } from '../config/options';
import { resolveConfig } from '../config/resolve';
import { ConfigError } from '../errors';
import { parseCommandArgs, UsageError } from './args';
import { EXIT, type CliIo } from './io';

export const CHECK_CONFIG_USAGE = `Usage: cryptid-gateway check-config FILE

Validates a configuration file as serve would use it (certificate files included)
and prints every problem. Exit codes: 0 valid, 2 invalid.
`;

/** `cryptid-gateway check-config FILE`. */
export async function checkConfigCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    io.stdout.write(CHECK_CONFIG_USAGE);
    return EXIT.ok;
  }
  const [file, extra] = positionals;
  if (file === undefined) throw new UsageError('missing FILE');
  if (extra !== undefined) throw new UsageError(`unexpected argument: ${extra}`);
  try {
    const { config, tls } = resolveConfig(readConfigFile(resolvePath(io.cwd, file)), 'serve');
    io.stdout.write(
      `${file}: configuration is valid\n` +
        `  upstream     ${config.upstream.origin}\n` +
        `  server_name  ${serverNameLine(config.discovery)}\n` +
        `  listen       ${config.listen.host}:${config.listen.port}\n` +
        `  metrics      ${config.metrics.listen === false ? 'off' : `${config.metrics.listen.host}:${config.metrics.listen.port}`}\n` +
        (tls ? `  fingerprint  ${tls.fingerprint}\n` : '') +
        `  rate limits  ${rateLimitSummary(config.rateLimits)}\n`,
    );
    return EXIT.ok;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`${file}: ${err.message}\n`);
    return EXIT.error;
  }
}

/** The configured name; with the document from the upstream, the override or where it comes from. */
function serverNameLine(discovery: ResolvedDiscovery): string {
  const name = discovery.document.server_name;
  if (discovery.source === 'config') return String(name);
  return typeof name === 'string' ? `${name} (overrides the upstream's)` : "from the upstream's document";
}

/** `memory: federation 1000 per 60 s, announce 240 per 3600 s`, or `off`. */
function rateLimitSummary(limits: ResolvedRateLimits): string {
  if (!limits.enabled) return 'off';
  const rules = limits.rules.map((r) => `${r.name} ${r.limit} per ${r.windowMs / 1000} s`).join(', ');
  return `${limits.store}: ${rules || 'no rules'}${limits.rulesFromDocument ? ' (from the document)' : ''}`;
}
