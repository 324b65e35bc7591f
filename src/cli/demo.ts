import { readFileSync } from 'node:fs';
import { startExampleUpstream } from '../example-upstream/example-upstream';
import { createLogger } from '../logger';
import { startServer } from '../server/sidecar';
import { parseCommandArgs, UsageError } from './args';
import { demoTour } from './demo-tour';
import type { CliIo } from './io';
import { makeSelfSignedCert } from './self-signed';

export const DEMO_USAGE = `Usage: cryptid-gateway demo [--port PORT] [--metrics-port PORT] [--log-level LEVEL]

Runs the bundled EXAMPLE Cryptid server behind the gateway: the gateway on
https://localhost:PORT (default 8443) with a self-signed certificate made at start,
its metrics on http://127.0.0.1:METRICS-PORT (default 9464). It then sends one
message through the gateway and receives it on the WebSocket stream, and prints
what to try. Ctrl-C stops it.
`;

/** Something the CLI can stop on a signal. */
export interface Stoppable {
  shutdown(): Promise<void>;
  close(): Promise<void>;
}

function port(value: string | undefined, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${flag}: expected a port number, got "${value}"`);
  return n;
}

/** `cryptid-gateway demo`: what `npm start` runs. */
export async function startDemo(args: string[], io: CliIo): Promise<Stoppable | 'help'> {
  const { values, positionals } = parseCommandArgs(args, {
    port: { type: 'string', default: '8443' },
    'metrics-port': { type: 'string', default: '9464' },
    'log-level': { type: 'string', default: 'warn' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const publicPort = port(values.port, '--port');
  const metricsPort = port(values['metrics-port'], '--metrics-port');

  const cert = makeSelfSignedCert('localhost');
  const upstream = await startExampleUpstream({ host: '127.0.0.1', port: 0, domain: 'localhost' });
  const cleanup = async (): Promise<void> => {
    await upstream.close();
    cert.remove();
  };
  let running;
  try {
    running = await startServer({
      upstream: upstream.url,
      listen: `127.0.0.1:${publicPort}`,
      tls: { cert: cert.certPath, key: cert.keyPath },
      metrics: { listen: `127.0.0.1:${metricsPort}`, defaultMetrics: true },
      discovery: { document: { server_name: 'localhost.localdomain' } },
      health: { probe: { intervalMs: 2000 } },
      shutdown: { drainDelayMs: 0, timeoutMs: 5000 },
      logger: createLogger(values['log-level'] as 'warn'),
    });
  } catch (err) {
    await cleanup();
    throw err;
  }
  const gw = running;
  const base = `https://localhost:${gw.port}`;
  const stop = async (graceful: boolean): Promise<void> => {
    try {
      await (graceful ? gw.shutdown() : gw.close());
    } finally {
      await cleanup();
    }
  };
  if (gw.gateway.health.status !== 'healthy') await new Promise((resolve) => gw.gateway.once('status', resolve));

  let tour: string;
  try {
    const { received } = await demoTour(base, readFileSync(cert.certPath));
    tour = `  A message travelled through the gateway; Bob's stream received:\n    ${received}`;
  } catch (err) {
    tour = `  The demo message did not arrive: ${(err as Error).message}`;
  }

  io.stdout.write(
    [
      'cryptid-gateway demo (the upstream is a bundled EXAMPLE server, not a real Cryptid server)',
      '',
      `  gateway      ${base}  →  example upstream ${upstream.url}`,
      `  discovery    ${base}/.well-known/cryptid`,
      `  health       ${base}/v1/health`,
      `  metrics      http://127.0.0.1:${gw.metricsPort ?? metricsPort}/metrics   (/livez, /readyz)`,
      `  fingerprint  ${gw.certificate.fingerprint}`,
      '',
      tour,
      '',
      'Try it (the certificate is self-signed, hence -k):',
      `  curl -sk ${base}/.well-known/cryptid`,
      `  curl -sk ${base}/v1/health`,
      '  GW=' + base,
      '  BOB=$(curl -sk -X POST $GW/v1/announce); ALICE=$(curl -sk -X POST $GW/v1/announce)',
      `  node -e "const W=require('ws');new W('wss://localhost:${gw.port}/v1/stream?access_token='+JSON.parse(process.argv[1]).access_token,{rejectUnauthorized:false}).on('message',m=>console.log(String(m)))" "$BOB" &`,
      '  curl -sk $GW/v1/messages -H "authorization: Bearer $(echo $ALICE | node -pe \'JSON.parse(require("fs").readFileSync(0)).access_token\')" \\',
      '    -H "content-type: application/json" -d "{\\"recipient_address\\":\\"$(echo $BOB | node -pe \'JSON.parse(require("fs").readFileSync(0)).delivery_address\')\\",\\"ciphertext\\":\\"aGk=\\"}"',
      '',
      'Ctrl-C stops the demo.',
      '',
    ].join('\n'),
  );
  return { shutdown: () => stop(true), close: () => stop(false) };
}
