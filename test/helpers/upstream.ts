import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { waitFor, WAIT_MS } from './deadline';
import { closeServer, listenLocal } from './listen';

/** Waits for the next item handed to a queue of waiters, leaving the queue if the deadline passes. */
export function nextFrom<T>(waiting: ((item: T) => void)[], what: string, ms = WAIT_MS): Promise<T> {
  return waitFor<T>(
    what,
    (done) => {
      waiting.push(done);
      return () => {
        const at = waiting.indexOf(done);
        if (at !== -1) waiting.splice(at, 1);
      };
    },
    ms,
  );
}

/**
 * The path the test gateways probe (`startGateway`/`gatewayOptions` set it), kept apart from
 * every path a test proxies. The upstream helpers answer it themselves, healthy, and never
 * hand it to the test's handler nor record it: `requests`, `connections` and
 * `nextRequest()`/`nextConnection()` see proxied traffic only.
 */
export const PROBE_PATH = '/__gateway_probe';

const PROBE_BODY = '{"status":"healthy"}';

/** True for the gateway's health probe (`GET {PROBE_PATH}`). */
export function isProbe(req: IncomingMessage): boolean {
  return req.method === 'GET' && (req.url === PROBE_PATH || req.url?.startsWith(`${PROBE_PATH}?`) === true);
}

/** Answers the probe with `200 {"status":"healthy"}` when `req` is one; returns whether it was. */
export function answerProbe(req: IncomingMessage, res: ServerResponse): boolean {
  if (!isProbe(req)) return false;
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(PROBE_BODY);
  return true;
}

/** A real HTTP upstream on 127.0.0.1:0 that records what reached it. */
export interface TestUpstream {
  readonly server: Server;
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Every request that reached the upstream, in arrival order (the gateway's probes excepted). */
  readonly requests: IncomingMessage[];
  /** How many health probes the upstream answered (they are not in `requests`). */
  readonly probes: number;
  /** Resolves with the next request that arrives; rejects after `ms` (default {@link WAIT_MS}). */
  nextRequest(ms?: number): Promise<IncomingMessage>;
  close(): Promise<void>;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Starts an upstream answering with `handler` (and answering the gateway's probes itself). */
export async function startUpstream(handler: UpstreamHandler): Promise<TestUpstream> {
  const requests: IncomingMessage[] = [];
  const waiting: ((req: IncomingMessage) => void)[] = [];
  let probes = 0;
  const server = createServer((req, res) => {
    if (answerProbe(req, res)) return void probes++;
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
    get probes() {
      return probes;
    },
    nextRequest: (ms?: number) => nextFrom(waiting, `the next request to the upstream (${requests.length} so far)`, ms),
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
  /** Connections accepted so far, the gateway's probe connections excepted. */
  readonly connections: Socket[];
  /** How many health probes the upstream answered (their connections are not in `connections`). */
  readonly probes: number;
  /** Resolves with the next accepted connection (never a probe's). */
  nextConnection(ms?: number): Promise<Socket>;
  close(): Promise<void>;
}

const PROBE_REQUEST_LINE = Buffer.from(`GET ${PROBE_PATH} HTTP/1.1\r\n`);
const PROBE_RESPONSE = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${PROBE_BODY.length}\r\nconnection: close\r\n\r\n${PROBE_BODY}`;

/**
 * Reads a new connection's first bytes (the gateway writes a request as soon as it has
 * connected) to tell the gateway's probe from proxied traffic: a probe is answered and
 * closed here; anything else is put back unread and handed to `proxied`.
 */
function sniffProbe(socket: Socket, probed: () => void, proxied: () => void): void {
  let seen = Buffer.alloc(0);
  const stop = (): void => {
    socket.off('readable', onReadable);
    socket.off('end', onEnd);
  };
  // Closed by the gateway before a whole request line came: not a probe (a probe always writes one).
  const onEnd = (): void => {
    stop();
    proxied();
  };
  const onReadable = (): void => {
    let chunk: Buffer | null;
    while ((chunk = socket.read() as Buffer | null) !== null) seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, PROBE_REQUEST_LINE.length);
    const couldBeProbe = seen.subarray(0, n).equals(PROBE_REQUEST_LINE.subarray(0, n));
    if (couldBeProbe && seen.length < PROBE_REQUEST_LINE.length) return;
    stop();
    if (couldBeProbe) {
      socket.resume();
      socket.end(PROBE_RESPONSE);
      probed();
      return;
    }
    socket.unshift(seen);
    proxied();
  };
  socket.on('readable', onReadable);
  socket.once('end', onEnd);
}

/**
 * A TCP server that accepts and then does `onConnection` (nothing: a silent upstream;
 * `socket.resetAndDestroy()`: a resetting one). A connection is handed over (and counted)
 * once its first bytes show it is not the gateway's health probe, which is answered
 * healthy here; those bytes are put back, so `onConnection` still reads the whole request.
 */
export async function startRawUpstream(onConnection: (socket: Socket) => void): Promise<RawUpstream> {
  const connections: Socket[] = [];
  const accepted = new Set<Socket>();
  const waiting: ((socket: Socket) => void)[] = [];
  let probes = 0;
  const server: NetServer = createNetServer((socket) => {
    accepted.add(socket);
    socket.once('close', () => accepted.delete(socket));
    socket.on('error', () => undefined);
    sniffProbe(
      socket,
      () => probes++,
      () => {
        connections.push(socket);
        waiting.shift()?.(socket);
        onConnection(socket);
      },
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connections,
    get probes() {
      return probes;
    },
    nextConnection: (ms?: number) => nextFrom(waiting, `the next connection to the raw upstream (${connections.length} so far)`, ms),
    close: async () => {
      for (const socket of accepted) socket.destroy();
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
