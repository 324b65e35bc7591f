import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { closeServer, listenLocal } from './listen';
import { answerProbe } from './upstream';

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
  nextConnection(): Promise<UpstreamSocket>;
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
    nextConnection: () => new Promise((resolve) => waiting.push(resolve)),
    close: async () => {
      for (const { ws } of connections) ws.terminate();
      wss.close();
      await closeServer(server);
    },
  };
}

/** Opens a client WebSocket and resolves once it is open (rejects on any refusal). */
export function openWs(url: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode ?? 0}`)));
  });
}

/** The HTTP answer a refused handshake got: status, headers and body. */
export function refusedHandshake(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => reject(new Error('the handshake succeeded')));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
  });
}

/** Resolves with the next message (data and whether it was binary). */
export function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })));
}

/** Resolves with the close code and reason. */
export function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}
