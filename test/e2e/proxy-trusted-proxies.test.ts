import { once } from 'node:events';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGateway, type Gateway, type GatewayOptions } from '../../src';
import { gatewayOptions } from '../helpers/gateway';
import { untilStatus } from '../helpers/healthy-upstream';
import { closeServer } from '../helpers/listen';
import { captureLog, type CapturedLog } from '../helpers/log-capture';
import { startRecordingUpstream, type ReceivedBody, type RecordingUpstream } from '../helpers/recording-upstream';
import { openWs, startWsUpstream, type WsUpstream } from '../helpers/ws-upstream';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** What a TLS ingress in front of the gateway says about the original request. */
const FROM_THE_INGRESS = {
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'chat.example.com',
  'x-forwarded-for': '203.0.113.7',
  'x-request-id': 'ingress-4f2a',
};

interface Front {
  readonly gateway: Gateway;
  readonly server: Server;
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

/** `http.createServer(gateway)` listening on `listenHost`, port 0. */
async function front(upstreamUrl: string, proxy: NonNullable<GatewayOptions['proxy']>, listenHost: string, log?: CapturedLog): Promise<Front> {
  const gateway = createGateway({ ...gatewayOptions(upstreamUrl, { proxy }), ...(log && { logger: log.logger }) });
  const server = createServer(gateway);
  server.on('upgrade', gateway.upgrade);
  server.listen(0, listenHost);
  await once(server, 'listening');
  await untilStatus(gateway, 'healthy');
  return {
    gateway,
    server,
    port: (server.address() as AddressInfo).port,
    host: listenHost,
    close: async () => {
      await closeServer(server);
      await gateway.close();
    },
  };
}

/** A GET from `connectHost` with `headers`, answered with what the upstream received. */
function forwarded(f: Front, connectHost: string, headers: Record<string, string> = {}): Promise<ReceivedBody> {
  return new Promise((resolve, reject) => {
    const req = request({ host: connectHost, port: f.port, path: '/v1/messages', headers: { host: 'gw.internal:8080', ...headers }, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(JSON.parse(text) as ReceivedBody));
    });
    req.on('error', reject);
    req.end();
  });
}

function forwardedHeaders(h: IncomingHttpHeaders): Record<string, unknown> {
  return { proto: h['x-forwarded-proto'], host: h['x-forwarded-host'], for: h['x-forwarded-for'], id: h['x-request-id'] };
}

describe('proxy.trustedProxies and X-Request-Id', () => {
  let upstream: RecordingUpstream;
  const fronts: Front[] = [];
  beforeAll(async () => {
    upstream = await startRecordingUpstream();
  });
  afterAll(async () => {
    for (const f of fronts) await f.close();
    await upstream?.close();
  });
  async function started(proxy: NonNullable<GatewayOptions['proxy']>, listenHost = '127.0.0.1', log?: CapturedLog): Promise<Front> {
    const f = await front(upstream.url, proxy, listenHost, log);
    fronts.push(f);
    return f;
  }

  it("keeps a trusted hop's X-Forwarded-Proto, X-Forwarded-Host and X-Request-Id, and appends to X-Forwarded-For", async () => {
    const f = await started({ trustedProxies: ['10.0.0.0/8', '127.0.0.0/8'] });
    const got = await forwarded(f, '127.0.0.1', FROM_THE_INGRESS);
    expect(forwardedHeaders(got.headers)).toEqual({ proto: 'https', host: 'chat.example.com', for: '203.0.113.7, 127.0.0.1', id: 'ingress-4f2a' });
  });

  it('sets them from the connection for any other peer, and generates the request id', async () => {
    const f = await started({ trustedProxies: ['10.0.0.0/8', 'fd00::/8'] });
    const got = await forwarded(f, '127.0.0.1', FROM_THE_INGRESS);
    const seen = forwardedHeaders(got.headers);
    expect(seen).toMatchObject({ proto: 'http', host: 'gw.internal:8080', for: '203.0.113.7, 127.0.0.1' });
    expect(seen.id).toMatch(UUID);
  });

  it('trusts by default nobody', async () => {
    const f = await started({});
    expect(forwardedHeaders((await forwarded(f, '127.0.0.1', FROM_THE_INGRESS)).headers)).toMatchObject({ proto: 'http', host: 'gw.internal:8080' });
  });

  it('matches IPv6 peers, and IPv4 peers on a dual-stack listener, by their own family', async () => {
    const v6 = await started({ trustedProxies: ['::1'] }, '::1');
    expect(forwardedHeaders((await forwarded(v6, '::1', FROM_THE_INGRESS)).headers)).toMatchObject({ proto: 'https', for: '203.0.113.7, ::1' });
    // On "::" an IPv4 client's address reads ::ffff:127.0.0.1; an IPv4 entry still covers it.
    const dual = await started({ trustedProxies: ['127.0.0.1'] }, '::');
    expect(forwardedHeaders((await forwarded(dual, '127.0.0.1', FROM_THE_INGRESS)).headers)).toMatchObject({ proto: 'https', id: 'ingress-4f2a' });
  });

  it("replaces a trusted hop's request id that could break a log line", async () => {
    const f = await started({ trustedProxies: ['127.0.0.1'] });
    const got = await forwarded(f, '127.0.0.1', { 'x-request-id': 'two words' });
    expect(got.headers['x-request-id']).toMatch(UUID);
  });

  it("gives every request its own id, and names it in the gateway's log line for the request", async () => {
    const log = captureLog();
    const f = await started({}, '127.0.0.1', log);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await forwarded(f, '127.0.0.1')).headers['x-request-id']);
    expect(new Set(ids).size).toBe(3);
    const logged = log.lines.filter((l) => l.event === 'request').map((l) => l.requestId);
    expect(logged).toEqual(ids);
  });
});

describe('proxy.trustedProxies on WebSocket upgrades', () => {
  let upstream: WsUpstream;
  let f: Front;
  beforeAll(async () => {
    upstream = await startWsUpstream();
    f = await front(upstream.url, { trustedProxies: ['127.0.0.1/32'] }, '127.0.0.1');
  });
  afterAll(async () => {
    await f?.close();
    await upstream?.close();
  });

  it('hands the handshake on with the same headers and a request id', async () => {
    const arrived = upstream.nextConnection();
    const ws = await openWs(`ws://127.0.0.1:${f.port}/v1/stream`, { headers: { authorization: 'Bearer good', ...FROM_THE_INGRESS } });
    const { request: handshake } = await arrived;
    expect(forwardedHeaders(handshake.headers)).toEqual({ proto: 'https', host: 'chat.example.com', for: '203.0.113.7, 127.0.0.1', id: 'ingress-4f2a' });
    ws.terminate();
  });
});
