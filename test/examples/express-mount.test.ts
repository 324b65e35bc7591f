import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { followLines } from '../helpers/child-lines';
import { testRequest } from '../helpers/http-request';
import { startHealthyUpstream, type HealthyUpstream } from '../helpers/healthy-upstream';

const root = join(__dirname, '..', '..');

describe('examples/express-mount', () => {
  let child: ChildProcess;
  let base: string;
  let upstream: HealthyUpstream;

  beforeAll(async () => {
    upstream = await startHealthyUpstream();
    child = spawn(process.execPath, [join(root, 'examples/express-mount/server.js')], {
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'silent', CRYPTID_UPSTREAM: upstream.url },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // Wait for both the listening line and the first health verdict.
    const out = followLines(child);
    const listening = await out.until((line) => /listening on \S+/.test(line), 'the example saying "listening on URL"');
    base = /listening on (\S+)/.exec(listening)![1]!;
    await out.until((line) => line.startsWith('upstream healthy'), 'the example saying "upstream healthy"');
  });
  afterAll(async () => {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
    await upstream.close();
  });

  it('serves the host app route and the discovery document from the built package', async () => {
    expect((await testRequest(`${base}/app/hello`)).json).toEqual({ hello: 'world' });
    const res = await testRequest(`${base}/.well-known/cryptid`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ server_name: 'chat.example.com' });
  });

  it('keeps its own body parser and routes behind the gateway', async () => {
    const res = await testRequest(`${base}/app/echo`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    expect(res.json).toEqual({ youSent: { a: 1 } });
  });

  it('forwards the listed prefixes to the upstream and serves metrics where the host app mounted them', async () => {
    expect((await testRequest(`${base}/v1/messages`, { method: 'POST', body: '{}' })).json).toEqual({ method: 'POST' });
    const metrics = await testRequest(`${base}/internal/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body.toString()).toContain('cryptid_gateway_http_requests_total{method="POST",route="/v1/messages",status_code="200"} 1');
  });
});
