import { SERVE_FLAGS } from '../config/flags';
import { configFilePath, loadRawConfig } from '../config/load';
import { resolveConfig } from '../config/resolve';
import { createLogger } from '../logger';
import { startResolved, type RunningServer } from '../server/sidecar';
import { parseCommandArgs, UsageError, valueOptions } from './args';
import type { CliIo } from './io';
import { flagWithValue, optionLines } from './usage';

export const SERVE_USAGE = `Usage: cryptid-gateway serve [options]

Runs the gateway as an HTTPS sidecar in front of a Cryptid server.

Options (flag > environment > file > default):
${optionLines([...SERVE_FLAGS.map((f) => ({ flag: flagWithValue(f), help: f.help, env: f.env })), { flag: '-h, --help', help: 'this text' }])}
SIGTERM or SIGINT stops it gracefully; a second signal stops it at once.
SIGHUP, or a change of the --config file, reloads the configuration live.
Exit codes: 0 stopped cleanly, 2 bad configuration or cannot listen.
`;

const OPTIONS = { ...valueOptions(SERVE_FLAGS), help: { type: 'boolean', short: 'h' } } as const;

/** Parses flags, loads and validates the configuration, and starts the sidecar. */
export async function startServeCommand(args: string[], io: CliIo): Promise<RunningServer | 'help'> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const { help: _help, ...flags } = values;
  const sources = { flags, env: io.env, cwd: io.cwd };
  const loaded = resolveConfig(loadRawConfig(sources), 'serve');
  // A reload reads the same layers again: flags and environment are fixed, the file may have changed.
  return startResolved(loaded, createLogger(loaded.config.logLevel), undefined, { read: () => loadRawConfig(sources), file: configFilePath(sources) });
}
