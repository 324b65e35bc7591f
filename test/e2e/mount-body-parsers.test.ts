import { randomBytes } from 'node:crypto';
import express5 from 'express';
import compression from 'compression';
import cors from 'cors';
import helmet from 'helmet';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createGateway, type Gateway, type GatewayOptions } from '../../src';
import { express4 } from '../helpers/express4';
import { gatewayOptions } from '../helpers/gateway';
import { untilStatus } from '../helpers/healthy-upstream';
import { testRequest, type TestResponse } from '../helpers/http-request';
import { closeServer, listenLocal } from '../helpers/listen';
import { captureLog, type CapturedLog } from '../helpers/log-capture';
import { sha256, startRecordingUpstream, type ReceivedBody, type RecordingUpstream } from '../helpers/recording-upstream';

type Mode = NonNullable<NonNullable<GatewayOptions['proxy']>['parsedBody']>;
type Express = typeof express5;

const JSON_BODY = '{ "recipient_address": "d1@chat.example.com",\n  "ciphertext": "aGVsbG8=" }';
const FORM_BODY = 'a=1&b=x%20y&b=z';
const TEXT_BODY = 'héllo ✓ — plain text';
const BINARY = randomBytes(64 * 1024);
/** Larger than every parser's limit, and of a type no parser takes: it must stream through. */
const MLS = randomBytes(1024 * 1024 + 7);

/**
 * A host app as people really write one: helmet, CORS, compression and every global body
 * parser before the gateway. Whatever the parsers did, the upstream gets the request's
 * bytes, or the client a clear 500, never a body silently emptied.
 */
async function startApp(express: Express, gateway: Gateway): Promise<Server> {
  const app = express();
  app.use(helmet());
  app.use(cors());
  app.use(compression());
  app.use(express.json());
  app.use(express.urlencoded({ extended: false }));
  app.use(express.text());
  app.use(express.raw());
  app.use(gateway);
  const server = createServer(app);
  server.on('upgrade', gateway.upgrade);
  await listenLocal(server);
  return server;
}

function urlOf(server: Server): string {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  return `http://127.0.0.1:${address.port}`;
}

function post(base: string, contentType: string, body: Buffer | string, extraHeaders: Record<string, string> = {}): Promise<TestResponse> {
  return testRequest(`${base}/v1/messages`, { method: 'POST', body, headers: { 'content-type': contentType, ...extraHeaders } });
}

/** What the upstream reported receiving (its JSON answer, relayed). */
function received(res: TestResponse): ReceivedBody {
  expect(res.status).toBe(200);
  const record = res.json as ReceivedBody;
  // Never fewer bytes than declared: what arrived is what the forwarded Content-Length says.
  if (record.headers['content-length'] !== undefined) expect(record.length).toBe(Number(record.headers['content-length']));
  return record;
}

