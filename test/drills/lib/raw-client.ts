import { connect, type TLSSocket } from 'node:tls';

/** What a raw connection got back for what it sent. */
export interface RawAnswer {
  /** The status code of the first response line, 0 when none came. */
  readonly status: number;
  /** The server closed (or reset) the connection. */
  readonly closed: boolean;
}

/** Opens a TLS connection to the gateway on 127.0.0.1 (trusting `ca`, name `localhost`). */
export function openTls(port: number, ca: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with the first status line and whether the server closed, as soon as either is known; `waitMs` bounds it. */
export function answerOf(socket: TLSSocket, waitMs: number): Promise<RawAnswer & { timedOut: boolean }> {
  return new Promise((resolve) => {
    let data = '';
    let status = 0;
    const done = (closed: boolean, timedOut: boolean): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve({ status, closed, timedOut });
    };
    const onData = (chunk: Buffer): void => {
      data += chunk.toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      if (match) status = Number(match[1]);
      // A whole answer head: the status is known; whether the server then closes does not matter.
      if (match && data.includes('\r\n\r\n')) done(socket.destroyed, false);
    };
    const timer = setTimeout(() => done(false, true), waitMs);
    socket.on('data', onData);
    socket.once('close', () => done(true, false));
    socket.on('error', () => undefined);
    if (socket.destroyed) done(true, false);
  });
}

/** Sends `bytes` on a fresh TLS connection and reports the answer (the socket is destroyed after). */
export async function hostileExchange(port: number, ca: string, bytes: Buffer, waitMs: number): Promise<RawAnswer & { timedOut: boolean }> {
  const socket = await openTls(port, ca);
  const answer = answerOf(socket, waitMs);
  socket.write(bytes);
  try {
    return await answer;
  } finally {
    socket.destroy();
  }
}
