import { MAX_HEAD_BYTES, ResponseParseError, ResponseParser, type ResponseHead } from '../../../src/net/h1-response';

/** What a parser reported, in order, and what it said about the connection. */
interface Parsed {
  readonly heads: ResponseHead[];
  readonly body: Buffer;
  readonly ends: number;
  /** onHead, onBody and onEnd in the order they came ('h', 'b', 'e'). */
  readonly order: string;
  /** The sum of what every `execute` returned: the bytes after the end of the response. */
  readonly extra: number;
  readonly keepAlive: boolean;
  readonly keepAliveTimeout: number | null;
}

/** A parser with a recording sink. */
function recorder(method: string): { parser: ResponseParser; result: () => Parsed; extra: (n: number) => void } {
  const heads: ResponseHead[] = [];
  const chunks: Buffer[] = [];
  let ends = 0;
  let order = '';
  let extra = 0;
  const parser = new ResponseParser(method, {
    onHead(head) {
      heads.push(head);
      order += 'h';
    },
    onBody(chunk) {
      // Copied: a parser may hand out views of buffers it keeps.
      chunks.push(Buffer.from(chunk));
      if (!order.endsWith('b')) order += 'b';
    },
    onEnd() {
      ends++;
      order += 'e';
    },
  });
  return {
    parser,
    extra: (n) => void (extra += n),
    result: () => ({ heads, body: Buffer.concat(chunks), ends, order, extra, keepAlive: parser.keepAlive, keepAliveTimeout: parser.keepAliveTimeout }),
  };
}

/** Feeds `pieces` in order, then `finish()` when `eof`. */
function parse(pieces: readonly Buffer[], method = 'GET', eof = false): Parsed {
  const { parser, result, extra } = recorder(method);
  for (const piece of pieces) extra(parser.execute(piece));
  if (eof) parser.finish();
  return result();
}

/** `bytes` cut in two at `at`. */
function splitAt(bytes: Buffer, at: number): Buffer[] {
  return [bytes.subarray(0, at), bytes.subarray(at)];
}

/** The error `fn` throws (the test fails when it throws none). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a ResponseParseError, nothing was thrown');
}

function bytes(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/** One response shape the parser must read, and what it must make of it. */
interface Shape {
  readonly name: string;
  readonly method?: string;
  readonly wire: string;
  readonly status: number;
  readonly message?: string;
  readonly rawHeaders?: string[];
  readonly body: string;
  readonly keepAlive: boolean;
  readonly keepAliveTimeout?: number | null;
  /** Delimited by the close of the connection: complete only at `finish()`. */
  readonly untilClose?: boolean;
}

