import fc from 'fast-check';
import { startByteLoggingUpstream, type ByteLoggingUpstream } from '../helpers/byte-logging-upstream';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { rawExchange } from '../helpers/raw-http';

/**
 * A field value as a client may send it (RFC 9110 §5.5): visible ASCII and obs-text
 * (0x80–0xFF) at both ends, spaces and tabs inside. The bytes, as a Latin-1 string (the
 * way node:http hands header values over, and the way they are written here).
 */
const fieldValue = fc
  .tuple(
    fc.integer({ min: 0, max: 0xdd }),
    fc.array(fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x09)), { maxLength: 40 }),
    fc.integer({ min: 0, max: 0xdd }),
  )
  .map(([first, middle, last]) => {
    // Visible ASCII (0x21–0x7e, 94 codes) or obs-text (0x80–0xff, 128 codes) from one range of 222.
    const visible = (n: number): number => (n < 0x5e ? 0x21 + n : 0x80 + (n - 0x5e));
    return Buffer.from([visible(first), ...middle, visible(last)]).toString('latin1');
  });

const UPGRADE = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';

/**
 * Header bytes survive a trip through the gateway unchanged, both ways: to the upstream
 * (a byte-logging one) and back from it, on plain requests, WebSocket handshakes that are
 * switched, and handshakes the upstream refuses.
 */
describe('header bytes through the gateway', () => {
  let upstream: ByteLoggingUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    upstream = await startByteLoggingUpstream(
      (req, res) => {
        req.resume();
        // Echoed as node:http writes a Latin-1 header string: the very bytes it was sent. The
        // body is a Buffer: node:http writes the head together with a first string chunk in
        // that chunk's encoding (UTF-8), which would re-encode the head.
        res.setHeader('x-echo', req.headers['x-bytes'] ?? '');
        res.end(Buffer.from('ok'));
      },
      (req, socket) => {
        const echo = Buffer.from(String(req.headers['x-bytes'] ?? ''), 'latin1');
        if (req.url?.startsWith('/v1/refused') === true) {
          socket.end(Buffer.concat([Buffer.from('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nx-echo: '), echo, Buffer.from('\r\n\r\n')]));
          return;
        }
        socket.write(Buffer.concat([Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nx-echo: '), echo, Buffer.from('\r\n\r\n')]));
        socket.end();
      },
    );
    gw = await startGateway(upstream.url);
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  let n = 0;
  async function roundTrip(value: string, kind: 'plain' | 'post' | 'upgrade' | 'refused'): Promise<{ sent: boolean; echoed: boolean }> {
    const path = `/v1/${kind === 'refused' ? 'refused' : 'bytes'}-${++n}`;
    const request =
      kind === 'post'
        ? `POST ${path} HTTP/1.1\r\nHost: chat.example.test\r\nX-Bytes: ${value}\r\nContent-Length: 2\r\n\r\nhi`
        : `GET ${path} HTTP/1.1\r\nHost: chat.example.test\r\nX-Bytes: ${value}\r\n${kind === 'plain' ? '' : UPGRADE}\r\n`;
    const answer = await rawExchange(gw.port, Buffer.from(request, 'latin1'), 2000);
    const field = Buffer.from(`\r\nx-bytes: ${value}\r\n`, 'latin1');
    const echo = Buffer.from(`\r\nx-echo: ${value}\r\n`, 'latin1');
    const head = Buffer.from(answer.raw, 'latin1');
    return { sent: upstream.saw(Buffer.concat([Buffer.from(`${path} HTTP/1.1`), Buffer.from('\r\n')])) && upstream.saw(field), echoed: head.includes(echo) };
  }

  it.each(['plain', 'post', 'upgrade', 'refused'] as const)('carries any field value byte for byte, both ways (%s, property)', async (kind) => {
    await fc.assert(
      fc.asyncProperty(fieldValue, async (value) => {
        const { sent, echoed } = await roundTrip(value, kind);
        return sent && echoed;
      }),
      { numRuns: 60 },
    );
  });

  it('carries 0xE9 0xFF to the upstream and back as those two bytes', async () => {
    const value = Buffer.from([0x61, 0xe9, 0xff, 0x62]).toString('latin1');
    for (const kind of ['plain', 'post', 'upgrade', 'refused'] as const) expect(await roundTrip(value, kind)).toEqual({ sent: true, echoed: true });
  });
});
