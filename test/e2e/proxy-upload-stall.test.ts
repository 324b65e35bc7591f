import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { pollUntil, waitFor } from '../helpers/deadline';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { startUpstream, type TestUpstream } from '../helpers/upstream';

const TIMEOUT_MS = 800;
const BLOCK = Buffer.alloc(64 * 1024, 's');

/**
 * An upstream that takes an upload's headers and then reads nothing and answers nothing.
 * The kernel's buffers fill on both hops, the gateway stops reading from the client, and
 * from then on a client that leaves cannot be seen: its FIN waits behind its own unsent
 * bytes. What bounds the upstream connection is `proxy.timeoutMs` without upload progress.
 */
describe('an upload the upstream never reads', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  /** The sockets this process opens as a client: the gateway's to the upstream among them. */
  const clientSockets: Socket[] = [];
  const onClientSocket = (message: unknown): void => void clientSockets.push((message as { socket: Socket }).socket);
  const toUpstream = (): Socket[] => clientSockets.filter((s) => s.remotePort === upstream.port && !s.destroyed);

  beforeAll(async () => {
    subscribe('net.client.socket', onClientSocket);
    upstream = await startUpstream((req) => req.pause());
    gw = await startGateway(upstream.url, { proxy: { timeoutMs: TIMEOUT_MS } });
  });
  afterAll(async () => {
    unsubscribe('net.client.socket', onClientSocket);
    await gw.close();
    await upstream.close();
  });

  /** Starts a chunked upload that writes until the client's socket stops taking more. */
  function stalledUpload(): { response: Promise<IncomingMessage>; stalled: Promise<void>; leave: () => void } {
    const req = request(`${gw.url}/v1/messages`, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } });
    const response = new Promise<IncomingMessage>((resolve, reject) => req.on('response', resolve).on('error', reject));
    response.catch(() => undefined);
    let lastDrain = Date.now();
    const pump = (): void => {
      lastDrain = Date.now();
      while (req.write(BLOCK));
    };
    req.on('drain', pump);
    pump();
    // Stalled: the socket has wanted a drain for a while (the kernel's buffers on both hops are full).
    const stalled = waitFor<void>('the client stalling on backpressure', (done) => {
      const check = setInterval(() => req.writableNeedDrain && Date.now() - lastDrain > 300 && done(), 50);
      return () => clearInterval(check);
    });
    return { response, stalled, leave: () => (req.off('drain', pump), req.destroy()) };
  }

  it('answers 504 once proxy.timeoutMs passes with no upload progress, and closes its upstream connection', async () => {
    const upload = stalledUpload();
    try {
      await upload.stalled;
      const res = await upload.response;
      expect(res.statusCode).toBe(504);
      await pollUntil(
        () => toUpstream().length === 0,
        () => `${toUpstream().length} gateway sockets to the upstream still open`,
      );
    } finally {
      upload.leave();
    }
  });

  it('closes its upstream connection by proxy.timeoutMs when the client left behind its own unsent bytes', async () => {
    const before = clientSockets.length;
    const upload = stalledUpload();
    try {
      await upload.stalled;
      await pollUntil(
        () => clientSockets.slice(before).some((s) => s.remotePort === upstream.port),
        () => 'the gateway connecting to the upstream',
      );
    } finally {
      upload.leave();
    }
    await pollUntil(
      () => toUpstream().length === 0,
      () => `${toUpstream().length} gateway sockets to the upstream still open`,
    );
  });
});
