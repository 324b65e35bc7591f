import { resolveConfig } from '../config/resolve';
import { loadRawConfig } from '../config/load';
import { createLogger } from '../logger';
import { startResolved, type RunningServer } from '../server/sidecar';
import { parseCommandArgs, UsageError } from './args';
import type { CliIo } from './io';

export const SERVE_USAGE = `Usage: cryptid-gateway serve [options]

Runs the gateway as an HTTPS sidecar in front of a Cryptid server.

Options (flag > environment > file > default):
  --config FILE          YAML or JSON configuration file      CRYPTID_GATEWAY_CONFIG
  --upstream URL         the Cryptid server, http(s)://host:port CRYPTID_UPSTREAM
  --server-name NAME     published server_name (an FQDN)       CRYPTID_SERVER_NAME
  --listen HOST:PORT     public HTTPS listener (0.0.0.0:8443)  CRYPTID_LISTEN
  --tls-cert FILE        PEM certificate, leaf first           CRYPTID_TLS_CERT
  --tls-key FILE         PEM private key                       CRYPTID_TLS_KEY
  --metrics-listen ADDR  metrics/probes listener, or "off"     CRYPTID_METRICS_LISTEN
  --log-level LEVEL      fatal|error|warn|info|debug|trace|silent  LOG_LEVEL
  -h, --help             this text

SIGTERM or SIGINT stops it gracefully; a second signal stops it at once.
Exit codes: 0 stopped cleanly, 2 bad configuration or cannot listen.
`;

const FLAGS = {
  config: { type: 'string' },
  upstream: { type: 'string' },
  'server-name': { type: 'string' },
  listen: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'metrics-listen': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parses flags, loads and validates the configuration, and starts the sidecar. */
export async function startServeCommand(args: string[], io: CliIo): Promise<RunningServer | 'help'> {
  const { values, positionals } = parseCommandArgs(args, FLAGS);
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const { help: _help, ...flags } = values;
  const loaded = resolveConfig(loadRawConfig({ flags, env: io.env, cwd: io.cwd }), 'serve');
  return startResolved(loaded, createLogger(loaded.config.logLevel));
}
