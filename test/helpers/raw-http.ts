import { connect, type Socket } from 'node:net';

/** What a raw exchange got back. */
export interface RawAnswer {
  /** Status of the first response line; 0 when the server closed without answering. */
  readonly status: number;
  /** The response head, lower-cased. */
  readonly head: string;
  /** The first response's body, parsed as JSON when it is JSON. */
  readonly json: unknown;
  /** Everything received before the server closed or the deadline passed. */
  readonly raw: string;
  /** The server closed the connection (rather than the deadline passing or the answer being complete). */
  readonly closed: boolean;
}

/** The body of the first response in `text` once it is complete (Content-Length or chunked), else undefined. */
function completeBody(text: string, headEnd: number): string | undefined {
  const head = text.slice(0, headEnd);
  const rest = text.slice(headEnd + 4);
  if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
    let body = '';
    let at = 0;
    for (;;) {
      const lineEnd = rest.indexOf('\r\n', at);
      if (lineEnd === -1) return undefined;
      const size = parseInt(rest.slice(at, lineEnd), 16);
      if (Number.isNaN(size)) return body;
      if (size === 0) return rest.indexOf('\r\n', lineEnd + 2) === -1 ? undefined : body;
      if (rest.length < lineEnd + 2 + size + 2) return undefined;
      body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
      at = lineEnd + 2 + size + 2;
    }
  }
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
  return rest.length >= length ? rest.slice(0, length) : undefined;
}

/**
 * Sends `bytes` as they are on a fresh TCP connection to 127.0.0.1:`port` and collects the
 * answer until the server closes or a whole first response has arrived, at most `waitMs`.
 */
export function rawExchange(port: number, bytes: string | Buffer, waitMs = 5000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let settled = false;
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = data.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = end === -1 ? text : text.slice(0, end);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      const body = end === -1 ? '' : (completeBody(text, end) ?? text.slice(end + 4));
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ status, head: head.toLowerCase(), json, raw: text, closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const text = data.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      // An informational answer (100 Continue) is not the answer.
      if (end !== -1 && !/^HTTP\/1\.[01] 1\d\d/.test(text) && completeBody(text, end) !== undefined) finish(false);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => finish(true));
    socket.write(bytes);
  });
}
