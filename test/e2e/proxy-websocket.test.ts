import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import type WebSocket from 'ws';
import { createGateway } from '../../src';
import { FAILURES } from '../../src/http/error-status';
import { gatewayOptions, RecordingObserver, startGateway, type TestGateway } from '../helpers/gateway';
import { waitFor } from '../helpers/deadline';
import { closeServer, listenLocal } from '../helpers/listen';
import { closedOf } from '../helpers/socket-pair';
import { refusingUpstreamUrl, startRawUpstream } from '../helpers/upstream';
import { closeOf, nextMessage, openWs, refusedHandshake, startWsUpstream, type WsUpstream } from '../helpers/ws-upstream';

const AUTH = { authorization: 'Bearer good' };

describe('WebSocket tunnels', () => {
  let upstream: WsUpstream;
  let gw: TestGateway;
  let observer: RecordingObserver;
  let wsBase: string;
  const clients: WebSocket[] = [];

  beforeAll(async () => {
    upstream = await startWsUpstream();
    observer = new RecordingObserver();
    gw = await startGateway(upstream.url, {}, { proxyObserver: observer });
    wsBase = gw.url.replace('http:', 'ws:');
  });
  afterEach(() => {
    for (const ws of clients.splice(0)) ws.terminate();
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  async function tunnel(path = '/v1/stream', protocols?: string[]): Promise<{ client: WebSocket; server: WebSocket; request: IncomingMessage }> {
    const arrived = upstream.nextConnection();
    const client = await openWs(`${wsBase}${path}`, { headers: AUTH, ...(protocols && { protocols }) });
    clients.push(client);
    const { ws, request } = await arrived;
    return { client, server: ws, request };
  }

  it('hands Authorization, the query and Sec-WebSocket-Protocol to the upstream untouched', async () => {
    const { client, request } = await tunnel('/v1/stream?access_token=tok%2Fabc&x=1', ['cryptid.v1', 'other']);
    expect(request.url).toBe('/v1/stream?access_token=tok%2Fabc&x=1');
    expect(request.headers.authorization).toBe('Bearer good');
    expect(request.headers['sec-websocket-protocol']).toBe('cryptid.v1,other');
    expect(request.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(client.protocol).toBe('cryptid.v1');
  });

  it('carries text and binary frames in order, both ways, byte for byte', async () => {
    const { client } = await tunnel();
    const sent: { data: Buffer; isBinary: boolean }[] = [];
    for (let i = 0; i < 20; i++) {
      const isBinary = i % 2 === 1;
      const data = isBinary ? randomBytes(1 + i * 3000) : Buffer.from(`text message ${i} ✓`);
      sent.push({ data, isBinary });
    }
    const received: { data: Buffer; isBinary: boolean }[] = [];
    const all = new Promise<void>((resolve) =>
      client.on('message', (data, isBinary) => {
        received.push({ data: data as Buffer, isBinary });
        if (received.length === sent.length) resolve();
      }),
    );
    for (const m of sent) client.send(m.data, { binary: m.isBinary });
    await all;
    expect(received.map((m) => m.isBinary)).toEqual(sent.map((m) => m.isBinary));
    received.forEach((m, i) => expect(m.data.equals(sent[i]?.data as Buffer)).toBe(true));
  });

  it('passes ping and pong frames through with their payloads, in both directions', async () => {
    const { client, server } = await tunnel();
    const upstreamPing = once(server, 'ping');
    const clientPong = once(client, 'pong');
    client.ping(Buffer.from('from-client'));
    expect(((await upstreamPing)[0] as Buffer).toString()).toBe('from-client');
    expect(((await clientPong)[0] as Buffer).toString()).toBe('from-client');

    const clientPing = once(client, 'ping');
    const upstreamPong = once(server, 'pong');
    server.ping(Buffer.from('from-upstream'));
    expect(((await clientPing)[0] as Buffer).toString()).toBe('from-upstream');
    expect(((await upstreamPong)[0] as Buffer).toString()).toBe('from-upstream');
  });

  it('relays close codes and reasons from the client to the upstream', async () => {
    const { client, server } = await tunnel();
    const upstreamClose = closeOf(server);
    const clientClose = closeOf(client);
    client.close(4001, 'client bye');
    expect(await upstreamClose).toEqual({ code: 4001, reason: 'client bye' });
    expect((await clientClose).code).toBe(4001);
  });

  it('relays close codes and reasons from the upstream to the client', async () => {
    const { client, server } = await tunnel();
    const clientClose = closeOf(client);
    server.close(4002, 'upstream bye');
    expect(await clientClose).toEqual({ code: 4002, reason: 'upstream bye' });
  });

  it('counts open tunnels and reports each one closing', async () => {
    const openedBefore = observer.opened;
    const closedBefore = observer.closed;
    const { client } = await tunnel();
    await observer.until((o) => o.opened === openedBefore + 1);
    const closed = closeOf(client);
    client.close(1000);
    await closed;
    await observer.until((o) => o.closed === closedBefore + 1);
  });

  it('relays the upstream refusing the upgrade (401 with its body)', async () => {
    const res = await refusedHandshake(`${wsBase}/v1/stream`, { authorization: 'Bearer bad' });
    expect(res.status).toBe(401);
    expect(res.headers['x-upstream']).toBe('refused');
    expect(JSON.parse(res.body)).toEqual({ error: 'DEVICE_NOT_ANNOUNCED', message: 'invalid token', code: 4002 });
    await observer.until((o) => o.upgradeFailures.includes('upstreamRefusedUpgrade'));
  });

  it('answers a request that is not a WebSocket upgrade with 400 and closes the socket', async () => {
    const socket = connect(gw.port, '127.0.0.1');
    socket.end('GET /v1/stream HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    await once(socket, 'close');
    const text = Buffer.concat(chunks).toString();
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(text).toContain('"error":"UNSUPPORTED_UPGRADE"');
  });
});

describe('WebSocket upgrades to a failing upstream', () => {
  it('answers 502 UPSTREAM_UNAVAILABLE on the socket when the upstream is unreachable', async () => {
    const gw = await startGateway(await refusingUpstreamUrl());
    try {
      const res = await refusedHandshake(`${gw.url.replace('http:', 'ws:')}/v1/stream`, AUTH);
      expect(res.status).toBe(502);
      expect(res.headers['retry-after']).toBe('5');
      expect(JSON.parse(res.body)).toEqual({ error: 'UPSTREAM_UNAVAILABLE', message: FAILURES.upstreamUnavailable.message, retry_after: 5 });
    } finally {
      await gw.close();
    }
  });

  it('answers 504 UPSTREAM_TIMEOUT on the socket when the upstream never answers the handshake, and drops the upstream connection', async () => {
    const upstream = await startRawUpstream((socket) => socket.resume());
    const gw = await startGateway(upstream.url, { proxy: { timeoutMs: 200 } });
    try {
      const connected = upstream.nextConnection();
      const pending = refusedHandshake(`${gw.url.replace('http:', 'ws:')}/v1/stream`, AUTH);
      const upstreamSocket = await connected;
      const upstreamClosed = once(upstreamSocket, 'close');
      expect((await pending).status).toBe(504);
      await upstreamClosed;
    } finally {
      await gw.close();
      await upstream.close();
    }
  });

  it('drops the upstream handshake when the client leaves before it is answered', async () => {
    const upstream = await startRawUpstream((socket) => socket.resume());
    const observer = new RecordingObserver();
    const gw = await startGateway(upstream.url, {}, { proxyObserver: observer });
    try {
      const connected = upstream.nextConnection();
      const socket = connect(gw.port, '127.0.0.1');
      socket.write(
        'GET /v1/stream HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      const upstreamSocket = await connected;
      const upstreamClosed = once(upstreamSocket, 'close');
      socket.destroy();
      await upstreamClosed;
      await observer.until((o) => o.upgradeFailures.includes('clientAborted'));
    } finally {
      await gw.close();
      await upstream.close();
    }
  });
});

describe('closing the gateway with tunnels open', () => {
  it('closes every tunnel with 1001 to both ends and counts them closed', async () => {
    const upstream = await startWsUpstream();
    const observer = new RecordingObserver();
    const gw = await startGateway(upstream.url, {}, { proxyObserver: observer });
    try {
      const arrived = [upstream.nextConnection(), upstream.nextConnection()];
      const clients = await Promise.all([0, 1].map(() => openWs(`${gw.url.replace('http:', 'ws:')}/v1/stream`, { headers: AUTH })));
      const servers = await Promise.all(arrived);
      await observer.until((o) => o.opened === 2);
      // A message in flight right before closing still arrives whole.
      const echoed = nextMessage(clients[0] as WebSocket);
      (clients[0] as WebSocket).send('last words');
      expect((await echoed).data.toString()).toBe('last words');
      const clientCloses = clients.map((ws) => closeOf(ws));
      const upstreamCloses = servers.map(({ ws }) => closeOf(ws));
      await gw.gateway.close();
      for (const c of await Promise.all(clientCloses)) expect(c.code).toBe(1001);
      for (const c of await Promise.all(upstreamCloses)) expect(c.code).toBe(1001);
      expect(observer.closed).toBe(2);
    } finally {
      await gw.close();
      await upstream.close();
    }
  });
});

describe('idle tunnels', () => {
  it("stay open past the host server's own request, header, socket and keep-alive timeouts, which meanwhile close plain connections", async () => {
    const upstream = await startWsUpstream();
    const gateway = createGateway(gatewayOptions(upstream.url));
    const server = createServer({ connectionsCheckingInterval: 50, requestTimeout: 300, headersTimeout: 200, keepAliveTimeout: 100 }, gateway);
    server.timeout = 200;
    server.on('upgrade', gateway.upgrade);
    const port = await listenLocal(server);
    // Outside the try, so that a failed wait still ends the tunnel: server.close() counts
    // upgraded sockets too, and would otherwise hold the cleanup until jest's own timeout,
    // which then hides the failure that caused it.
    let client: WebSocket | undefined;
    try {
      client = await openWs(`ws://127.0.0.1:${port}/v1/stream`, { headers: AUTH });
      let closedEarly = false;
      client.once('close', () => (closedEarly = true));
      // Instead of a blind wait: three plain connections opened after the tunnel, which the
      // server must close by its own timeouts — idle from the start (socket timeout), a head
      // that never ends (headers and request timeouts), idle after one keep-alive exchange
      // (keepAliveTimeout, which node stretches by a second). Once all three are gone, the
      // tunnel, idle longer than each of them, must still be open and carry a message.
      const silent = connect(port, '127.0.0.1');
      const partialHead = connect(port, '127.0.0.1', () => partialHead.write('GET /v1/messages HTTP/1.1\r\nHost: x\r\n'));
      const keptAlive = connect(port, '127.0.0.1', () => keptAlive.write('GET /v1/messages HTTP/1.1\r\nHost: x\r\n\r\n'));
      const answered = waitFor('the keep-alive answer', (done) => void keptAlive.once('data', () => done()));
      // Each is read to its end: Node answers a head timeout with a 408 before it closes, and
      // a socket that leaves that answer unread never reads the close behind it either. The
      // silent and the unfinished connection get the 408 whenever the head timeout fires before
      // the socket timeout (both 200 ms): 1-17 % of runs on Node 20 and 24 alike, the
      // 'silent connection closing ... not within 5000 ms' failure seen in CI.
      for (const socket of [silent, partialHead, keptAlive]) socket.on('error', () => undefined).resume();
      await answered;
      const waits = await Promise.allSettled([
        closedOf(silent, 'the silent connection'),
        closedOf(partialHead, 'the connection with an unfinished head'),
        closedOf(keptAlive, 'the idle keep-alive connection'),
      ]);
      const failed = waits.flatMap((w) => (w.status === 'rejected' ? [(w.reason as Error).message] : []));
      if (failed.length > 0) throw new Error(failed.join('; '));
      expect(closedEarly).toBe(false);
      const echoed = nextMessage(client);
      client.send('still here');
      expect((await echoed).data.toString()).toBe('still here');
    } finally {
      client?.terminate();
      await closeServer(server);
      await gateway.close();
      await upstream.close();
    }
  });
});
