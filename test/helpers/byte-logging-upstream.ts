import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { closeServer, listenLocal } from './listen';
import { answerProbe } from './upstream';

/**
 * A real HTTP upstream behind a byte-logging tap: the gateway connects to the tap, which
 * records every byte it receives and passes it on unchanged to a node:http server. What
 * the upstream was sent is known to the byte, with nothing in between that parses it.
 */
export interface ByteLoggingUpstream {
  /** `http://127.0.0.1:PORT` of the tap (what the gateway is pointed at). */
  readonly url: string;
  /** Every byte received so far, all connections in order of arrival (probes included). */
  bytes(): Buffer;
  /** True when `marker` appears in what was received. */
  saw(marker: string | Buffer): boolean;
  /** Connections the tap holds open now. */
  readonly openConnections: number;
  close(): Promise<void>;
}

export type ByteLoggingHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** What the upstream does with an upgrade request (default: a bare 101 and an open socket). */
export type ByteLoggingUpgrade = (req: IncomingMessage, socket: Duplex) => void;

export async function startByteLoggingUpstream(handler: ByteLoggingHandler, onUpgrade?: ByteLoggingUpgrade): Promise<ByteLoggingUpstream> {
  const server = createServer((req, res) => {
    if (!answerProbe(req, res)) handler(req, res);
  });
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    // Upgraded sockets leave node:http's bookkeeping: closeAllConnections() does not see them.
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    socket.on('error', () => undefined);
    socket.on('end', () => socket.end());
    if (onUpgrade) onUpgrade(req, socket);
    else socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  });
  const serverPort = await listenLocal(server);
  const received: Buffer[] = [];
  const open = new Set<Socket>();
  const tap = createNetServer((client) => {
    open.add(client);
    const upstream = connect(serverPort, '127.0.0.1');
    const gone = (): void => {
      open.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', gone).on('close', gone);
    upstream.on('error', gone).on('close', gone);
    client.on('data', (chunk: Buffer) => received.push(chunk));
    client.pipe(upstream).pipe(client);
  });
  tap.listen(0, '127.0.0.1');
  await once(tap, 'listening');
  const port = (tap.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    bytes: () => Buffer.concat(received),
    saw: (marker) => Buffer.concat(received).includes(marker),
    get openConnections() {
      return open.size;
    },
    close: async () => {
      for (const socket of open) socket.destroy();
      for (const socket of upgraded) socket.destroy();
      const closed = once(tap, 'close');
      tap.close();
      await closed;
      await closeServer(server);
    },
  };
}