const SHAPES: Shape[] = [
  {
    name: 'a Content-Length body',
    wire: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello',
    status: 200,
    message: 'OK',
    rawHeaders: ['Content-Type', 'text/plain', 'Content-Length', '5'],
    body: 'hello',
    keepAlive: true,
  },
  { name: 'Content-Length: 0', wire: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', status: 200, body: '', keepAlive: true },
  {
    name: 'a repeated Content-Length that agrees (a list and two fields)',
    wire: 'HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\ncontent-length: 5\r\n\r\nhello',
    status: 200,
    rawHeaders: ['Content-Length', '5, 5', 'content-length', '5'],
    body: 'hello',
    keepAlive: true,
  },
  {
    name: 'a chunked body with extensions and trailers (the trailers dropped)',
    wire:
      'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '5;name=value\r\nhello\r\n' +
      '1 ; quoted="a\\"b;c" ;flag\r\n,\r\n' +
      'A\r\n0123456789\r\n' +
      'a\r\n abcdefghi\r\n' +
      '0;last\r\nX-Trailer: t\r\nX-Other:\r\n\r\n',
    status: 201,
    message: 'Created',
    rawHeaders: ['Transfer-Encoding', 'chunked'],
    body: 'hello,0123456789 abcdefghi',
    keepAlive: true,
  },
  {
    name: 'an empty chunked body',
    wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    status: 200,
    body: '',
    keepAlive: true,
  },
  {
    name: 'gzip then chunked, over two Transfer-Encoding fields',
    wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    status: 200,
    body: 'abc',
    keepAlive: true,
  },
  {
    name: 'a close-delimited body (neither Content-Length nor Transfer-Encoding)',
    wire: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end',
    status: 200,
    body: 'until the end',
    keepAlive: false,
    untilClose: true,
  },
  {
    name: 'a body whose last coding is not chunked (read until the close)',
    wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8bnot really',
    status: 200,
    body: '\x1f\x8bnot really',
    keepAlive: false,
    untilClose: true,
  },
  {
    name: 'the answer to HEAD, whatever its Content-Length says',
    method: 'HEAD',
    wire: 'HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n',
    status: 200,
    body: '',
    keepAlive: true,
  },
  {
    name: 'the answer to HEAD with Transfer-Encoding: chunked',
    method: 'HEAD',
    wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n',
    status: 200,
    body: '',
    keepAlive: true,
  },
  { name: '204 with a Content-Length', wire: 'HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n', status: 204, body: '', keepAlive: true },
  { name: '304 with a Content-Length', wire: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nETag: "x"\r\n\r\n', status: 304, body: '', keepAlive: true },
  { name: '304 with Transfer-Encoding: chunked', wire: 'HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n', status: 304, body: '', keepAlive: true },
  {
    name: '100 Continue and 103 Early Hints before the final answer (skipped)',
    wire: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    status: 200,
    rawHeaders: ['Content-Length', '2'],
    body: 'ok',
    keepAlive: true,
  },
  {
    name: 'a status line without a reason phrase',
    wire: 'HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx',
    status: 200,
    message: '',
    body: 'x',
    keepAlive: true,
  },
  {
    name: 'optional whitespace around values, an empty value and obs-text',
    wire: 'HTTP/1.1 200 Fine \xe9\r\nX-Padded: \t padded \t\r\nX-Empty:\r\nX-Latin1: caf\xe9\r\nContent-Length: 0\r\n\r\n',
    status: 200,
    message: 'Fine \xe9',
    rawHeaders: ['X-Padded', 'padded', 'X-Empty', '', 'X-Latin1', 'caf\xe9', 'Content-Length', '0'],
    body: '',
    keepAlive: true,
  },
  { name: 'Connection: close', wire: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok', status: 200, body: 'ok', keepAlive: false },
  { name: 'an HTTP/1.0 answer (closes by default)', wire: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok', status: 200, body: 'ok', keepAlive: false },
  {
    name: 'an HTTP/1.0 answer with Connection: keep-alive',
    wire: 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok',
    status: 200,
    body: 'ok',
    keepAlive: true,
  },
  {
    name: 'Keep-Alive: timeout=N',
    wire: 'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 2\r\n\r\nok',
    status: 200,
    body: 'ok',
    keepAlive: true,
    keepAliveTimeout: 5,
  },
];

describe('ResponseParser', () => {
  describe.each(SHAPES)('reads $name', (shape) => {
    const wire = bytes(shape.wire);
    const method = shape.method ?? 'GET';
    const eof = shape.untilClose === true;

    function expectRead(got: Parsed): void {
      expect(got.heads).toHaveLength(1);
      expect(got.heads[0]?.statusCode).toBe(shape.status);
      if (shape.message !== undefined) expect(got.heads[0]?.statusMessage).toBe(shape.message);
      if (shape.rawHeaders !== undefined) expect(got.heads[0]?.rawHeaders).toEqual(shape.rawHeaders);
      expect(got.body.toString('latin1')).toBe(shape.body);
      expect(got.ends).toBe(1);
      expect(got.order).toBe(shape.body === '' ? 'he' : 'hbe');
      expect(got.extra).toBe(0);
      expect(got.keepAlive).toBe(shape.keepAlive);
      expect(got.keepAliveTimeout).toBe(shape.keepAliveTimeout ?? null);
    }

    it('whole', () => {
      expectRead(parse([wire], method, eof));
    });

    it('split in two at every byte', () => {
      const first = parse([wire], method, eof);
      for (let at = 0; at <= wire.length; at++) {
        const got = parse(splitAt(wire, at), method, eof);
        expectRead(got);
        expect(got.heads).toEqual(first.heads);
      }
    });

    it('one byte at a time', () => {
      const pieces = Array.from({ length: wire.length }, (_, i) => wire.subarray(i, i + 1));
      expectRead(parse(pieces, method, eof));
    });

    if (!eof) {
      it('complete before the connection ends: finish() adds nothing', () => {
        const { parser, result } = recorder(method);
        expect(parser.execute(wire)).toBe(0);
        expect(parser.done).toBe(true);
        parser.finish();
        expect(result().ends).toBe(1);
      });

      it('counts the bytes after its end, wherever the reads are cut', () => {
        const after = bytes('HTTP/1.1 200 OK\r\n\r\nsmuggled');
        const all = Buffer.concat([wire, after]);
        expect(parse([all], method).extra).toBe(after.length);
        for (let at = 0; at <= all.length; at++) {
          const got = parse(splitAt(all, at), method);
          expect(got.ends).toBe(1);
          expect(got.heads).toHaveLength(1);
          expect(got.body.toString('latin1')).toBe(shape.body);
          expect(got.extra).toBe(after.length);
        }
      });
    } else {
      it('is not done until the connection ends', () => {
        const { parser, result } = recorder(method);
        expect(parser.execute(wire)).toBe(0);
        expect(parser.headParsed).toBe(true);
        expect(parser.done).toBe(false);
        expect(result().ends).toBe(0);
        parser.finish();
        expect(parser.done).toBe(true);
        expect(result().ends).toBe(1);
      });
    }
  });

  it('hands over body bytes as they come, before the body is complete', () => {
    const { parser, result } = recorder('GET');
    parser.execute(bytes('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    expect(parser.headParsed).toBe(true);
    expect(result().body.toString()).toBe('abc');
    expect(result().ends).toBe(0);
    parser.execute(bytes('defghij'));
    expect(result().ends).toBe(1);
  });

  it('"close" in Connection ends the connection after the answer, whatever else the field lists', () => {
    expect(parse([bytes('HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n')]).keepAlive).toBe(false);
    expect(parse([bytes('HTTP/1.1 200 OK\r\nConnection: close\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n')]).keepAlive).toBe(false);
    expect(parse([bytes('HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n')]).keepAlive).toBe(false);
  });

  it('"close" wins over "keep-alive" in an HTTP/1.0 answer, in either order (RFC 9112 §9.6)', () => {
    expect(parse([bytes('HTTP/1.0 200 OK\r\nConnection: close, keep-alive\r\nContent-Length: 0\r\n\r\n')]).keepAlive).toBe(false);
    expect(parse([bytes('HTTP/1.0 200 OK\r\nConnection: close\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n')]).keepAlive).toBe(false);
  });

  it('forgets a Keep-Alive timeout given on an interim answer', () => {
    const got = parse([bytes('HTTP/1.1 100 Continue\r\nKeep-Alive: timeout=9\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')]);
    expect(got.keepAliveTimeout).toBeNull();
  });

  describe('rejects with a ResponseParseError', () => {
    const H = 'HTTP/1.1 200 OK\r\n';
    const CHUNKED = `${H}Transfer-Encoding: chunked\r\n\r\n`;
    const REJECTED: [string, string, string][] = [
      // Framing that two peers could read differently.
      ['conflicting Content-Length fields', `${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`, 'HPE_UNEXPECTED_CONTENT_LENGTH'],
      ['a Content-Length list that disagrees', `${H}Content-Length: 5, 6\r\n\r\nhello!`, 'HPE_UNEXPECTED_CONTENT_LENGTH'],
      ['a Content-Length that is not a number', `${H}Content-Length: five\r\n\r\n`, 'HPE_INVALID_CONTENT_LENGTH'],
      ['a negative Content-Length', `${H}Content-Length: -1\r\n\r\n`, 'HPE_INVALID_CONTENT_LENGTH'],
      ['a signed Content-Length', `${H}Content-Length: +5\r\n\r\nhello`, 'HPE_INVALID_CONTENT_LENGTH'],
      ['an empty Content-Length', `${H}Content-Length:\r\n\r\n`, 'HPE_INVALID_CONTENT_LENGTH'],
      ['a Content-Length with an empty list member', `${H}Content-Length: 5,,5\r\n\r\nhello`, 'HPE_INVALID_CONTENT_LENGTH'],
      ['a Content-Length with a space inside', `${H}Content-Length: 1 2\r\n\r\n`, 'HPE_INVALID_CONTENT_LENGTH'],
      ['a Content-Length of 16 digits', `${H}Content-Length: 1000000000000000\r\n\r\n`, 'HPE_INVALID_CONTENT_LENGTH'],
      ['Content-Length with Transfer-Encoding', `${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 'HPE_UNEXPECTED_CONTENT_LENGTH'],
      ['Transfer-Encoding with Content-Length', `${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`, 'HPE_UNEXPECTED_CONTENT_LENGTH'],
      ['Content-Length with Transfer-Encoding on a 204', 'HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
      ['chunked before another coding', `${H}Transfer-Encoding: chunked, gzip\r\n\r\n`, 'HPE_INVALID_TRANSFER_ENCODING'],
      ['chunked twice in one field', `${H}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n`, 'HPE_INVALID_TRANSFER_ENCODING'],
      ['chunked, then another Transfer-Encoding field', `${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n`, 'HPE_INVALID_TRANSFER_ENCODING'],
      ['chunked in two Transfer-Encoding fields', `${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 'HPE_INVALID_TRANSFER_ENCODING'],
      // Chunk framing.
      ['a chunk size that is not hex', `${CHUNKED}zz\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
      ['an empty chunk size', `${CHUNKED}\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
      ['a 0x prefix', `${CHUNKED}0x5\r\nhello\r\n0\r\n\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
      ['a negative chunk size', `${CHUNKED}-5\r\nhello\r\n0\r\n\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
      ['whitespace before a chunk size', `${CHUNKED} 5\r\nhello\r\n0\r\n\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
      ['whitespace after a chunk size without an extension', `${CHUNKED}5 \r\nhello\r\n0\r\n\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
      ['a chunk size of 16 hex digits', `${CHUNKED}0000000000000005\r\nhello\r\n0\r\n\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
      ['a chunk extension without a name', `${CHUNKED}5;\r\nhello\r\n0\r\n\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
      ['a chunk extension with an unterminated quoted value', `${CHUNKED}5;a="b\r\nhello\r\n0\r\n\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
      ['a chunk extension value that is neither token nor quoted string', `${CHUNKED}5;a=b c\r\nhello\r\n0\r\n\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
      ['chunk data longer than its size', `${CHUNKED}5\r\nhello!\r\n0\r\n\r\n`, 'HPE_STRICT'],
      ['a chunk size line ended by a bare LF', `${CHUNKED}5\nhello\r\n0\r\n\r\n`, 'HPE_STRICT'],
      ['chunk data ended by a bare LF', `${CHUNKED}5\r\nhello\n0\r\n\r\n`, 'HPE_STRICT'],
      ['a bare CR in a chunk size line', `${CHUNKED}5\r\r\nhello\r\n0\r\n\r\n`, 'HPE_STRICT'],
      ['the last chunk ended by a bare LF', `${CHUNKED}0\n\r\n`, 'HPE_STRICT'],
      ['a trailer section ended by a bare LF', `${CHUNKED}0\r\n\n`, 'HPE_STRICT'],
      ['an invalid trailer field', `${CHUNKED}0\r\nBad Trailer: x\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['an obs-folded trailer field', `${CHUNKED}0\r\nX-T: a\r\n b\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['a control byte in a trailer value', `${CHUNKED}0\r\nX-T: a\x01b\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      // The status line.
      ['101 Switching Protocols (nothing asked to upgrade)', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', 'HPE_INVALID_CONSTANT'],
      ['HTTP/1.2', 'HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_CONSTANT'],
      ['HTTP/2', 'HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_CONSTANT'],
      ['a lower-case protocol name', 'http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_CONSTANT'],
      ['ICY', 'ICY 200 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_CONSTANT'],
      ['a two-digit status', 'HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_CONSTANT'],
      ['a four-digit status', 'HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_CONSTANT'],
      ['a status below 100', 'HTTP/1.1 099 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_CONSTANT'],
      ['two spaces before the status', 'HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_CONSTANT'],
      ['a status line ended by a bare LF', 'HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_CONSTANT'],
      ['a control byte in the reason phrase', 'HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_CONSTANT'],
      ['a bare CR in the reason phrase', 'HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_CONSTANT'],
      ['empty lines before the status line', '\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_CONSTANT'],
      ['an invalid interim answer', 'HTTP/1.1 100 Continue\r\nBad Name: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
      // Header fields.
      ['an obs-folded field (space)', `${H}X-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['an obs-folded field (tab)', `${H}X-A: 1\r\n\tfolded\r\nContent-Length: 0\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['an obs-folded Content-Length', `${H}Content-Length:\r\n 5\r\n\r\nhello`, 'HPE_INVALID_CONTENT_LENGTH'],
      ['a space before the colon', `${H}Content-Length : 5\r\n\r\nhello`, 'HPE_INVALID_HEADER_TOKEN'],
      ['a tab before the colon', `${H}Transfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['a space inside a name', `${H}X A: 1\r\nContent-Length: 0\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['a field without a colon', `${H}NoColon\r\nContent-Length: 0\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['an empty field name', `${H}: v\r\nContent-Length: 0\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['a non-token byte in a name', `${H}X-A\x7f: 1\r\nContent-Length: 0\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['obs-text in a name', `${H}X-\xe9: 1\r\nContent-Length: 0\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['a NUL in a value', `${H}X-A: a\x00b\r\nContent-Length: 0\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['an escape byte in a value', `${H}X-A: a\x1bb\r\nContent-Length: 0\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['DEL in a value', `${H}X-A: a\x7fb\r\nContent-Length: 0\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['a bare CR in a value', `${H}X-A: a\rb\r\nContent-Length: 0\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['a bare LF inside the header section', `${H}X-A: a\nContent-Length: 5\r\n\r\nhello`, 'HPE_INVALID_HEADER_TOKEN'],
      ['a bare LF ending a field', `${H}Content-Length: 0\n\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
    ];

    function expectRejection(got: unknown, code: string): void {
      expect(got).toBeInstanceOf(ResponseParseError);
      expect(got).toMatchObject({ name: 'ResponseParseError', code });
    }

    it.each(REJECTED)('%s', (_name, wire, code) => {
      const input = bytes(wire);
      const whole = recorder('GET');
      expectRejection(
        thrown(() => whole.parser.execute(input)),
        code,
      );
      expect(whole.result().ends).toBe(0);
      // The same verdict wherever the reads are cut (and never an end before it).
      for (let at = 0; at <= input.length; at++) {
        const split = recorder('GET');
        expectRejection(
          thrown(() => {
            for (const piece of splitAt(input, at)) split.parser.execute(piece);
          }),
          code,
        );
        expect(split.result().ends).toBe(0);
      }
    });

    it('a head of exactly the limit is read, one byte more is not', () => {
      const fill = (total: number): Buffer => {
        const start = `${H}Content-Length: 0\r\nX-Fill: `;
        return bytes(`${start}${'a'.repeat(total - start.length - 4)}\r\n\r\n`);
      };
      const atLimit = fill(MAX_HEAD_BYTES);
      expect(atLimit.length).toBe(MAX_HEAD_BYTES);
      expect(parse([atLimit]).ends).toBe(1);
      expect(parse(splitAt(atLimit, MAX_HEAD_BYTES - 1)).ends).toBe(1);
      const over = fill(MAX_HEAD_BYTES + 1);
      for (const pieces of [[over], splitAt(over, 100), splitAt(over, MAX_HEAD_BYTES - 2), splitAt(over, MAX_HEAD_BYTES)]) {
        const { parser } = recorder('GET');
        expectRejection(
          thrown(() => pieces.forEach((p) => parser.execute(p))),
          'HPE_HEADER_OVERFLOW',
        );
      }
    });

    it('a head that never ends is given up once it passes the limit, without waiting for its end', () => {
      const { parser } = recorder('GET');
      const line = bytes(`X-Fill: ${'a'.repeat(1000)}\r\n`);
      parser.execute(bytes(H));
      const err = thrown(() => {
        for (let i = 0; i < 17; i++) parser.execute(line);
      });
      expectRejection(err, 'HPE_HEADER_OVERFLOW');
    });

    it('a chunk size line that never ends, and an oversized trailer section', () => {
      const long = recorder('GET');
      long.parser.execute(bytes(CHUNKED));
      expectRejection(
        thrown(() => long.parser.execute(bytes(`5;${'x'.repeat(MAX_HEAD_BYTES)}`))),
        'HPE_HEADER_OVERFLOW',
      );
      const trailers = recorder('GET');
      trailers.parser.execute(bytes(`${CHUNKED}0\r\n`));
      expectRejection(
        thrown(() => {
          for (let i = 0; i < 20; i++) trailers.parser.execute(bytes(`X-T${i}: ${'t'.repeat(1000)}\r\n`));
        }),
        'HPE_HEADER_OVERFLOW',
      );
    });
  });

  describe('at the end of the connection (finish)', () => {
    it('completes a close-delimited body, once', () => {
      const { parser, result } = recorder('GET');
      parser.execute(bytes('HTTP/1.1 200 OK\r\n\r\npart one, '));
      parser.execute(bytes('part two'));
      parser.finish();
      parser.finish();
      expect(result().body.toString()).toBe('part one, part two');
      expect(result().ends).toBe(1);
      expect(result().keepAlive).toBe(false);
    });

    it('completes an empty close-delimited body', () => {
      const got = parse([bytes('HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n')], 'GET', true);
      expect(got.order).toBe('he');
    });

    it('reports a connection closed before any byte as ECONNRESET', () => {
      const { parser, result } = recorder('GET');
      const err = thrown(() => parser.finish());
      expect(err).toBeInstanceOf(ResponseParseError);
      expect(err).toMatchObject({ code: 'ECONNRESET' });
      expect(result().ends).toBe(0);
    });

    it('reports a connection closed after interim answers only as ECONNRESET (no answer came)', () => {
      const { parser } = recorder('GET');
      parser.execute(bytes('HTTP/1.1 100 Continue\r\n\r\n'));
      expect(thrown(() => parser.finish())).toMatchObject({ code: 'ECONNRESET' });
    });

    it.each([
      ['in the status line', 'HTTP/1.1 2'],
      ['in the header section', 'HTTP/1.1 200 OK\r\nContent-Len'],
      ['before the empty line', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n'],
      ['in a Content-Length body', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel'],
      ['before a Content-Length body', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n'],
      ['before the first chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'],
      ['in a chunk size line', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5'],
      ['in chunk data', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel'],
      ['after chunk data, before its CRLF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello'],
      ['after the last chunk, before the empty line', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n'],
      ['in the trailers', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n'],
    ])('reports a connection closed %s as an error, not as the end', (_where, wire) => {
      const { parser, result } = recorder('GET');
      parser.execute(bytes(wire));
      const err = thrown(() => parser.finish());
      expect(err).toBeInstanceOf(ResponseParseError);
      expect(err).toMatchObject({ code: 'HPE_INVALID_EOF_STATE' });
      expect(result().ends).toBe(0);
      expect(parser.done).toBe(false);
    });
  });
});
