import type { RateLimitRuleOptions } from '../../src';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { testRequest } from '../helpers/http-request';
import { startUpstream, type TestUpstream } from '../helpers/upstream';

const RULE: RateLimitRuleOptions = { name: 'sends', match: ['POST /v1/messages'], key: 'ip', limit: 2, windowMs: 60_000 };

/** The statuses of POSTs sent from 127.0.0.1, each claiming to come from the given X-Forwarded-For. */
async function statuses(gw: TestGateway, forwardedFor: readonly string[]): Promise<number[]> {
  const out: number[] = [];
  for (const xff of forwardedFor) out.push((await testRequest(`${gw.url}/v1/messages`, { method: 'POST', body: '{}', headers: { 'x-forwarded-for': xff } })).status);
  return out;
}

describe('rate limits keyed by ip behind proxies', () => {
  let upstream: TestUpstream;
  const gateways: TestGateway[] = [];

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((gw) => gw.close()));
  });
  afterAll(() => upstream.close());

  it('counts each client a trusted load balancer names, not the balancer', async () => {
    const gw = await startGateway(upstream.url, { proxy: { trustedProxies: ['127.0.0.1'] }, rateLimits: { rules: [RULE] } });
    gateways.push(gw);
    expect(await statuses(gw, ['203.0.113.1', '203.0.113.1', '203.0.113.1', '203.0.113.2'])).toEqual([200, 200, 429, 200]);
  });

  it('ignores what a client wrote left of the trusted hop', async () => {
    const gw = await startGateway(upstream.url, { proxy: { trustedProxies: ['127.0.0.1'] }, rateLimits: { rules: [RULE] } });
    gateways.push(gw);
    // A client rotating a fake first entry is still the one address the balancer appended.
    expect(await statuses(gw, ['10.9.9.1, 203.0.113.7', '10.9.9.2, 203.0.113.7', '10.9.9.3, 203.0.113.7'])).toEqual([200, 200, 429]);
  });

  it('ignores X-Forwarded-For from a peer it does not trust', async () => {
    const gw = await startGateway(upstream.url, { rateLimits: { rules: [RULE] } });
    gateways.push(gw);
    expect(await statuses(gw, ['203.0.113.1', '203.0.113.2', '203.0.113.3'])).toEqual([200, 200, 429]);
  });
});
