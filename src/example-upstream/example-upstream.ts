/**
 * EXAMPLE ONLY — not part of the gateway. A tiny Cryptid-like server for the demo
 * (`npm start`) and for tests: just enough of the protocol to watch a message travel
 * through the gateway. No signatures, no MLS, no persistence, no rate limits.
 *
 * - `GET  /v1/health`    → `{status: "healthy", …}`
 * - `POST /v1/announce`  → `{access_token, token_type: "Bearer", delivery_address}`
 * - `POST /v1/messages`  (Bearer) `{recipient_address, ciphertext}` → 202 `{message_id, status: "queued", delivery_estimate}`
 * - `GET  /v1/stream`    WebSocket (Bearer in `Authorization`, or `?access_token=` for
 *   browsers and wscat): queued messages, then live ones, as JSON text frames.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { Mailbox } from './mailbox';
import { HEALTH_PATH, STREAM_PATH } from '../protocol/paths';

/** Where the example upstream listens. */
export interface ExampleUpstreamOptions {
  /** @default "127.0.0.1" */
  host?: string;
  /** @default 0 (any free port) */
  port?: number;
  /** Domain part of the delivery addresses it hands out. @default "example.test" */
  domain?: string;
}

/** A running example upstream. */
export interface ExampleUpstream {
  /** `http://HOST:PORT` */
  readonly url: string;
  readonly port: number;
  /** Stops listening and drops every connection and stream. */
  close(): Promise<void>;
}

/** The example's own bodies are small; the gateway's limit is what the tests exercise. */
const MAX_BODY = 1024 * 1024;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

const ERRORS = {
  unauthorized: [401, { error: 'DEVICE_NOT_ANNOUNCED', message: 'Missing or unknown bearer token', code: 4002 }],
  badAddress: [400, { error: 'INVALID_ADDRESS', message: 'Unknown recipient_address', code: 4005 }],
  badRequest: [400, { error: 'INVALID_REQUEST', message: 'Expected a JSON body' }],
  tooLarge: [413, { error: 'MESSAGE_TOO_LARGE', message: 'Message too large', code: 4003 }],
  notFound: [404, { error: 'ENDPOINT_NOT_FOUND', message: 'No such endpoint' }],
} as const;

function fail(res: ServerResponse, kind: keyof typeof ERRORS): void {
  const [status, body] = ERRORS[kind];
  send(res, status, body);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | 'tooLarge' | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return 'tooLarge';
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  return new URL(req.url ?? '/', 'http://x').searchParams.get('access_token') ?? undefined;
}

/** Starts the example upstream. */
export async function startExampleUpstream(options: ExampleUpstreamOptions = {}): Promise<ExampleUpstream> {
  const started = Date.now();
  const domain = options.domain ?? 'example.test';
  const mailbox = new Mailbox();
  const wss = new WebSocketServer({ noServer: true });
  const server = createServer((req, res) => answer(req, res, { mailbox, domain, started }));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => openStream(req, socket, head, mailbox, wss));
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

interface ServerState {
  readonly mailbox: Mailbox;
  readonly domain: string;
  readonly started: number;
}

/** The HTTP routes: health, announce, send; anything else 404. */
function answer(req: IncomingMessage, res: ServerResponse, state: ServerState): void {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (req.method === 'GET' && path === HEALTH_PATH) {
    req.resume();
    const now = Date.now();
    return send(res, 200, { status: 'healthy', timestamp: Math.floor(now / 1000), version: 'example', uptime: Math.floor((now - state.started) / 1000) });
  }
  if (req.method === 'POST' && path === '/v1/announce') {
    req.resume();
    return send(res, 200, { ...state.mailbox.announce(state.domain), token_type: 'Bearer' });
  }
  if (req.method === 'POST' && path === '/v1/messages') return sendMessage(req, res, state.mailbox);
  req.resume();
  fail(res, 'notFound');
}

/** `POST /v1/messages`: queued for the recipient, 202. */
function sendMessage(req: IncomingMessage, res: ServerResponse, mailbox: Mailbox): void {
  const sender = mailbox.deviceOf(bearer(req));
  if (!sender) {
    req.resume();
    return fail(res, 'unauthorized');
  }
  void readJson(req).then(
    (body) => {
      if (body === 'tooLarge') return fail(res, 'tooLarge');
      if (body === undefined) return fail(res, 'badRequest');
      const recipient = body.recipient_address;
      if (typeof recipient !== 'string' || !mailbox.knows(recipient)) return fail(res, 'badAddress');
      const message = mailbox.send(sender, recipient, body.ciphertext ?? null);
      send(res, 202, { message_id: message.message_id, status: 'queued', delivery_estimate: 'immediate' });
    },
    () => res.destroy(),
  );
}

/** `GET /v1/stream` (WebSocket): the device's messages as they arrive. */
function openStream(req: IncomingMessage, socket: Duplex, head: Buffer, mailbox: Mailbox, wss: WebSocketServer): void {
  socket.on('error', () => undefined);
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const device = mailbox.deviceOf(bearer(req));
  if (path !== STREAM_PATH || !device) {
    const [status, body] = path !== STREAM_PATH ? ERRORS.notFound : ERRORS.unauthorized;
    const text = JSON.stringify(body);
    socket.end(
      `HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Unauthorized'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
    );
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    const stop = mailbox.subscribe(device.delivery_address, (message) => ws.send(JSON.stringify(message)));
    ws.on('close', stop);
    ws.on('error', stop);
  });
}
