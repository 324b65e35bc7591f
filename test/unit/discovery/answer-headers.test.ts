import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DiscoveryEndpoint } from '../../../src/discovery/handler';
import type { DocumentTemplate } from '../../../src/protocol/document';
import { testRequest } from '../../helpers/http-request';

const TEMPLATE = { server_name: 'chat.example.test', certificate_fingerprint: `sha256:${'0'.repeat(64)}` } as unknown as DocumentTemplate;

/** A discovery endpoint on a plain server, with or without listener-wide headers. */
async function serve(answerHeaders?: Record<string, string>): Promise<{ url: string; server: Server }> {
  const endpoint = new DiscoveryEndpoint(TEMPLATE, true, undefined, () => true, answerHeaders);
  const server = createServer((req, res) => endpoint.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/cryptid`, server };
}

describe('DiscoveryEndpoint answer headers', () => {
  const servers: Server[] = [];
  afterAll(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((resolve) => s.close(resolve));
    }
  });

  it('puts the listener’s headers on the 200 and on the 304, prepared with the rest', async () => {
    const { url, server } = await serve({ 'strict-transport-security': 'max-age=31536000' });
    servers.push(server);
    const ok = await testRequest(url);
    expect(ok.status).toBe(200);
    expect(ok.headers['strict-transport-security']).toBe('max-age=31536000');
    expect(ok.headers['access-control-allow-origin']).toBe('*');
    const again = await testRequest(url, { headers: { 'if-none-match': String(ok.headers.etag) } });
    expect(again.status).toBe(304);
    expect(again.headers['strict-transport-security']).toBe('max-age=31536000');
  });

  it('adds nothing without them (library mode)', async () => {
    const { url, server } = await serve();
    servers.push(server);
    const ok = await testRequest(url);
    expect(ok.status).toBe(200);
    expect(ok.headers).not.toHaveProperty('strict-transport-security');
  });
});
