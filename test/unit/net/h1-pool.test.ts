import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { ConnectionPool, type PooledConnection } from '../../../src/net/h1-pool';
import { connectUpstream, upstreamAddress } from '../../../src/net/upstream-connect';
import { waitFor } from '../../helpers/deadline';
import { closeServer, listenLocal } from '../../helpers/listen';

/** An upstream that keeps connections for a minute, and tells which of them are still open. */
async function upstream(): Promise<{ server: Server; url: URL; open: Set<Socket> }> {
  const open = new Set<Socket>();
  const server = createServer((_req, res) => res.end('ok'));
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  const port = await listenLocal(server);
  return { server, url: new URL(`http://127.0.0.1:${port}`), open };
}

/** Waits (within the test deadline) for a socket to close. */
function closed(socket: Socket, what: string): Promise<void> {
  return waitFor(what, (done) => {
    if (socket.destroyed) return done();
    socket.once('close', () => done());
  });
}

/** One GET over a pooled connection, answered in full; resolves with the connection it used. */
function exchange(pool: ConnectionPool): Promise<PooledConnection> {
  return new Promise((resolve, reject) => {
    pool.acquire((connection) => {
      let text = '';
      connection.user = {
        onData(chunk) {
          text += chunk.toString('latin1');
          if (text.endsWith('\r\n\r\nok')) resolve(connection);
        },
        onClosed: (err) => reject(err ?? new Error('closed before the answer')),
      };
      connection.socket.write('GET / HTTP/1.1\r\nhost: upstream\r\n\r\n');
    });
  });
}

describe('ConnectionPool: idle connections past their reuse time', () => {
  let up: Awaited<ReturnType<typeof upstream>>;
  let pool: ConnectionPool;

  beforeEach(async () => {
    up = await upstream();
    pool = new ConnectionPool(up.url, 4);
  });

  afterEach(async () => {
    pool.close();
    await closeServer(up.server);
  });

  it('closes an idle connection once its reuse time is over, not at the next request', async () => {
    const connection = await exchange(pool);
    pool.release(connection, true, 100);
    expect(pool.free).toBe(1);
    expect(up.open.size).toBe(1);
    const [upstreamSide] = up.open;
    await closed(upstreamSide!, 'the upstream saw the expired connection close');
    expect(pool.free).toBe(0);
    expect(connection.socket.destroyed).toBe(true);
  });

  it('keeps a connection within its reuse time, and closes each as its own time runs out', async () => {
    const [a, b] = await Promise.all([exchange(pool), exchange(pool)]);
    pool.release(a!, true, 100);
    pool.release(b!, true, 1_500);
    expect(pool.free).toBe(2);
    await closed(a!.socket, 'the shorter-lived connection closed');
    expect(pool.free).toBe(1);
    expect(b!.socket.destroyed).toBe(false);
    // Still reusable: handed out again, not a new connection.
    const again = await exchange(pool);
    expect(again).toBe(b);
    pool.release(again, true, 100);
    await closed(again.socket, 'the reused connection closed once its time ran out');
    expect(pool.free).toBe(0);
    expect(up.open.size).toBe(0);
  });

  it('arms no timer once closed: the idle connections go at once', async () => {
    const connection = await exchange(pool);
    pool.release(connection, true, 60_000);
    pool.close();
    expect(pool.free).toBe(0);
    await closed(connection.socket, 'the idle connection closed with the pool');
  });
});

describe('ConnectionPool: the state it keeps', () => {
  it('keeps it beside the socket: a pooled socket has the properties of a plain upstream socket, in the same order', async () => {
    const up = await upstream();
    const pool = new ConnectionPool(up.url, 1);
    // The health probe's kind of socket: connectUpstream's alone, after the same exchange.
    const plain = connectUpstream(upstreamAddress(up.url));
    let pooled: PooledConnection | undefined;
    try {
      pooled = await exchange(pool);
      await waitFor('the plain socket’s answer', (done, fail) => {
        let text = '';
        plain.on('data', (chunk: Buffer) => {
          text += chunk.toString('latin1');
          if (text.endsWith('\r\n\r\nok')) done();
        });
        plain.once('error', fail);
        plain.write('GET / HTTP/1.1\r\nhost: upstream\r\n\r\n');
      });
      // Properties of the pool's own on its sockets (or ones Node adds when the pool alone
      // configures a socket) would give them a shape apart from the probe's, and Node's
      // stream code would be compiled again when a probe's came by. Same keys in the same
      // order: the same shape.
      expect(Reflect.ownKeys(pooled.socket).map(String)).toEqual(Reflect.ownKeys(plain).map(String));
    } finally {
      plain.destroy();
      // Still in use: pool.close() closes only idle connections.
      if (pooled !== undefined) pool.discard(pooled);
      pool.close();
      await closeServer(up.server);
    }
  });
});
