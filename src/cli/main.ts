#!/usr/bin/env node
import { ConfigError } from '../errors';
import { PACKAGE_VERSION } from '../version';
import { UsageError } from './args';
import { CHECK_CONFIG_USAGE, checkConfigCommand } from './check-config';
import { DEMO_PORT, DEMO_USAGE, startDemo } from './demo';
import { discoverCommand } from './discover';
import { FINGERPRINT_USAGE, fingerprintCommand } from './fingerprint';
import { EXIT, type CliIo } from './io';
import { SERVE_USAGE, startServeCommand } from './serve';

const USAGE = `Usage: cryptid-gateway [COMMAND] [options]

Commands:
  serve                  run the HTTPS sidecar (the default)
  demo                   run an example Cryptid server behind the gateway on https://localhost:${DEMO_PORT}
  check-config FILE      validate a configuration file, list every problem
  fingerprint CERT.pem   print a certificate's sha256: fingerprint
  discover DOMAIN        discover a Cryptid server, check compatibility, pin its certificate

Run "cryptid-gateway COMMAND --help" for a command's options.
`;

const COMMANDS = new Set(['serve', 'demo', 'check-config', 'fingerprint', 'discover']);

const USAGES: Record<string, string> = {
  serve: SERVE_USAGE,
  demo: DEMO_USAGE,
  'check-config': CHECK_CONFIG_USAGE,
  fingerprint: FINGERPRINT_USAGE,
};

/** A long-running command: resolves when it has stopped by itself. */
interface Running {
  shutdown(): Promise<void>;
  close(): Promise<void>;
  /** `serve`: re-reads the configuration (SIGHUP). */
  reload?(): unknown;
}

/**
 * The CLI: the only place that reads `process`, installs signal handlers or exits.
 */
async function main(argv: string[], io: CliIo): Promise<number | Running> {
  const first = argv[0];
  if (first === '--version' || first === '-v') {
    io.stdout.write(`${PACKAGE_VERSION}\n`);
    return EXIT.ok;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  // `serve` is the default command, so `cryptid-gateway --upstream …` works.
  const command = first !== undefined && !first.startsWith('-') ? first : 'serve';
  const args = command === first ? argv.slice(1) : argv;
  if (!COMMANDS.has(command)) throw new UsageError(`unknown command: ${command}`);
  try {
    switch (command) {
      case 'check-config':
        return await checkConfigCommand(args, io);
      case 'fingerprint':
        return await fingerprintCommand(args, io);
      case 'discover':
        return await discoverCommand(args, io);
      case 'demo': {
        const running = await startDemo(args, io);
        if (running === 'help') return help(io, command);
        return running;
      }
      default: {
        const running = await startServeCommand(args, io);
        if (running === 'help') return help(io, command);
        return running;
      }
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`cryptid-gateway ${command}: ${err.message}\n\n${USAGES[command] ?? USAGE}`);
      return EXIT.error;
    }
    throw err;
  }
}

function help(io: CliIo, command: string): number {
  io.stdout.write(USAGES[command] ?? USAGE);
  return EXIT.ok;
}

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Signals are handled from the very start, so none can arrive in a window where the default
 * handler would kill a server that is still starting. For `serve` and `demo`: the first
 * SIGTERM/SIGINT stops gracefully (once started), the second exits at once; SIGHUP reloads
 * the configuration of `serve`. Other commands exit at once.
 */
function installSignalHandlers(longRunning: boolean): (running: Running) => void {
  let running: Running | undefined;
  let signalled = false;
  const stop = (r: Running): void => {
    r.shutdown().then(
      () => process.exit(EXIT.ok),
      (err: unknown) => {
        process.stderr.write(`cryptid-gateway: shutdown failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled || !longRunning) process.exit(SIGNAL_EXIT[signal] ?? 1);
    signalled = true;
    if (running) stop(running);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // SIGHUP's default action ends the process: a long-running command takes it as "reload",
  // and one that has not started yet (or cannot reload) ignores it rather than die.
  if (longRunning) process.on('SIGHUP', () => void (signalled ? undefined : running?.reload?.()));
  return (r) => {
    running = r;
    if (signalled) stop(r);
  };
}

const io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
const argv = process.argv.slice(2);
const started = installSignalHandlers(argv[0] === undefined || argv[0] === 'serve' || argv[0] === 'demo' || argv[0].startsWith('-'));

main(argv, io).then(
  (result) => {
    if (typeof result === 'number') process.exitCode = result;
    else started(result);
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`cryptid-gateway: ${err.message}\n`);
      process.exit(EXIT.error);
    }
    if (err instanceof UsageError) {
      process.stderr.write(`cryptid-gateway: ${err.message}\n\n${USAGE}`);
      process.exit(EXIT.error);
    }
    process.stderr.write(`cryptid-gateway: ${(err as Error).message ?? String(err)}\n`);
    process.exit(EXIT.unusable);
  },
);