describe.each([
  ['Express 4', 'reject', express4],
  ['Express 4', 'reserialize', express4],
  ['Express 5', 'reject', express5],
  ['Express 5', 'reserialize', express5],
] as const)('behind every body parser in %s, proxy.parsedBody: %s', (_name, mode: Mode, express) => {
  let upstream: RecordingUpstream;
  let gateway: Gateway;
  let server: Server;
  let base: string;
  let log: CapturedLog;

  beforeAll(async () => {
    upstream = await startRecordingUpstream();
    log = captureLog();
    // `reject` is the default: that suite runs without the option, as most apps will.
    const proxy = mode === 'reject' ? {} : { proxy: { parsedBody: mode } };
    gateway = createGateway({ ...gatewayOptions(upstream.url, proxy), logger: log.logger });
    server = await startApp(express, gateway);
    base = urlOf(server);
    await untilStatus(gateway, 'healthy');
  });
  afterAll(async () => {
    if (server) await closeServer(server);
    await gateway?.close();
    await upstream?.close();
  });

  it('forwards a text body express.text() read, byte for byte', async () => {
    const got = received(await post(base, 'text/plain; charset=utf-8', TEXT_BODY));
    expect(got).toMatchObject({ length: Buffer.byteLength(TEXT_BODY), sha256: sha256(TEXT_BODY) });
  });

  it('forwards a binary body express.raw() read, byte for byte', async () => {
    const got = received(await post(base, 'application/octet-stream', BINARY));
    expect(got).toMatchObject({ length: BINARY.length, sha256: sha256(BINARY) });
  });

  it('forwards a chunked body express.raw() read with a correct Content-Length', async () => {
    const got = received(await post(base, 'application/octet-stream', BINARY, { 'transfer-encoding': 'chunked' }));
    expect(got).toMatchObject({ length: BINARY.length, sha256: sha256(BINARY) });
    expect(got.headers['content-length']).toBe(String(BINARY.length));
    expect(got.headers['transfer-encoding']).toBeUndefined();
  });

  it('streams a body no parser took through untouched', async () => {
    const got = received(await post(base, 'message/mls', MLS));
    expect(got).toMatchObject({ length: MLS.length, sha256: sha256(MLS) });
  });

  it('keeps what helmet and cors add to the answer', async () => {
    const res = await post(base, 'text/plain', 'x');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['access-control-allow-origin']).toBe('*');
  });

  if (mode === 'reject') {
    it('answers 500 BODY_ALREADY_READ for a parsed JSON or form body, without contacting the upstream', async () => {
      const before = upstream.received.length;
      for (const [type, body] of [
        ['application/json', JSON_BODY],
        ['application/x-www-form-urlencoded', FORM_BODY],
      ] as const) {
        const res = await post(base, type, body);
        expect(res.status).toBe(500);
        expect(res.json).toMatchObject({ error: 'BODY_ALREADY_READ' });
        expect(typeof (res.json as { message: unknown }).message).toBe('string');
      }
      expect(upstream.received.length).toBe(before);
    });

    it('logs one error line naming the fix, however many requests hit it', async () => {
      await post(base, 'application/json', JSON_BODY);
      const lines = log.lines.filter((l) => l.event === 'body_already_read');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 50, route: '/v1/messages' });
      expect(String(lines[0]!.msg)).toMatch(/app\.use\(gateway\)/);
      expect(String(lines[0]!.msg)).toMatch(/proxy\.parsedBody/);
    });
  } else {
    it('re-encodes a parsed JSON body per its Content-Type, with a correct Content-Length', async () => {
      const expected = JSON.stringify(JSON.parse(JSON_BODY));
      const got = received(await post(base, 'application/json', JSON_BODY));
      expect(got).toMatchObject({ length: Buffer.byteLength(expected), sha256: sha256(expected) });
      expect(got.headers['content-type']).toBe('application/json');
    });

    it('re-encodes a parsed form body per its Content-Type', async () => {
      const expected = 'a=1&b=x+y&b=z';
      const got = received(await post(base, 'application/x-www-form-urlencoded', FORM_BODY));
      expect(got).toMatchObject({ length: expected.length, sha256: sha256(expected) });
    });
  }
});

describe.each([
  ['Express 4', express4],
  ['Express 5', express5],
] as const)('behind express.json() keeping req.rawBody in %s', (_name, express) => {
  let upstream: RecordingUpstream;
  let gateway: Gateway;
  let server: Server;

  beforeAll(async () => {
    upstream = await startRecordingUpstream();
    gateway = createGateway(gatewayOptions(upstream.url));
    const app = express();
    app.use(
      express.json({
        verify: (req, _res, buf) => {
          (req as IncomingMessage & { rawBody?: Buffer }).rawBody = buf;
        },
      }),
    );
    app.use(gateway);
    server = createServer(app);
    await listenLocal(server);
    await untilStatus(gateway, 'healthy');
  });
  afterAll(async () => {
    if (server) await closeServer(server);
    await gateway?.close();
    await upstream?.close();
  });

  it('forwards the raw bytes, whitespace and all', async () => {
    const got = received(await post(urlOf(server), 'application/json', JSON_BODY));
    expect(got).toMatchObject({ length: Buffer.byteLength(JSON_BODY), sha256: sha256(JSON_BODY) });
  });
});
