import { once } from 'node:events';
import { connect } from 'node:tls';
import { startServer, type RunningServer } from '../../src';
import { makeCert, type TestCert } from '../helpers/certs';
import { startHealthyUpstream, type HealthyUpstream } from '../helpers/healthy-upstream';
import { captureLog } from '../helpers/log-capture';

/** Sends raw bytes over TLS and reads until the server closes. */
async function raw(running: RunningServer, cert: TestCert, bytes: string): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port: running.port, servername: 'localhost', ca: cert.cert });
  await once(socket, 'secureConnect');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.write(bytes);
  await once(socket, 'close');
  return Buffer.concat(chunks).toString('latin1');
}

function parse(answer: string): { status: number; headers: string; body: unknown } {
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body: JSON.parse(body) as unknown };
}

describe('the sidecar answering requests its parser refused', () => {
  let upstream: HealthyUpstream;
  let cert: TestCert;
  let running: RunningServer;

  beforeAll(async () => {
    upstream = await startHealthyUpstream();
    cert = makeCert();
    running = await startServer({
      upstream: upstream.url,
      listen: '127.0.0.1:0',
      tls: { cert: cert.certPath, key: cert.keyPath },
      metrics: { listen: false },
      discovery: { document: { server_name: 'chat.example.test' } },
      logger: captureLog().logger,
    });
  });
  afterAll(async () => {
    await running.close();
    cert.cleanup();
    await upstream.close();
  });

  it('answers a malformed request with 400 and the protocol error body, then closes', async () => {
    const answer = parse(await raw(running, cert, 'GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n'));
    expect(answer.status).toBe(400);
    expect(answer.headers).toContain('content-type: application/json');
    expect(answer.headers).toContain('connection: close');
    expect(answer.body).toEqual({ error: 'BAD_REQUEST', message: 'Malformed HTTP request' });
  });

  it('answers CONNECT with 405 METHOD_NOT_ALLOWED instead of a silently closed socket, and does not forward it', async () => {
    const answer = parse(await raw(running, cert, 'CONNECT chat.example.test:443 HTTP/1.1\r\nHost: chat.example.test:443\r\n\r\n'));
    expect(answer.status).toBe(405);
    expect(answer.headers).toContain('allow: get, head, post, put, patch, delete, options');
    expect(answer.body).toEqual({ error: 'METHOD_NOT_ALLOWED', message: 'Method not allowed on this endpoint' });
  });

  it('answers a header block larger than the parser accepts with 431', async () => {
    const answer = parse(await raw(running, cert, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`));
    expect(answer.status).toBe(431);
    expect(answer.body).toEqual({ error: 'HEADERS_TOO_LARGE', message: 'Request header fields too large' });
  });
});
