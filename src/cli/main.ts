#!/usr/bin/env node
import { ConfigError } from '../errors';
import { PACKAGE_VERSION } from '../version';
import { UsageError } from './args';
import { DEMO_PORT } from './demo-ports';
import { EXIT, type CliIo } from './io';
import { keepMemoryReducerWorking } from './memory-reducer';

const USAGE = `Usage: cryptid-gateway [COMMAND] [options]

Commands:
  serve                  run the HTTPS sidecar (the default)
  demo                   run an example Cryptid server behind the gateway on https://localhost:${DEMO_PORT}
  check-config FILE      validate a configuration file, list every problem
  fingerprint CERT.pem   print a certificate's sha256: fingerprint
  discover DOMAIN        discover a Cryptid server, check compatibility, pin its certificate

Run "cryptid-gateway COMMAND --help" for a command's options.
`;

/** A long-running command: resolves when it has stopped by itself. */
interface Running {
  shutdown(): Promise<void>;
  close(): Promise<void>;
  /** `serve`: re-reads the configuration (SIGHUP). */
  reload?(): unknown;
}

/** A command: its usage text (shown with a usage error) and what it does. */
interface Command {
  usage?: string;
  run(args: string[], io: CliIo): Promise<number | Running | 'help'>;
}

/**
 * Each command's module is loaded only when that command runs: the sidecar (`serve`) never
 * loads the demo's example server and WebSocket library, nor the discovery client, which
 * cost it about 1.6 MiB of its idle RSS when loaded at start (docs/operations.md, Memory).
 */
const COMMANDS = new Map<string, () => Promise<Command>>(
  Object.entries({
    serve: async () => {
      const m = await import('./serve');
      return { usage: m.SERVE_USAGE, run: m.startServeCommand };
    },
    demo: async () => {
      const m = await import('./demo');
      return { usage: m.DEMO_USAGE, run: m.startDemo };
    },
    'check-config': async () => {
      const m = await import('./check-config');
      return { usage: m.CHECK_CONFIG_USAGE, run: m.checkConfigCommand };
    },
    fingerprint: async () => {
      const m = await import('./fingerprint');
      return { usage: m.FINGERPRINT_USAGE, run: m.fingerprintCommand };
    },
    // discover reports its own usage errors.
    discover: async () => ({ run: (await import('./discover')).discoverCommand }),
  }),
);

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
  const load = COMMANDS.get(command);
  if (!load) throw new UsageError(`unknown command: ${command}`);
  const { usage, run } = await load();
  try {
    const result = await run(args, io);
    if (result !== 'help') return result;
    io.stdout.write(usage ?? USAGE);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`cryptid-gateway ${command}: ${err.message}\n\n${usage ?? USAGE}`);
      return EXIT.error;
    }
    throw err;
  }
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
    else {
      started(result);
      // A sidecar idles for long spells; on Node 24 V8 would not give back its memory then.
      keepMemoryReducerWorking();
    }
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
