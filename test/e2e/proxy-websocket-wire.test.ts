import { createServer, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { createServer as createHttpsServer } from 'node:https';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createGateway } from '../../src';
import { waitFor } from '../helpers/deadline';
import { gatewayOptions, startGateway, type TestGateway } from '../helpers/gateway';
import { makeCert, type TestCert } from '../helpers/certs';
import { closeServer, listenLocal } from '../helpers/listen';
import { answerProbe, startUpstream, type TestUpstream } from '../helpers/upstream';
import { nextMessage, openWs, startWsUpstream, type WsUpstream } from '../helpers/ws-upstream';

/**
 * The bytes a WebSocket handshake puts on the client socket when the upstream refuses it,
 * and what reaches the upstream: pinned at the wire, so that the handshake code can change
 * without the answer moving.
 */

const HANDSHAKE = (path: string, extra = ''): string =>
  `GET ${path} HTTP/1.1\r\nHost: gw.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`;

/** Everything the gateway writes on a raw client socket until it closes it. */
function rawAnswer(port: number, request: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  return waitFor('the gateway to answer the handshake and close the socket', (done, fail) => {
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('close', () => done(Buffer.concat(chunks).toString('latin1')));
    socket.once('error', fail);
    socket.write(request);
    return () => socket.destroy();
  });
}

describe('WebSocket handshakes at the wire', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      if (req.url?.startsWith('/v1/chunked')) {
        // No length: the body arrives chunked and is relayed chunked.
        res.writeHead(403, 'Not Today', { 'content-type': 'text/plain', 'x-upstream': 'chunked' });
        res.write('first,');
        res.end('second');
      } else if (req.url?.startsWith('/v1/sized')) {
        res.writeHead(401, { 'content-type': 'text/plain', 'content-length': '7', 'x-upstream': 'sized' });
        res.end('refused');
      } else res.writeHead(404).end();
    });
    gw = await startGateway(upstream.url);
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  it('relays a refusal without a length chunked, with its status text, then closes', async () => {
    const answer = await rawAnswer(gw.port, HANDSHAKE('/v1/chunked'));
    const end = answer.indexOf('\r\n\r\n');
    const lines = answer.slice(0, end).split('\r\n');
    const body = answer.slice(end + 4);
    expect(lines[0]).toBe('HTTP/1.1 403 Not Today');
    expect(lines).toContain('x-upstream: chunked');
    expect(lines).toContain('connection: close');
    expect(lines).toContain('transfer-encoding: chunked');
    // Chunk boundaries are the transport's (the upstream's two writes may arrive in one read); the content and the final chunk are not.
    expect(dechunk(body)).toEqual({ content: 'first,second', complete: true });
  });

  it('relays a refusal with a length as it is, then closes', async () => {
    const answer = await rawAnswer(gw.port, HANDSHAKE('/v1/sized?x=1'));
    const head = answer.slice(0, answer.indexOf('\r\n\r\n')).split('\r\n');
    expect(head[0]).toBe('HTTP/1.1 401 Unauthorized');
    expect(head).toContain('content-length: 7');
    expect(head).toContain('connection: close');
    expect(head.some((l) => l.startsWith('transfer-encoding'))).toBe(false);
    expect(answer.slice(answer.indexOf('\r\n\r\n') + 4)).toBe('refused');
    const reached = upstream.requests.find((r) => r.url?.startsWith('/v1/sized'));
    expect(reached?.url).toBe('/v1/sized?x=1');
    expect(reached?.headers.connection).toBe('Upgrade');
    expect(reached?.headers.upgrade).toBe('websocket');
  });
});

describe('WebSocket handshakes to an HTTPS upstream', () => {
  let cert: TestCert;
  let gw: TestGateway;
  let server: ReturnType<typeof createHttpsServer>;
  let upgrades = 0;

  beforeAll(async () => {
    cert = makeCert();
    server = createHttpsServer({ cert: cert.cert, key: cert.key }, (req, res) => {
      if (!answerProbe(req, res)) res.writeHead(404).end();
    });
    server.on('upgrade', (_req, socket) => {
      upgrades++;
      socket.destroy();
    });
    const port = await listenLocal(server);
    gw = await startGateway(`https://localhost:${port}`);
  });
  afterAll(async () => {
    await gw.close();
    await closeServer(server);
    cert.cleanup();
  });

  it('checks the upstream certificate: an untrusted one gets the client a 502 and never a tunnel', async () => {
    const answer = await rawAnswer(gw.port, HANDSHAKE('/v1/stream'));
    expect(answer.startsWith('HTTP/1.1 502 ')).toBe(true);
    expect(upgrades).toBe(0);
  });
});

describe('an open tunnel', () => {
  let upstream: WsUpstream;
  let server: ReturnType<typeof createServer>;
  let close: () => Promise<void>;
  let port: number;
  const handshakes: WeakRef<IncomingMessage>[] = [];

  beforeAll(async () => {
    upstream = await startWsUpstream();
    const gateway = createGateway(gatewayOptions(upstream.url));
    server = createServer(gateway);
    // Only a weak reference to the client's handshake request: the test itself keeps nothing alive.
    server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
      handshakes.push(new WeakRef(req));
      gateway.upgrade(req, socket, head);
    });
    port = await listenLocal(server);
    close = async () => {
      await closeServer(server);
      await gateway.close();
    };
  });
  afterAll(async () => {
    await close();
    await upstream.close();
  });

  it('keeps nothing of its handshake: the request is collectable while the tunnel carries frames', async () => {
    // A collection on demand (what `node --expose-gc` gives), to see what is still referenced.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const client = await openWs(`ws://127.0.0.1:${port}/v1/stream`, { headers: { authorization: 'Bearer good' } });
    try {
      client.send('before');
      expect((await nextMessage(client)).data.toString()).toBe('before');
      // WeakRefs hold their target until the current job ends: collect on a later turn.
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      expect(handshakes).toHaveLength(1);
      expect(handshakes[0]?.deref()).toBeUndefined();
      client.send('after');
      expect((await nextMessage(client)).data.toString()).toBe('after');
    } finally {
      client.terminate();
    }
  });
});

/** Reads a chunked body: the content its chunks carry, and whether it ended with the last (zero-length) chunk and nothing after. */
function dechunk(body: string): { content: string; complete: boolean } {
  let content = '';
  let rest = body;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    if (eol < 0) return { content, complete: false };
    const size = Number.parseInt(rest.slice(0, eol), 16);
    if (!Number.isFinite(size)) return { content, complete: false };
    if (size === 0) return { content, complete: rest.slice(eol) === '\r\n\r\n' };
    content += rest.slice(eol + 2, eol + 2 + size);
    if (rest.slice(eol + 2 + size, eol + 4 + size) !== '\r\n') return { content, complete: false };
    rest = rest.slice(eol + 4 + size);
  }
}
