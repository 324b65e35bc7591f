import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { FAILURES } from '../../src/http/error-status';
import { RecordingObserver, startGateway, type TestGateway } from '../helpers/gateway';
import { readBody, startUpstream, type TestUpstream } from '../helpers/upstream';

const LIMIT = 1024;

describe('the request body limit (proxy.maxBodyBytes)', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let observer: RecordingObserver;

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      void readBody(req).then(
        (body) => res.end(`got ${body.length}`),
        () => undefined,
      );
    });
    observer = new RecordingObserver();
    gw = await startGateway(upstream.url, { proxy: { maxBodyBytes: LIMIT } }, { proxyObserver: observer });
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  function post(headers: Record<string, string>): { req: ClientRequest; response: Promise<IncomingMessage> } {
    const req = request(gw.url, { path: '/v1/messages', method: 'POST', agent: false, headers });
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', reject);
    });
    return { req, response };
  }

  async function expectTooLarge(res: IncomingMessage): Promise<void> {
    expect(res.statusCode).toBe(413);
    expect(res.headers.connection).toBe('close');
    expect(JSON.parse((await readBody(res)).toString())).toEqual({
      error: 'MESSAGE_TOO_LARGE',
      message: FAILURES.tooLarge.message,
      code: 4003,
    });
  }

  it('answers 413 MESSAGE_TOO_LARGE from Content-Length before the upstream is contacted', async () => {
    const before = upstream.requests.length;
    // Only the headers go out: the gateway must not wait for the body to refuse it.
    const { req, response } = post({ 'content-length': String(LIMIT + 1) });
    req.flushHeaders();
    await expectTooLarge(await response);
    req.destroy();
    expect(upstream.requests.length).toBe(before);
    await observer.until((o) => o.outcomes.some((x) => x.rejected === 'tooLarge'));
  });

  it('forwards a body of exactly maxBodyBytes', async () => {
    const { req, response } = post({ 'content-length': String(LIMIT) });
    req.end(Buffer.alloc(LIMIT, 7));
    const res = await response;
    expect(res.statusCode).toBe(200);
    expect((await readBody(res)).toString()).toBe(`got ${LIMIT}`);
  });

  it('answers 413 mid-stream for a chunked body over the limit and aborts the upstream request', async () => {
    const arrived = upstream.nextRequest();
    const { req, response } = post({ 'transfer-encoding': 'chunked' });
    req.write(Buffer.alloc(600, 1));
    const upstreamReq = await arrived;
    const upstreamGone = new Promise((resolve) => upstreamReq.once('close', resolve));
    req.write(Buffer.alloc(600, 2));
    await expectTooLarge(await response);
    req.destroy();
    await upstreamGone;
    expect(upstreamReq.complete).toBe(false);
  });
});
