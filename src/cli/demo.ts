import { createLogger } from '../logger';
import { startServer, type RunningServer } from '../server/sidecar';
import { parseCommandArgs, UsageError } from './args';
import type { CliIo } from './io';
import { makeSelfSignedCert } from './self-signed';

export const DEMO_USAGE = `Usage: cryptid-gateway demo [--port PORT] [--log-level LEVEL]

Runs the gateway on https://localhost:PORT (default 8443) with a self-signed
certificate made at start for localhost, and prints what to try.
Ctrl-C stops it.
`;

/** Something the CLI can stop on a signal. */
export interface Stoppable {
  shutdown(): Promise<void>;
  close(): Promise<void>;
}

/** `cryptid-gateway demo`: what `npm start` runs. */
export async function startDemo(args: string[], io: CliIo): Promise<Stoppable | 'help'> {
  const { values, positionals } = parseCommandArgs(args, {
    port: { type: 'string', default: '8443' },
    'log-level': { type: 'string', default: 'warn' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: expected a port number, got "${values.port}"`);

  const cert = makeSelfSignedCert('localhost');
  let running: RunningServer;
  try {
    running = await startServer({
      upstream: 'http://127.0.0.1:8008',
      listen: `127.0.0.1:${port}`,
      tls: { cert: cert.certPath, key: cert.keyPath },
      metrics: { listen: false },
      discovery: { document: { server_name: 'localhost.localdomain' } },
      shutdown: { drainDelayMs: 0, timeoutMs: 5000 },
      logger: createLogger(values['log-level'] as 'warn'),
    });
  } catch (err) {
    cert.remove();
    throw err;
  }
  const base = `https://localhost:${running.port}`;
  io.stdout.write(
    [
      'cryptid-gateway demo',
      '',
      `  gateway      ${base}`,
      `  discovery    ${base}/.well-known/cryptid`,
      `  fingerprint  ${running.certificate.fingerprint}`,
      '',
      'Try it (the certificate is self-signed, hence -k):',
      `  curl -sk ${base}/.well-known/cryptid`,
      '',
      'Ctrl-C stops the demo.',
      '',
    ].join('\n'),
  );
  const stop = async (graceful: boolean): Promise<void> => {
    try {
      await (graceful ? running.shutdown() : running.close());
    } finally {
      cert.remove();
    }
  };
  return { shutdown: () => stop(true), close: () => stop(false) };
}
