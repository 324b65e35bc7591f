import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { closeServer, listenLocal } from './listen';

/** A real HTTP upstream on 127.0.0.1:0 that records what reached it. */
export interface TestUpstream {
  readonly server: Server;
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Every request that reached the upstream, in arrival order. */
  readonly requests: IncomingMessage[];
  /** Resolves with the next request that arrives. */
  nextRequest(): Promise<IncomingMessage>;
  close(): Promise<void>;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Starts an upstream answering with `handler`. */
export async function startUpstream(handler: UpstreamHandler): Promise<TestUpstream> {
  const requests: IncomingMessage[] = [];
  const waiting: ((req: IncomingMessage) => void)[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    waiting.shift()?.(req);
    handler(req, res);
  });
  const port = await listenLocal(server);
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    nextRequest: () => new Promise((resolve) => waiting.push(resolve)),
    close: () => closeServer(server),
  };
}

/** Reads a whole request or response body. */
export async function readBody(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A raw TCP upstream: what it does with each connection is up to the test. */
export interface RawUpstream {
  readonly url: string;
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: Socket[];
  /** Resolves with the next accepted connection. */
  nextConnection(): Promise<Socket>;
  close(): Promise<void>;
}

/**
 * A TCP server that accepts and then does `onConnection` (nothing: a silent upstream;
 * `socket.resetAndDestroy()`: a resetting one).
 */
export async function startRawUpstream(onConnection: (socket: Socket) => void): Promise<RawUpstream> {
  const connections: Socket[] = [];
  const waiting: ((socket: Socket) => void)[] = [];
  const server: NetServer = createNetServer((socket) => {
    connections.push(socket);
    socket.on('error', () => undefined);
    waiting.shift()?.(socket);
    onConnection(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connections,
    nextConnection: () => new Promise((resolve) => waiting.push(resolve)),
    close: async () => {
      for (const socket of connections) socket.destroy();
      const closed = once(server, 'close');
      server.close();
      await closed;
    },
  };
}

/** An upstream address where nothing listens (a port bound, noted and released). */
export async function refusingUpstreamUrl(): Promise<string> {
  const server = createNetServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const closed = once(server, 'close');
  server.close();
  await closed;
  return `http://127.0.0.1:${port}`;
}
