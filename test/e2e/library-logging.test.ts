import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ConfigError, createGateway, type Gateway, type GatewayOptions } from '../../src';
import { withDeadline } from '../helpers/deadline';
import { gatewayOptions } from '../helpers/gateway';
import { testRequest } from '../helpers/http-request';
import { closeServer, listenLocal } from '../helpers/listen';
import { refusingUpstreamUrl } from '../helpers/upstream';

// The library as users load it: the built package (npm test builds first).
const DIST = join(__dirname, '..', '..', 'dist', 'index.js');

/**
 * A child process that mounts a gateway in front of an upstream that refuses connections,
 * sends it one request (502, and a warning the gateway would log) and exits. Without a
 * `logger` the library must not have written a byte.
 */
const CHILD = `
const { createServer, get } = require('node:http');
const { createGateway } = require(${JSON.stringify(DIST)});
const gateway = createGateway({
  upstream: process.argv[1],
  discovery: { document: { server_name: 'chat.example.com', certificate_fingerprint: 'sha256:' + '0'.repeat(64) } },
  health: { probe: { intervalMs: 60000, timeoutMs: 500 } },
});
const server = createServer(gateway).listen(0, '127.0.0.1', () => {
  get('http://127.0.0.1:' + server.address().port + '/v1/messages', (res) => {
    res.resume();
    res.on('end', async () => {
      server.close();
      await gateway.close();
      process.exitCode = res.statusCode === 502 ? 0 : 1;
    });
  });
});
`;

describe('logging in library mode', () => {
  it('writes nothing to stdout or stderr without a logger, even on an upstream failure', async () => {
    const upstream = await refusingUpstreamUrl();
    const child = spawn(process.execPath, ['-e', CHILD, upstream], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const [code] = (await withDeadline(once(child, 'exit'), 'the child gateway', 15000)) as [number];
    expect(out).toBe('');
    expect(code).toBe(0);
  });

  it("logs through any object with pino's level methods", async () => {
    const upstream = await refusingUpstreamUrl();
    const lines: { level: string; fields: Record<string, unknown>; message: string | undefined }[] = [];
    const at = (level: string) => (fields: Record<string, unknown>, message?: string) => void lines.push({ level, fields, message });
    const logger: NonNullable<GatewayOptions['logger']> = { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
    const gateway = createGateway({ ...gatewayOptions(upstream), logger });
    const server = (await import('node:http')).createServer(gateway);
    try {
      const res = await testRequest(`http://127.0.0.1:${await listenLocal(server)}/v1/messages`);
      expect(res.status).toBe(502);
      expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ event: 'upstream_error', failure: 'refused' }) }));
      // Without isLevelEnabled, debug lines are built and handed over too: the logger decides.
      expect(lines).toContainEqual(expect.objectContaining({ level: 'debug', fields: expect.objectContaining({ event: 'request', status: 502 }) }));
    } finally {
      await closeServer(server);
      await gateway.close();
    }
  });
});

describe('a metrics listener that cannot start in library mode', () => {
  let taken: ReturnType<typeof createServer>;
  let port: number;
  let gateway: Gateway;
  beforeAll(async () => {
    taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    port = (taken.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await gateway?.close();
    taken.close();
    await once(taken, 'close');
  });

  it('reaches the caller: a metricsError event and a rejected metricsListener()', async () => {
    const upstream = await refusingUpstreamUrl();
    gateway = createGateway(gatewayOptions(upstream, { metrics: { listen: `127.0.0.1:${port}` } }));
    const failed = new Promise<Error>((resolve) => gateway.once('metricsError', resolve));
    const event = await withDeadline(failed, 'the metricsError event', 5000);
    expect(event).toBeInstanceOf(ConfigError);
    expect((event as ConfigError).problems).toEqual([{ path: 'metrics.listen', message: `127.0.0.1:${port} is already in use` }]);
    await expect(gateway.metricsListener()).rejects.toBe(event);
  });

  it('resolves metricsListener() with the bound address when it starts, and undefined when none is set', async () => {
    const upstream = await refusingUpstreamUrl();
    const withListener = createGateway(gatewayOptions(upstream, { metrics: { listen: '127.0.0.1:0' } }));
    const without = createGateway(gatewayOptions(upstream));
    try {
      const address = await withDeadline(withListener.metricsListener(), 'the metrics listener', 5000);
      expect(address).toEqual({ host: '127.0.0.1', port: expect.any(Number) });
      expect((await testRequest(`http://127.0.0.1:${address!.port}/livez`)).status).toBe(200);
      await expect(without.metricsListener()).resolves.toBeUndefined();
    } finally {
      await withListener.close();
      await without.close();
    }
  });
});
