import { readFileSync } from 'node:fs';
import { startExampleUpstream, type ExampleUpstream } from '../example-upstream/example-upstream';
import { createLogger, type LogLevel } from '../logger';
import { startServer, type RunningServer } from '../server/sidecar';
import { parseCommandArgs, UsageError, valueOptions } from './args';
import { DEMO_METRICS_PORT, DEMO_PORT } from './demo-ports';
import { demoTour } from './demo-tour';
import type { CliIo } from './io';
import { makeSelfSignedCert, type SelfSignedCert } from './self-signed';
import { synopsis } from './usage';

/** The demo's flags. It logs warnings only: its own output is the point. */
const DEMO_FLAGS = [
  { name: 'port', value: 'PORT', default: String(DEMO_PORT) },
  { name: 'metrics-port', value: 'PORT', default: String(DEMO_METRICS_PORT) },
  { name: 'log-level', value: 'LEVEL', default: 'warn' },
] as const;

const OPTIONS = { ...valueOptions(DEMO_FLAGS), help: { type: 'boolean', short: 'h' } } as const;

export const DEMO_USAGE = `Usage: cryptid-gateway demo ${synopsis(DEMO_FLAGS)}

Runs the bundled EXAMPLE Cryptid server behind the gateway: the gateway on
https://localhost:PORT (default ${DEMO_PORT}) with a self-signed certificate made at start,
its metrics on http://127.0.0.1:METRICS-PORT (default ${DEMO_METRICS_PORT}). It then sends one
message through the gateway and receives it on the WebSocket stream, and prints
what to try. Ctrl-C stops it.
`;

/** Something the CLI can stop on a signal. */
export interface Stoppable {
  shutdown(): Promise<void>;
  close(): Promise<void>;
}

/** What the command line asked for. */
interface DemoSettings {
  readonly publicPort: number;
  readonly metricsPort: number;
  readonly logLevel: LogLevel;
}

/** The running demo: the example upstream, its certificate and the gateway in front of it. */
interface DemoStack {
  readonly upstream: ExampleUpstream;
  readonly cert: SelfSignedCert;
  readonly gateway: RunningServer;
}

/** `cryptid-gateway demo`: what `npm start` runs. */
export async function startDemo(args: string[], io: CliIo): Promise<Stoppable | 'help'> {
  const settings = demoSettings(args);
  if (settings === 'help') return 'help';
  const stack = await startStack(settings);
  const { gateway } = stack;
  if (gateway.gateway.health.status !== 'healthy') await new Promise((resolve) => gateway.gateway.once('status', resolve));
  const tour = await tourText(stack);
  io.stdout.write(demoText(stack, settings, tour));
  return { shutdown: () => stopStack(stack, true), close: () => stopStack(stack, false) };
}

function demoSettings(args: string[]): DemoSettings | 'help' {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  return {
    publicPort: port(values.port, '--port'),
    metricsPort: port(values['metrics-port'], '--metrics-port'),
    logLevel: values['log-level'] as LogLevel,
  };
}

function port(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${flag}: expected a port number, got "${value}"`);
  return n;
}

/** Makes the certificate, starts the example upstream, then the gateway; undoes the first two if the gateway fails. */
async function startStack(settings: DemoSettings): Promise<DemoStack> {
  const cert = makeSelfSignedCert('localhost');
  const upstream = await startExampleUpstream({ host: '127.0.0.1', port: 0, domain: 'localhost' });
  try {
    const gateway = await startServer({
      upstream: upstream.url,
      listen: `127.0.0.1:${settings.publicPort}`,
      tls: { cert: cert.certPath, key: cert.keyPath },
      metrics: { listen: `127.0.0.1:${settings.metricsPort}` },
      discovery: { document: { server_name: 'localhost.localdomain' } },
      // A demo is watched by a person: turn healthy fast and stop without a drain.
      health: { probe: { intervalMs: 2000 } },
      shutdown: { drainDelayMs: 0, timeoutMs: 5000 },
      logger: createLogger(settings.logLevel),
    });
    return { upstream, cert, gateway };
  } catch (err) {
    await removeUpstream(upstream, cert);
    throw err;
  }
}

async function stopStack(stack: DemoStack, graceful: boolean): Promise<void> {
  try {
    await (graceful ? stack.gateway.shutdown() : stack.gateway.close());
  } finally {
    await removeUpstream(stack.upstream, stack.cert);
  }
}

async function removeUpstream(upstream: ExampleUpstream, cert: SelfSignedCert): Promise<void> {
  await upstream.close();
  cert.remove();
}

/** Sends one message through the gateway and says how it went. */
async function tourText(stack: DemoStack): Promise<string> {
  try {
    const { received } = await demoTour(baseOf(stack), readFileSync(stack.cert.certPath));
    return `  A message travelled through the gateway; Bob's stream received:\n    ${received}`;
  } catch (err) {
    return `  The demo message did not arrive: ${(err as Error).message}`;
  }
}

function baseOf(stack: DemoStack): string {
  return `https://localhost:${stack.gateway.port}`;
}

/** What the demo prints: where everything is, how the tour went, and what to try. */
function demoText(stack: DemoStack, settings: DemoSettings, tour: string): string {
  const { gateway, upstream } = stack;
  const base = baseOf(stack);
  return [
    'cryptid-gateway demo (the upstream is a bundled EXAMPLE server, not a real Cryptid server)',
    '',
    `  gateway      ${base}  →  example upstream ${upstream.url}`,
    `  discovery    ${base}/.well-known/cryptid`,
    `  health       ${base}/v1/health`,
    `  metrics      http://127.0.0.1:${gateway.metricsPort ?? settings.metricsPort}/metrics   (/livez, /readyz)`,
    `  fingerprint  ${gateway.certificate.fingerprint}`,
    '',
    tour,
    '',
    'Try it (the certificate is self-signed, hence -k):',
    `  curl -sk ${base}/.well-known/cryptid`,
    `  curl -sk ${base}/v1/health`,
    '  GW=' + base,
    '  BOB=$(curl -sk -X POST $GW/v1/announce); ALICE=$(curl -sk -X POST $GW/v1/announce)',
    `  node -e "const W=require('ws');new W('wss://localhost:${gateway.port}/v1/stream?access_token='+JSON.parse(process.argv[1]).access_token,{rejectUnauthorized:false}).on('message',m=>console.log(String(m)))" "$BOB" &`,
    '  curl -sk $GW/v1/messages -H "authorization: Bearer $(echo $ALICE | node -pe \'JSON.parse(require("fs").readFileSync(0)).access_token\')" \\',
    '    -H "content-type: application/json" -d "{\\"recipient_address\\":\\"$(echo $BOB | node -pe \'JSON.parse(require("fs").readFileSync(0)).delivery_address\')\\",\\"ciphertext\\":\\"aGk=\\"}"',
    '',
    'Ctrl-C stops the demo.',
    '',
  ].join('\n');
}
