import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import { FAILURES } from '../../src/http/error-status';
import { RecordingObserver, startGateway, type TestGateway } from '../helpers/gateway';
import { testRequest, type TestResponse } from '../helpers/http-request';
import { refusingUpstreamUrl, startRawUpstream, startUpstream, type RawUpstream } from '../helpers/upstream';

/** The error bodies as the protocol shapes them (SPEC §5), never with request or upstream data. */
function expectFailure(res: TestResponse, kind: 'upstreamUnavailable' | 'upstreamTimeout' | 'failFast' | 'unavailable', upstream: string): void {
  const row = FAILURES[kind];
  expect(res.status).toBe(row.status);
  expect(res.json).toEqual({ error: row.error, message: row.message, retry_after: row.retryAfter });
  expect(res.headers['retry-after']).toBe(String(row.retryAfter));
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  const { port } = new URL(upstream);
  expect(res.body.toString()).not.toContain(port);
  expect(res.body.toString()).not.toContain('127.0.0.1');
  expect(res.body.toString()).not.toMatch(/ECONN|hang up|at \//);
}

describe('upstream failures', () => {
  const started: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const s of started.splice(0).reverse()) await s.close();
  });
  async function gatewayFor(upstream: string, timeoutMs = 5000, observer = new RecordingObserver()): Promise<TestGateway> {
    const gw = await startGateway(upstream, { proxy: { timeoutMs } }, { proxyObserver: observer });
    started.push(gw);
    return gw;
  }
  async function raw(onConnection: Parameters<typeof startRawUpstream>[0]): Promise<RawUpstream> {
    const upstream = await startRawUpstream(onConnection);
    started.push(upstream);
    return upstream;
  }

  it('answers 502 UPSTREAM_UNAVAILABLE when the upstream refuses connections', async () => {
    const upstream = await refusingUpstreamUrl();
    const observer = new RecordingObserver();
    const gw = await gatewayFor(upstream, 5000, observer);
    const res = await testRequest(`${gw.url}/v1/messages`, { method: 'POST', body: '{"x":1}' });
    expectFailure(res, 'upstreamUnavailable', upstream);
    await observer.until((o) => o.outcomes.length === 1);
    expect(observer.outcomes[0]).toMatchObject({ method: 'POST', status: 502, failure: 'refused', clientAborted: false, rejected: null });
  });

  it('answers 502 UPSTREAM_UNAVAILABLE when the upstream resets the connection, and does not retry', async () => {
    const upstream = await raw((socket) => socket.once('data', () => socket.resetAndDestroy()));
    const observer = new RecordingObserver();
    const gw = await gatewayFor(upstream.url, 5000, observer);
    const res = await testRequest(`${gw.url}/v1/announce`, { method: 'POST', body: '{"device_id":"d"}' });
    expectFailure(res, 'upstreamUnavailable', upstream.url);
    expect(upstream.connections).toHaveLength(1);
    await observer.until((o) => o.outcomes.length === 1);
    expect(observer.outcomes[0]?.failure).toBe('reset');
  });

  it('answers 504 UPSTREAM_TIMEOUT when no response headers arrive within proxy.timeoutMs, and aborts the upstream request', async () => {
    // Reads the request and never answers.
    const upstream = await raw((socket) => socket.resume());
    const observer = new RecordingObserver();
    const gw = await gatewayFor(upstream.url, 200, observer);
    const connected = upstream.nextConnection();
    const pending = testRequest(`${gw.url}/v1/health-of-something`);
    const upstreamSocket = await connected;
    const upstreamClosed = once(upstreamSocket, 'close');
    expectFailure(await pending, 'upstreamTimeout', upstream.url);
    await upstreamClosed;
    await observer.until((o) => o.outcomes.length === 1);
    expect(observer.outcomes[0]?.failure).toBe('timeout');
  });

  it('tells a slow reset from a timeout: a reset before proxy.timeoutMs is a 502, never a 504', async () => {
    // Resets once the request is in, after the gateway has waited a while for headers.
    const upstream = await raw((socket) => socket.once('data', () => setImmediate(() => socket.resetAndDestroy())));
    const gw = await gatewayFor(upstream.url, 10_000);
    const res = await testRequest(`${gw.url}/v1/messages`);
    expectFailure(res, 'upstreamUnavailable', upstream.url);
  });

  it('answers HEAD failures with the error headers and no body', async () => {
    const upstream = await refusingUpstreamUrl();
    const gw = await gatewayFor(upstream);
    const res = await testRequest(`${gw.url}/v1/messages`, { method: 'HEAD' });
    expect(res.status).toBe(502);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body.length).toBe(0);
  });

  it('ends the connection when the upstream breaks off after the response headers were sent', async () => {
    const upstream = await raw((socket) =>
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\npartial');
        setImmediate(() => socket.destroy());
      }),
    );
    const observer = new RecordingObserver();
    const gw = await gatewayFor(upstream.url, 5000, observer);
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      request(`${gw.url}/v1/stream-ish`, { agent: false }, (r) => {
        r.on('error', () => undefined);
        resolve(r);
      })
        .on('error', reject)
        .end();
    });
    expect(res.statusCode).toBe(200);
    const closed = new Promise((resolve) => res.once('close', resolve));
    res.resume();
    await closed;
    expect(res.complete).toBe(false);
    await observer.until((o) => o.outcomes.length === 1);
    expect(observer.outcomes[0]).toMatchObject({ status: 200, failure: 'reset', clientAborted: false });
  });

  it('answers 503 SERVER_UNAVAILABLE without contacting the upstream under fail-fast while the upstream is unhealthy', async () => {
    const upstream = await startUpstream((_req, res) => res.end('reached'));
    started.push(upstream);
    const gw = await startGateway(upstream.url, { proxy: { failFast: true } }, { upstreamUnhealthy: () => true });
    started.push(gw);
    expectFailure(await testRequest(`${gw.url}/v1/messages`), 'failFast', upstream.url);
    expect(upstream.requests).toHaveLength(0);
  });

  it('keeps forwarding while the upstream is judged unhealthy when fail-fast is off (the default)', async () => {
    const upstream = await startUpstream((_req, res) => res.end('reached'));
    started.push(upstream);
    const gw = await startGateway(upstream.url, {}, { upstreamUnhealthy: () => true });
    started.push(gw);
    const res = await testRequest(`${gw.url}/v1/messages`);
    expect(res.body.toString()).toBe('reached');
  });

  it('answers 503 once the gateway is closed, without contacting the upstream', async () => {
    const upstream = await startUpstream((_req, res) => res.end('reached'));
    started.push(upstream);
    const gw = await gatewayFor(upstream.url);
    await gw.gateway.close();
    expectFailure(await testRequest(`${gw.url}/v1/messages`), 'unavailable', upstream.url);
    expect(upstream.requests).toHaveLength(0);
  });
});
