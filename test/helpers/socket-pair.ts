import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { waitFor, WAIT_MS } from './deadline';
import { listenLocal } from './listen';

/**
 * Two ends of one real TCP connection over loopback: `near` is the accepted end, `far` the
 * connecting one. The listener is closed once the connection is made.
 */
export async function socketPair(): Promise<{ near: Socket; far: Socket }> {
  const server = createServer();
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const port = await listenLocal(server);
  const far = connect(port, '127.0.0.1');
  const [[near]] = await Promise.all([accepted, once(far, 'connect')]);
  server.close();
  return { near, far };
}

/** Everything `socket` receives until its peer ends it; rejects after `ms`, saying how much came. */
export function readToEnd(socket: Socket, ms = WAIT_MS): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const onData = (chunk: Buffer): void => void chunks.push(chunk);
  socket.on('data', onData);
  return waitFor(
    () => `the end of the stream (${Buffer.concat(chunks).length} bytes so far)`,
    (done) => {
      const onEnd = (): void => done(Buffer.concat(chunks));
      socket.once('end', onEnd);
      return () => {
        socket.off('data', onData);
        socket.off('end', onEnd);
      };
    },
    ms,
  );
}

/** Resolves once `socket` has received `n` bytes (counting from now) and returns them; rejects after `ms`. */
export function readBytes(socket: Socket, n: number, ms = WAIT_MS): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  return waitFor(
    () => `${n} bytes (${got} came)`,
    (done) => {
      const onData = (chunk: Buffer): void => {
        chunks.push(chunk);
        got += chunk.length;
        if (got >= n) done(Buffer.concat(chunks));
      };
      socket.on('data', onData);
      return () => socket.off('data', onData);
    },
    ms,
  );
}

/** Resolves when `socket` has closed (at once if it already has); rejects after `ms`. */
export function closedOf(socket: Socket, what: string, ms = WAIT_MS): Promise<void> {
  return waitFor(
    () => `${what} closing (destroyed: ${socket.destroyed}, readable ended: ${socket.readableEnded})`,
    (done) => {
      if (socket.closed) return done();
      const onClose = (): void => done();
      socket.once('close', onClose);
      return () => socket.off('close', onClose);
    },
    ms,
  );
}
