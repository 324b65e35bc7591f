import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { closeServer, listenLocal } from './listen';
import { waitFor, WAIT_MS } from './deadline';
import { answerProbe, nextFrom } from './upstream';

/** A WebSocket connection as the upstream saw it. */
export interface UpstreamSocket {
  readonly ws: WebSocket;
  readonly request: IncomingMessage;
}

/**
 * A real WebSocket upstream: echoes every message back with its type, refuses without `Bearer good`.
 * Plain HTTP requests go to `httpHandler` (default: `plain http`), except the gateway's
 * health probe, which it answers itself (see `PROBE_PATH`).
 */
export interface WsUpstream {
  readonly server: Server;
  readonly url: string;
  readonly connections: UpstreamSocket[];
  /** Resolves with the next WebSocket the upstream accepts; rejects after `ms` (default {@link WAIT_MS}). */
  nextConnection(ms?: number): Promise<UpstreamSocket>;
  close(): Promise<void>;
}

export async function startWsUpstream(httpHandler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end('plain http')): Promise<WsUpstream> {
  const connections: UpstreamSocket[] = [];
  const waiting: ((c: UpstreamSocket) => void)[] = [];
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (protocols.has('cryptid.v1') ? 'cryptid.v1' : false) });
  const server = createServer((req, res) => {
    if (!answerProbe(req, res)) httpHandler(req, res);
  });
  server.on('upgrade', (req, socket, head) => {
    if (req.headers.authorization !== 'Bearer good') {
      const body = '{"error":"DEVICE_NOT_ANNOUNCED","message":"invalid token","code":4002}';
      socket.end(`HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nx-upstream: refused\r\n\r\n${body}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = { ws, request: req };
      connections.push(connection);
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      waiting.shift()?.(connection);
    });
  });
  const port = await listenLocal(server);
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    connections,
    nextConnection: (ms?: number) => nextFrom(waiting, `the next WebSocket connection to the upstream (${connections.length} so far)`, ms),
    close: async () => {
      for (const { ws } of connections) ws.terminate();
      wss.close();
      await closeServer(server);
    },
  };
}

/** Opens a client WebSocket and resolves once it is open (rejects on any refusal, and after `ms`, closing the socket). */
export function openWs(url: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}, ms = WAIT_MS): Promise<WebSocket> {
  const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} });
  return waitFor(
    `the WebSocket handshake with ${url}`,
    (done, fail) => {
      ws.once('open', () => done(ws));
      ws.once('error', fail);
      ws.once('unexpected-response', (_req, res) => fail(new Error(`unexpected response ${res.statusCode ?? 0}`)));
      return () => {
        if (ws.readyState !== WebSocket.OPEN) ws.terminate();
      };
    },
    ms,
  );
}

/** The HTTP answer a refused handshake got: status, headers and body. */
export function refusedHandshake(
  url: string,
  headers: Record<string, string> = {},
  ms = WAIT_MS,
): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  const ws = new WebSocket(url, { headers });
  let answered = false;
  return waitFor(
    `a refused WebSocket handshake with ${url}`,
    (done, fail) => {
      ws.once('open', () => fail(new Error('the handshake succeeded')));
      ws.once('error', fail);
      ws.once('unexpected-response', (_req, res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', fail);
      });
      // Only a handshake still waiting at the deadline (or one that opened) is cut here.
      return () => {
        if (!answered) ws.terminate();
      };
    },
    ms,
  );
}

/** Resolves with the next message (data and whether it was binary); rejects after `ms`. */
export function nextMessage(ws: WebSocket, ms = WAIT_MS): Promise<{ data: Buffer; isBinary: boolean }> {
  return waitFor(
    `the next WebSocket message (${ws.url})`,
    (done) => {
      const onMessage = (data: Buffer, isBinary: boolean): void => done({ data, isBinary });
      ws.once('message', onMessage);
      return () => ws.off('message', onMessage);
    },
    ms,
  );
}

/** Resolves with the close code and reason; rejects after `ms`, naming the state the socket is in. */
export function closeOf(ws: WebSocket, ms = WAIT_MS): Promise<{ code: number; reason: string }> {
  return waitFor(
    () => `the WebSocket close (${ws.url}; readyState ${ws.readyState})`,
    (done) => {
      const onClose = (code: number, reason: Buffer): void => done({ code, reason: reason.toString() });
      ws.once('close', onClose);
      return () => ws.off('close', onClose);
    },
    ms,
  );
}
