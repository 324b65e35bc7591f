import compression from 'compression';
import express from 'express';
import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createGunzip } from 'node:zlib';
import { createGateway, type Gateway } from '../../src';
import { withDeadline } from '../helpers/deadline';
import { gatewayOptions } from '../helpers/gateway';
import { untilStatus } from '../helpers/healthy-upstream';
import { closeServer, listenLocal } from '../helpers/listen';
import { startUpstream, type TestUpstream } from '../helpers/upstream';

/**
 * compression() keeps what is written in zlib until the response ends or is flushed: a
 * response the upstream streams (server-sent events, a long poll) must still reach the
 * client as it comes, compressed.
 */
describe('behind compression(), a streamed upstream response', () => {
  let upstream: TestUpstream;
  let gateway: Gateway;
  let server: Server;
  let base: string;
  /** The upstream's open response: the test writes its second event once the client has seen the first. */
  let streaming: Promise<ServerResponse>;

  beforeAll(async () => {
    let opened!: (res: ServerResponse) => void;
    streaming = new Promise((resolve) => (opened = resolve));
    upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('data: one\n\n');
      opened(res);
    });
    gateway = createGateway(gatewayOptions(upstream.url));
    const app = express();
    app.use(compression());
    app.use(gateway);
    server = createServer(app);
    base = `http://127.0.0.1:${await listenLocal(server)}`;
    await untilStatus(gateway, 'healthy');
  });
  afterAll(async () => {
    if (server) await closeServer(server);
    await gateway?.close();
    await upstream?.close();
  });

  it('reaches the client event by event, gzip-compressed', async () => {
    const res = await withDeadline(
      new Promise<IncomingMessage>((resolve, reject) => get(`${base}/v1/events`, { headers: { 'accept-encoding': 'gzip' } }, resolve).on('error', reject)),
      'response headers',
      5000,
    );
    expect(res.headers['content-encoding']).toBe('gzip');
    const text = res.pipe(createGunzip());
    let seen = '';
    const seenNow = (needle: string): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => {
          if (!seen.includes(needle)) return;
          text.off('data', onData);
          resolve();
        };
        const onData = (chunk: Buffer): void => {
          seen += chunk.toString();
          check();
        };
        text.on('data', onData);
        check();
      });

    // The first event arrives while the upstream still holds the response open.
    await withDeadline(seenNow('data: one\n\n'), 'the first event through compression', 5000);
    const upstreamRes = await streaming;
    upstreamRes.end('data: two\n\n');
    await withDeadline(seenNow('data: two\n\n'), 'the second event', 5000);
    expect(seen).toBe('data: one\n\ndata: two\n\n');
  });
});
