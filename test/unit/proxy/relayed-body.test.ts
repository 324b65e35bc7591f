import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RelayedBody } from '../../../src/proxy/relayed-body';

const CHUNK = 64 * 1024;
const CHUNKS = 4;

/** A server that hands each request body to `onBody` as a RelayedBody, and a client that uploads CHUNKS × 64 KiB, 30 ms apart. */
async function upload(onBody: (relay: RelayedBody, req: IncomingMessage) => Promise<number>): Promise<number> {
  let answer: (received: number) => void;
  const received = new Promise<number>((resolve) => (answer = resolve));
  const server: Server = createServer((req, res) => {
    void onBody(new RelayedBody(req), req).then((n) => {
      res.end();
      answer(n);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { 'content-length': CHUNK * CHUNKS } });
    const answered = new Promise<void>((resolve, reject) => {
      req.on('response', (res) => res.resume().on('end', resolve));
      req.on('error', reject);
    });
    for (let i = 0; i < CHUNKS; i++) {
      req.write(Buffer.alloc(CHUNK, i));
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    req.end();
    await answered;
    return await received;
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('RelayedBody', () => {
  it('pauses the request as soon as its reader pauses: a paused relay buffers nothing', async () => {
    // undici pauses the body when its socket write returns false and resumes it on 'drain':
    // the chunks the client sends meanwhile wait in the request (and the kernel), not in a
    // second buffer here, so the gateway holds one read fewer per upload.
    const seen: Array<{ buffered: number; requestPaused: boolean }> = [];
    const total = await upload(
      (relay, req) =>
        new Promise((resolve) => {
          let bytes = 0;
          relay.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            relay.pause();
            // Long enough for the client's next 64 KiB to arrive.
            setTimeout(() => {
              seen.push({ buffered: relay.readableLength, requestPaused: req.isPaused() });
              relay.resume();
            }, 60);
          });
          relay.on('end', () => resolve(bytes));
        }),
    );
    expect(total).toBe(CHUNK * CHUNKS);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen).toEqual(seen.map(() => ({ buffered: 0, requestPaused: true })));
  });

  it('passes every byte on, in order, to a reader that never pauses', async () => {
    const total = await upload(
      (relay) =>
        new Promise((resolve) => {
          const parts: Buffer[] = [];
          relay.on('data', (chunk: Buffer) => parts.push(chunk));
          relay.on('end', () => {
            const all = Buffer.concat(parts);
            const inOrder = Array.from({ length: CHUNKS }, (_, i) => all.subarray(i * CHUNK, (i + 1) * CHUNK).every((b) => b === i)).every(Boolean);
            resolve(inOrder ? all.length : -1);
          });
        }),
    );
    expect(total).toBe(CHUNK * CHUNKS);
  });
});
