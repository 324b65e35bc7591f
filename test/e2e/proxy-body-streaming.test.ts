import { createHash } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { pollUntil, waitFor, withDeadline } from '../helpers/deadline';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { readBody, startUpstream, type TestUpstream } from '../helpers/upstream';

const MiB = 1024 * 1024;
const TOTAL = 10 * MiB;
const BLOCK = Buffer.alloc(64 * 1024, 'b');

/** Bytes of the body a stream-through gateway may hold at once: a few socket reads (64 KiB each), not the body. */
const HELD_AT_MOST = 4 * 64 * 1024;

/**
 * A 10 MiB upload through the gateway to an upstream that does not read, then reads slowly:
 * the gateway must pass the body on as it comes, with backpressure, and never take in the
 * whole of it. What the gateway holds is what it has read from the client less what it has
 * handed to the kernel on its connections to the upstream (the kernel's own buffers, up to
 * `tcp_wmem` on a loopback sender, are not the gateway's memory); a gateway that buffered the
 * body would read all 10 MiB while the upstream read nothing.
 */
describe('a 10 MiB request body is streamed, never held', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  /** The gateway's side of the client connection. */
  let clientSide: Socket | undefined;
  let held: IncomingMessage | undefined;
  let answer: ((body: string) => void) | undefined;
  /** Client sockets this process opens: the gateway's to the upstream among them. */
  const clientSockets: Socket[] = [];
  const onClientSocket = (message: unknown): void => void clientSockets.push((message as { socket: Socket }).socket);
  /** Body bytes the gateway has read and not yet handed to the kernel towards the upstream. */
  const heldByGateway = (): number => {
    const toUpstream = clientSockets.filter((s) => s.remotePort === upstream.port);
    return clientSide!.bytesRead - toUpstream.reduce((sum, s) => sum + s.bytesWritten - s.writableLength, 0);
  };

  beforeAll(async () => {
    subscribe('net.client.socket', onClientSocket);
    upstream = await startUpstream((req, res) => {
      // Not read yet: the test reads it when it has looked at the gateway.
      req.pause();
      held = req;
      answer = (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    gw = await startGateway(upstream.url);
    gw.server.on('connection', (socket: Socket) => (clientSide = socket));
  });
  afterAll(async () => {
    unsubscribe('net.client.socket', onClientSocket);
    await gw.close();
    await upstream.close();
  });

  it('stops reading from the client while the upstream does not read, and delivers every byte once it does', async () => {
    let written = 0;
    let stalled = false;
    const req: ClientRequest = request(`${gw.url}/v1/messages`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(TOTAL) },
    });
    const response = withDeadline(new Promise<IncomingMessage>((resolve, reject) => req.on('response', resolve).on('error', reject)), 'the answer to the upload', 60_000);
    // Awaited below; a test that fails before then must not leave it unhandled.
    response.catch(() => undefined);
    // The client writes as fast as it is allowed to: one block whenever its socket takes more.
    const pump = (): void => {
      while (written < TOTAL) {
        written += BLOCK.length;
        const more = written < TOTAL ? req.write(BLOCK) : (req.end(BLOCK), true);
        if (!more) {
          stalled = true;
          req.once('drain', () => ((stalled = false), pump()));
          return;
        }
      }
    };
    pump();
    try {
      await streamsThrough();
    } finally {
      req.destroy();
    }

    async function streamsThrough(): Promise<void> {
      // The upstream has the request and reads none of it: the gateway's backpressure reaches the
      // client. The gateway pauses its side of the connection, and the client's writes stall.
      await pollUntil(
        () => held !== undefined && clientSide !== undefined && clientSide.isPaused() && stalled,
        () => `the gateway pausing the client (written ${written}, paused ${clientSide?.isPaused()})`,
        20_000,
      );
      const gatewayRead = clientSide!.bytesRead;
      const heldAtStall = heldByGateway();
      expect(written).toBeLessThan(TOTAL);
      expect(gatewayRead).toBeLessThan(TOTAL);
      expect(heldAtStall).toBeLessThan(HELD_AT_MOST);

      // Now the upstream reads, one chunk per turn of the event loop, and hashes what it gets.
      const hash = createHash('sha256');
      let received = 0;
      let mostHeld = heldAtStall;
      const source = held!;
      await waitFor<void>(
        'the upstream reading the whole body',
        (done, fail) => {
          const onData = (chunk: Buffer): void => {
            received += chunk.length;
            hash.update(chunk);
            mostHeld = Math.max(mostHeld, heldByGateway());
            source.pause();
            setImmediate(() => source.resume());
          };
          source.on('data', onData).once('end', done).once('error', fail);
          source.resume();
          return () => source.off('data', onData);
        },
        60_000,
      );
      answer!(JSON.stringify({ received, sha256: hash.digest('hex') }));

      const res = await response;
      expect(res.statusCode).toBe(200);
      const expected = createHash('sha256');
      for (let i = 0; i < TOTAL / BLOCK.length; i++) expected.update(BLOCK);
      expect(JSON.parse((await readBody(res)).toString())).toEqual({ received: TOTAL, sha256: expected.digest('hex') });
      // While the upstream read slowly, the gateway never held more than a few chunks of it.
      expect(mostHeld).toBeLessThan(HELD_AT_MOST);
    }
  }, 90_000);
});
