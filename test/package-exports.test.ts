import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import pino from 'pino';
import type { DiscoveryDocument, Gateway, GatewayLogger, GatewayOptions, HostPort, StatusChange } from '../src';

const root = join(__dirname, '..');

describe('the package as users load it (built dist/, by its own name)', () => {
  const names = ['createGateway', 'startServer', 'ConfigError', 'discover', 'DiscoveryClient', 'FileTofuStore', 'MemoryTofuStore', 'isCompatible', 'DiscoveryError'];

  it('loads with require', () => {
    const out = execFileSync(process.execPath, ['-e', `const m = require('cryptid-gateway'); console.log(JSON.stringify(${JSON.stringify(names)}.map((n) => typeof m[n])))`], {
      cwd: root,
    });
    expect(JSON.parse(out.toString())).toEqual(names.map(() => 'function'));
  });

  it('loads with import, named exports included', () => {
    const script = `import { ${names.join(', ')} } from 'cryptid-gateway'; import * as client from 'cryptid-gateway/client'; console.log(JSON.stringify([${names.map((n) => `typeof ${n}`).join(', ')}, typeof client.discover]))`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
    expect(JSON.parse(out.toString())).toEqual([...names.map(() => 'function'), 'function']);
  });

  it('loads ioredis only for a Redis store', () => {
    // A sidecar on the memory store should not carry the Redis client's code and heap.
    const script = `
      const { createGateway } = require('cryptid-gateway');
      const loaded = () => Object.keys(require.cache).some((f) => f.includes('/node_modules/ioredis/'));
      const base = { upstream: 'http://127.0.0.1:9', metrics: { listen: false }, logLevel: 'silent',
        discovery: { document: { server_name: 'chat.example.com', certificate_fingerprint: 'sha256:${'0'.repeat(64)}' } } };
      const rule = { name: 'all', match: ['/v1/'], key: 'ip', limit: 10, windowMs: 1000 };
      (async () => {
        const memory = createGateway({ ...base, rateLimits: { rules: [rule] } });
        const before = loaded();
        await memory.close();
        const redis = createGateway({ ...base, rateLimits: { rules: [rule], store: 'redis', redis: { url: 'redis://127.0.0.1:9' } } });
        const after = loaded();
        await redis.close();
        console.log(JSON.stringify([before, after]));
      })();`;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: root });
    expect(JSON.parse(out.toString())).toEqual([false, true]);
  });

  it('loads pino only for a JSON logger of its own: not for a library-mode gateway without one', () => {
    // pino is `serve`'s logger; a library user passes theirs or none (about 2 MiB of heap unused).
    const script = `
      const { createGateway } = require('cryptid-gateway');
      const loaded = () => Object.keys(require.cache).some((f) => f.includes('/node_modules/pino/'));
      const gateway = createGateway({ upstream: 'http://127.0.0.1:9', metrics: { listen: false },
        discovery: { document: { server_name: 'chat.example.com', certificate_fingerprint: 'sha256:${'0'.repeat(64)}' } } });
      const before = loaded();
      let written = '';
      const logger = require('./dist/logger.js').createLogger('info', { write: (line) => (written = line) });
      logger.info({ event: 'probe', headers: { authorization: 'secret' } }, 'hello');
      gateway.close().then(() => console.log(JSON.stringify([before, loaded(), JSON.parse(written).headers.authorization])));`;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: root });
    expect(JSON.parse(out.toString())).toEqual([false, true, '[redacted]']);
  });

  it.each([
    ['net', false],
    ['undici', true],
  ])('with proxy.engine %s, loads undici only when chosen, then its HTTP/1.1 client, not its index, and the very classes the index exports', (engine, loadsUndici) => {
    // Unused, undici costs ~8 MiB of RSS; its index also loads fetch, WebSocket, caches and mocks the gateway never uses.
    const script = `
      const http = require('node:http');
      const { createGateway } = require('cryptid-gateway');
      const loaded = (suffix) => Object.keys(require.cache).some((f) => f.includes('/node_modules/undici/') && f.endsWith(suffix));
      const upstream = http.createServer((req, res) => res.end(req.url === '/v1/health' ? '{"status":"healthy"}' : 'ok'));
      upstream.listen(0, '127.0.0.1', async () => {
        const gateway = createGateway({ upstream: 'http://127.0.0.1:' + upstream.address().port, metrics: { listen: false }, proxy: { engine: '${engine}' },
          discovery: { document: { server_name: 'chat.example.com', certificate_fingerprint: 'sha256:${'0'.repeat(64)}' } } });
        const status = new Promise((resolve) => gateway.once('status', (s) => resolve(s.status)));
        const front = http.createServer((req, res) => gateway(req, res, () => res.end('next')));
        await new Promise((resolve) => front.listen(0, '127.0.0.1', resolve));
        const proxied = await new Promise((resolve, reject) => http.get('http://127.0.0.1:' + front.address().port + '/v1/x', (res) => {
          let body = ''; res.on('data', (c) => (body += c)); res.on('end', () => resolve(body));
        }).on('error', reject));
        const probed = await status;
        const client = loaded('.js');
        const index = loaded('/undici/index.js');
        const parts = require('./dist/net/undici-client.js');
        const undici = require('undici');
        const same = parts.Pool === undici.Pool && parts.Client === undici.Client && parts.errors === undici.errors;
        await gateway.close(); front.close(); upstream.close();
        console.log(JSON.stringify([proxied, probed, client, index, same]));
      });`;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: root });
    expect(JSON.parse(out.toString())).toEqual(['ok', 'healthy', loadsUndici, false, true]);
  });

  it('types the public API the way users write it', () => {
    // Compile-time checks: these lines fail `npm run typecheck` if the public types drift.
    const options: GatewayOptions = {
      upstream: 'http://127.0.0.1:8008',
      discovery: { document: { server_name: 'chat.example.com', websocket: { enabled: true } } },
      health: { probe: { intervalMs: 1000 } },
      proxy: { failFast: true, maxBodyBytes: null, paths: ['/v1/', '/federation/'], parsedBody: 'reserialize', trustedProxies: ['10.0.0.0/8'] },
      metrics: { listen: false },
      // pino as it is, or any object with its level methods.
      logger: pino({ level: 'silent' }),
    };
    const consoleLike: GatewayLogger = { error: console.error, warn: console.warn, info: console.info, debug: console.debug };
    const onStatus = (change: StatusChange): string => `${change.previous} → ${change.status}: ${change.reason}`;
    const useGateway = async (g: Gateway): Promise<DiscoveryDocument | undefined> => {
      g.on('status', onStatus);
      g.on('metricsError', (err: Error) => err.message);
      const metrics: HostPort | undefined = await g.metricsListener();
      // Undefined only with discovery.source: upstream, before the upstream's first valid document.
      const document = g.document;
      return document && { ...document, metricsPort: metrics?.port };
    };
    expect(typeof useGateway).toBe('function');
    expect(typeof consoleLike.debug).toBe('function');
    expect(options.discovery.document?.server_name).toBe('chat.example.com');
  });
});
