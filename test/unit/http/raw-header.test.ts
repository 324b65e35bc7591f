import { createServer, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { rawHeader } from '../../../src/http/raw-header';
import { closeServer, listenLocal } from '../../helpers/listen';

/** Sends `head` raw to a real node:http server and resolves with the request it parsed. */
async function parsed(head: string): Promise<IncomingMessage> {
  let received: IncomingMessage | undefined;
  const server = createServer((req, res) => {
    received = req;
    res.end();
  });
  const port = await listenLocal(server);
  try {
    await new Promise<void>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(head));
      socket.on('data', () => undefined);
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
  } finally {
    await closeServer(server);
  }
  if (!received) throw new Error('no request parsed');
  return received;
}

describe('rawHeader', () => {
  it('reads a field the way req.headers does: any case, repeated fields joined with ", "', async () => {
    const req = await parsed('GET / HTTP/1.1\r\nHost: x\r\nIF-NONE-MATCH: "a"\r\nAccept: */*\r\nif-none-match: W/"b", "c"\r\nConnection: close\r\n\r\n');
    expect(rawHeader(req.rawHeaders, 'if-none-match')).toBe('"a", W/"b", "c"');
    expect(rawHeader(req.rawHeaders, 'if-none-match')).toBe(req.headers['if-none-match']);
    expect(rawHeader(req.rawHeaders, 'accept')).toBe(req.headers.accept);
  });

  it('answers undefined for a field that is absent, or only a prefix or suffix of another', async () => {
    const req = await parsed('GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match-X: 1\r\nX-If-None-Match: 2\r\nConnection: close\r\n\r\n');
    expect(rawHeader(req.rawHeaders, 'if-none-match')).toBeUndefined();
    expect(req.headers['if-none-match']).toBeUndefined();
  });

  it('keeps an empty value', () => {
    expect(rawHeader(['If-None-Match', ''], 'if-none-match')).toBe('');
  });
});
