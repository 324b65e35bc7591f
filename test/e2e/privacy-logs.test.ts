import { createServer, type Server } from 'node:http';
import { createGateway, type Gateway } from '../../src';
import { testRequest } from '../helpers/http-request';
import { untilStatus } from '../helpers/healthy-upstream';
import { closeServer, listenLocal } from '../helpers/listen';
import { captureLog } from '../helpers/log-capture';
import { SwitchableUpstream } from '../helpers/switchable-upstream';

// SPEC §5, privacy: logs carry route templates, never raw paths, tokens, addresses or Authorization.
describe('what the gateway logs', () => {
  it('carries route templates and never a token, a raw path segment, a client or upstream address, even at debug level and on failures', async () => {
    const upstream = await new SwitchableUpstream().start();
    const log = captureLog(); // debug level
    const gateway: Gateway = createGateway({
      upstream: upstream.url,
      discovery: { document: { server_name: 'chat.example.com', certificate_fingerprint: `sha256:${'e'.repeat(64)}` } },
      health: { probe: { intervalMs: 60_000, timeoutMs: 300 } },
      logger: log.logger,
    });
    const server: Server = createServer(gateway);
    const base = `http://127.0.0.1:${await listenLocal(server)}`;
    try {
      await untilStatus(gateway, 'healthy');
      const secret = { authorization: 'Bearer tok-3f9a1c', cookie: 'session=cookie-77aa' };
      await testRequest(`${base}/v1/infopackages/segment-8d2e41?access_token=query-5be0`, { headers: secret });
      await testRequest(`${base}/v1/messages`, { method: 'POST', headers: secret, body: '{"recipient_address":"addr-61c0@chat.example.com"}' });
      await upstream.kill();
      for (let i = 0; i < 3; i++) await testRequest(`${base}/v1/infopackages/segment-8d2e41`, { headers: secret });
      await untilStatus(gateway, 'unhealthy');
    } finally {
      await closeServer(server);
      await gateway.close();
      await upstream.close();
    }
    const text = log.lines.map((l) => JSON.stringify(l)).join('\n');
    // The request lines are there, with the route template instead of the path.
    expect(log.lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ event: 'request', method: 'GET', route: '/v1/infopackages/:url_segment', status: 200 }),
        expect.objectContaining({ event: 'upstream_error', route: '/v1/infopackages/:url_segment', failure: 'refused' }),
      ]),
    );
    for (const leak of ['tok-3f9a1c', 'cookie-77aa', 'segment-8d2e41', 'query-5be0', 'addr-61c0', '127.0.0.1', upstream.url]) {
      expect(text).not.toContain(leak);
    }
  });
});
