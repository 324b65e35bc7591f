import { once } from 'node:events';
import { Agent } from 'node:https';
import { WebSocket, WebSocketServer } from 'ws';
import { discover, pinnedServerIdentity } from '../../src/client';
import { makeCert, type TestCert } from '../helpers/certs';
import { startCryptidServer, type FakeCryptidServer } from '../helpers/cryptid-server';

const DOMAIN = 'chat.example.test';
let cert: TestCert;
let server: FakeCryptidServer;
let wss: WebSocketServer;

beforeAll(async () => {
  cert = makeCert({ commonName: DOMAIN });
  server = await startCryptidServer(cert, DOMAIN);
  wss = new WebSocketServer({ server: server.server, path: '/v1/stream' });
  wss.on('connection', (socket) => socket.send('hello'));
});
afterAll(async () => {
  for (const client of wss.clients) client.terminate();
  wss.close();
  await server.close();
  cert.cleanup();
});

/** Opens `wss://…/v1/stream` with the pin; resolves with the first message or the error. */
async function streamWith(pins: string | string[]): Promise<string | Error> {
  const agent = new Agent({ ca: cert.cert, checkServerIdentity: pinnedServerIdentity(pins) });
  const ws = new WebSocket(`wss://127.0.0.1:${server.port}/v1/stream`, { agent });
  try {
    // events.once rejects on 'error', which is exactly the outcome some tests expect.
    const [first] = (await once(ws, 'message').catch((error: unknown) => [error])) as [Buffer | Error];
    return first instanceof Error ? first : first.toString();
  } finally {
    ws.terminate();
    agent.destroy();
  }
}

describe('pinnedServerIdentity', () => {
  it('lets a WebSocket through to the server whose fingerprint discovery returned', async () => {
    const { fingerprint } = await discover(DOMAIN, { ca: cert.cert, resolve: server.resolve });
    expect(await streamWith(fingerprint)).toBe('hello');
  });

  it('accepts any of several pins, for a planned rotation', async () => {
    const { fingerprint } = await discover(DOMAIN, { ca: cert.cert, resolve: server.resolve });
    expect(await streamWith([`sha256:${'1'.repeat(64)}`, fingerprint])).toBe('hello');
  });

  it('refuses the connection when the certificate is not the pinned one', async () => {
    const result = await streamWith(`sha256:${'0'.repeat(64)}`);
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toContain('not the pinned one');
  });
});
