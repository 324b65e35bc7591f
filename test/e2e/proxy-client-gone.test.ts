import { connect, type Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pollUntil, withDeadline } from '../helpers/deadline';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { testRequest } from '../helpers/http-request';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text';
import { startUpstream, type TestUpstream } from '../helpers/upstream';

/** The contract: everything a vanished client caused is released within this long. */
const RELEASE_MS = 1000;

/**
 * Clients that pipeline requests or stop reading, then vanish. The upstream's answers
 * never end (64 KiB, then nothing), so every request stays in progress until the gateway
 * lets go of it: each one must be aborted upstream, whatever the socket buffers hold.
 */
describe('a client that vanishes with requests in progress', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  /** Upstream responses not yet closed (finished or aborted). */
  const open = new Set<ServerResponse>();
  const closedWaiters: (() => void)[] = [];

  beforeAll(async () => {
    upstream = await startUpstream((req: IncomingMessage, res: ServerResponse) => {
      open.add(res);
      res.once('close', () => {
        open.delete(res);
        if (open.size === 0) for (const wake of closedWaiters.splice(0)) wake();
      });
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(65536, 0x61));
    });
    // Idle keep-alive sockets stay open for the whole test: only aborted ones close.
    upstream.server.keepAliveTimeout = 60_000;
    gw = await startGateway(upstream.url);
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  function allUpstreamResponsesClosed(): Promise<void> {
    return open.size === 0 ? Promise.resolve() : new Promise((resolve) => closedWaiters.push(resolve));
  }

  async function upstreamSocketsInUse(): Promise<number> {
    const text = await gw.gateway.registry.metrics();
    return sampleValue(parsePrometheusText(text), 'cryptid_gateway_upstream_sockets', { state: 'in_use' }) ?? -1;
  }

  /** Opens a raw connection that never reads what it is sent. */
  async function nonReader(): Promise<Socket> {
    const socket = connect(gw.port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause();
    return socket;
  }

  async function arrivals(count: number): Promise<void> {
    await withDeadline(
      pollUntil(() => open.size >= count, 'arrivals', 5000),
      `${count} requests at the upstream`,
      5000,
    );
  }

  it('aborts every pipelined request within 1 s of the client leaving; the queued ones never reach the upstream', async () => {
    const before = upstream.requests.length;
    const clients = await Promise.all(Array.from({ length: 5 }, () => nonReader()));
    for (const socket of clients) socket.write('GET /v1/pipelined HTTP/1.1\r\nHost: chat.example.test\r\n\r\n'.repeat(4));
    await arrivals(5);
    for (const socket of clients) socket.destroy();
    await withDeadline(allUpstreamResponsesClosed(), 'every upstream request aborted', RELEASE_MS);
    await pollUntil(async () => (await upstreamSocketsInUse()) === 0, 'no upstream socket in use', RELEASE_MS);
    expect(upstream.requests.length - before).toBe(5);
  });

  it('forwards the pipelined requests of one connection one at a time: a client that does not read holds one upstream request', async () => {
    const socket = await nonReader();
    const before = upstream.requests.length;
    socket.write('GET /v1/one-at-a-time HTTP/1.1\r\nHost: chat.example.test\r\n\r\n'.repeat(8));
    try {
      await arrivals(1);
      // A whole exchange on another connection: by its end the gateway has long since handled all eight.
      expect((await testRequest(`${gw.url}/.well-known/cryptid`)).status).toBe(200);
      expect(upstream.requests.length - before).toBe(1);
    } finally {
      socket.destroy();
    }
    await withDeadline(allUpstreamResponsesClosed(), 'the one upstream request aborted', RELEASE_MS);
  });

  it('aborts the request of a client that stopped reading mid-response, within 1 s of it leaving', async () => {
    const clients = await Promise.all(Array.from({ length: 5 }, () => nonReader()));
    for (const socket of clients) socket.write('GET /v1/slow-reader HTTP/1.1\r\nHost: chat.example.test\r\n\r\n');
    await arrivals(5);
    for (const socket of clients) socket.destroy();
    await withDeadline(allUpstreamResponsesClosed(), 'every upstream request aborted', RELEASE_MS);
    await pollUntil(async () => (await upstreamSocketsInUse()) === 0, 'no upstream socket in use', RELEASE_MS);
  });
});
