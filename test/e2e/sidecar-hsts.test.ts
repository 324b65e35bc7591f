import { once } from 'node:events';
import { connect } from 'node:tls';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../../src';
import { makeCert, type TestCert } from '../helpers/certs';
import { startGateway } from '../helpers/gateway';
import { testRequest } from '../helpers/http-request';
import { captureLog } from '../helpers/log-capture';
import { PROBE_PATH, startUpstream, type TestUpstream } from '../helpers/upstream';

const HSTS = 'max-age=31536000';

/** The response head of a raw exchange over TLS, lower-cased, read until the server closes. */
async function rawHead(running: RunningServer, cert: TestCert, bytes: string): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port: running.port, servername: 'localhost', ca: cert.cert });
  await once(socket, 'secureConnect');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.write(bytes);
  await once(socket, 'close');
  return Buffer.concat(chunks).toString('latin1').split('\r\n\r\n')[0]!.toLowerCase();
}

describe('Strict-Transport-Security', () => {
  let upstream: TestUpstream;
  let cert: TestCert;
  let running: RunningServer;

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      req.resume();
      if (req.url === '/v1/own-policy') res.setHeader('strict-transport-security', 'max-age=60');
      res.end('ok');
    });
    cert = makeCert();
    running = await startServer({
      upstream: upstream.url,
      listen: '127.0.0.1:0',
      tls: { cert: cert.certPath, key: cert.keyPath },
      metrics: { listen: false },
      discovery: { document: { server_name: 'chat.example.test', federation_enabled: false } },
      health: { probe: { path: PROBE_PATH, intervalMs: 60_000 } },
      logger: captureLog().logger,
    });
  });
  afterAll(async () => {
    await running.close();
    cert.cleanup();
    await upstream.close();
  });

  it.each(['/.well-known/cryptid', '/v1/health', '/federation/v1/deliver/tx'])('is on what serve answers itself: GET %s', async (path) => {
    const res = await testRequest(`${running.url}${path}`, { ca: cert.cert });
    expect(res.headers['strict-transport-security']).toBe(HSTS);
  });

  it('is on a 304 Not Modified of the discovery document', async () => {
    const first = await testRequest(`${running.url}/.well-known/cryptid`, { ca: cert.cert });
    const again = await testRequest(`${running.url}/.well-known/cryptid`, { ca: cert.cert, headers: { 'if-none-match': String(first.headers.etag) } });
    expect(again.status).toBe(304);
    expect(again.headers['strict-transport-security']).toBe(HSTS);
  });

  it('is on the answers to requests the parser refused and to CONNECT', async () => {
    expect(await rawHead(running, cert, 'GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n')).toContain(`strict-transport-security: ${HSTS}`);
    expect(await rawHead(running, cert, 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n')).toContain(`strict-transport-security: ${HSTS}`);
  });

  it('is on a WebSocket handshake the gateway refuses itself', async () => {
    const ws = new WebSocket(`${running.url.replace('https', 'wss')}/federation/v1/stream`, { ca: cert.cert });
    const headers = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.headers));
      ws.on('open', () => reject(new Error('opened')));
      ws.on('error', reject);
    });
    ws.terminate();
    expect(headers['strict-transport-security']).toBe(HSTS);
  });

  it("is added to proxied answers that carry none, and the upstream's own policy is relayed unchanged", async () => {
    expect((await testRequest(`${running.url}/v1/plain`, { ca: cert.cert })).headers['strict-transport-security']).toBe(HSTS);
    expect((await testRequest(`${running.url}/v1/own-policy`, { ca: cert.cert })).headers['strict-transport-security']).toBe('max-age=60');
  });

  it('is not added in library mode, where TLS is the host app’s business', async () => {
    const gw = await startGateway(upstream.url);
    try {
      expect((await testRequest(`${gw.url}/.well-known/cryptid`)).headers).not.toHaveProperty('strict-transport-security');
      expect((await testRequest(`${gw.url}/v1/plain`)).headers).not.toHaveProperty('strict-transport-security');
    } finally {
      await gw.close();
    }
  });
});
