import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HealthEndpoint, type HealthSource } from '../../../src/health/handler';
import type { HealthState } from '../../../src/health/states';
import { DEGRADED, HEALTHY, UNHEALTHY, type HealthBody } from '../../../src/protocol/health';
import { HEALTH_PATH } from '../../../src/protocol/paths';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** One request on a connection of its own, so nothing stays open after the test. */
function request(port: number, method: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: HEALTH_PATH, method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HealthEndpoint', () => {
  const clock = { t: 1_759_000_000_500 };
  const source: { current: HealthState } = { current: { status: HEALTHY, reason: 'upstream healthy', since: 0 } };
  const endpoint = new HealthEndpoint(source satisfies HealthSource, {
    version: '1.0.0',
    now: () => clock.t,
    startedAt: clock.t - 3_600_900,
  });
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    server = http.createServer((req, res) => endpoint.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  it('answers 200 with status, timestamp, version and uptime, and no details, while healthy', async () => {
    source.current = { status: HEALTHY, reason: 'upstream healthy', since: 0 };
    const answer = await request(port, 'GET');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ status: 'healthy', timestamp: 1_759_000_000, version: '1.0.0', uptime: 3_600 });
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['content-length']).toBe(String(Buffer.byteLength(answer.text)));
  });

  it('answers 200 with details while degraded', async () => {
    source.current = { status: DEGRADED, reason: 'upstream reports degraded: high load', since: 0 };
    const answer = await request(port, 'GET');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({
      status: 'degraded',
      timestamp: 1_759_000_000,
      version: '1.0.0',
      uptime: 3_600,
      details: 'upstream reports degraded: high load',
    });
  });

  it('answers 503 with details while unhealthy', async () => {
    source.current = { status: UNHEALTHY, reason: 'shutting down', since: 0 };
    const answer = await request(port, 'GET');
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.text)).toMatchObject({ status: 'unhealthy', details: 'shutting down' });
    expect(answer.headers['cache-control']).toBe('no-store');
  });

  it('answers HEAD with the same status and headers and no body', async () => {
    source.current = { status: UNHEALTHY, reason: 'waiting for the first probe', since: 0 };
    const get = await request(port, 'GET');
    const head = await request(port, 'HEAD');
    expect(head.status).toBe(503);
    expect(head.text).toBe('');
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
    expect(head.headers['content-type']).toBe('application/json');
    expect(head.headers['cache-control']).toBe('no-store');
  });

  it('answers other methods 405 with Allow: GET, HEAD and the JSON error body', async () => {
    const answer = await request(port, 'POST');
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('GET, HEAD');
    expect(JSON.parse(answer.text)).toMatchObject({ error: 'METHOD_NOT_ALLOWED' });
  });

  it('moves timestamp and uptime with the clock while the state stays the same', () => {
    source.current = { status: HEALTHY, reason: 'upstream healthy', since: 0 };
    const before = endpoint.body();
    clock.t += 2_000;
    const after: HealthBody = endpoint.body();
    expect(after.timestamp - before.timestamp).toBe(2);
    expect(after.uptime - before.uptime).toBe(2);
    clock.t -= 2_000;
  });

  it('follows a new state as soon as the source holds it', () => {
    source.current = { status: HEALTHY, reason: 'upstream healthy', since: 0 };
    expect(endpoint.body().status).toBe('healthy');
    source.current = { status: DEGRADED, reason: 'a "quoted" reason\nwith a newline', since: 1 };
    expect(endpoint.body()).toMatchObject({ status: 'degraded', details: 'a "quoted" reason\nwith a newline' });
  });

  it('never reports a negative uptime when the wall clock steps back', () => {
    const stepped = new HealthEndpoint(source, { version: '1.0.0', now: () => 1_000, startedAt: 5_000 });
    expect(stepped.body().uptime).toBe(0);
  });
});
