import { request, ServerResponse, type ClientRequest, type IncomingMessage } from 'node:http';
import { waitFor } from '../helpers/deadline';
import { RecordingObserver, startGateway, type TestGateway } from '../helpers/gateway';
import { startUpstream, type TestUpstream } from '../helpers/upstream';

/** Resolves when the upstream's side of the exchange closes; rejects after the wait deadline. */
function closed(emitter: IncomingMessage | ServerResponse): Promise<void> {
  return waitFor(`the upstream's ${emitter instanceof ServerResponse ? 'response' : 'request'} closing`, (done) => {
    const onClose = (): void => done();
    emitter.once('close', onClose);
    return () => emitter.off('close', onClose);
  });
}

describe('a client that goes away', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let observer: RecordingObserver;
  /** The upstream's response objects, by request, so a test can await their 'close'. */
  const responses = new Map<IncomingMessage, ServerResponse>();

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      responses.set(req, res);
      if (req.url === '/v1/slow-body') {
        // Headers and a first chunk, then the rest never comes.
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.write(Buffer.alloc(1024, 1));
      } else if (req.url === '/v1/upload') {
        req.resume();
      }
      // '/v1/never' never answers at all.
    });
    observer = new RecordingObserver();
    gw = await startGateway(upstream.url, {}, { proxyObserver: observer });
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  function open(path: string, method = 'GET'): ClientRequest {
    const req = request(gw.url, { path, method, agent: false, headers: method === 'POST' ? { 'transfer-encoding': 'chunked' } : {} });
    req.on('error', () => undefined);
    return req;
  }

  it('aborts the upstream request at once when the client leaves mid-upload', async () => {
    const arrived = upstream.nextRequest();
    const req = open('/v1/upload', 'POST');
    req.write(Buffer.alloc(4096, 2));
    const upstreamReq = await arrived;
    const upstreamGone = closed(upstreamReq);
    req.destroy();
    await upstreamGone;
    expect(upstreamReq.complete).toBe(false);
  });

  it('aborts the upstream request when the client leaves while waiting for response headers', async () => {
    const arrived = upstream.nextRequest();
    const req = open('/v1/never');
    req.end();
    const upstreamReq = await arrived;
    const upstreamGone = closed(responses.get(upstreamReq) as ServerResponse);
    req.destroy();
    await upstreamGone;
    await observer.until((o) => o.outcomes.some((x) => x.clientAborted && x.status === 0));
    expect(observer.outcomes.find((x) => x.clientAborted && x.status === 0)).toMatchObject({ failure: null, upstreamLatencyMs: null });
  });

  it('aborts the upstream response when the client leaves mid-response', async () => {
    const arrived = upstream.nextRequest();
    const req = open('/v1/slow-body');
    const gotFirstChunk = waitFor('the first chunk of the response', (done) => void req.on('response', (res) => res.once('data', () => done())));
    req.end();
    const upstreamReq = await arrived;
    const upstreamGone = closed(responses.get(upstreamReq) as ServerResponse);
    await gotFirstChunk;
    req.destroy();
    await upstreamGone;
    expect((responses.get(upstreamReq) as ServerResponse).writableFinished).toBe(false);
    await observer.until((o) => o.outcomes.some((x) => x.clientAborted && x.status === 200));
    expect(observer.outcomes.find((x) => x.clientAborted && x.status === 200)?.failure).toBeNull();
  });
});
