/**
 * An incremental parser of one HTTP/1.1 response (RFC 9112), as read off a pooled
 * upstream connection. It is strict where a lenient reading could make two peers disagree
 * on where a response ends, the one thing that would hand one client's answer to another
 * on a shared connection: CRLF line ends only, no obs-fold, no space before a colon, no
 * control bytes in a value, one Content-Length (repeats must agree), never Content-Length
 * with Transfer-Encoding, chunk sizes of at most 13 hex digits. Informational (1xx)
 * responses are read and skipped. Errors carry `HPE_*` codes, as llhttp's do.
 */

/** The parsed status line and header section of the final response. */
export interface ResponseHead {
  readonly statusCode: number;
  readonly statusMessage: string;
  /** Name, value, name, value, … as received (names in their own case). */
  readonly rawHeaders: string[];
}

/** What the parser reports, in order: one head, body chunks, the end. */
export interface ResponseSink {
  onHead(head: ResponseHead): void;
  /** `last`: the chunk completes a body of declared length (`onEnd` follows at once). */
  onBody(chunk: Buffer, last: boolean): void;
  onEnd(): void;
}

/** Bytes of the status line and header section together, as Node's and undici's default. */
export const MAX_HEAD_BYTES = 16 * 1024;
/** 1xx answers skipped before the final one; more is an upstream that never answers. */
const MAX_INFORMATIONAL = 16;

const enum State {
  Head,
  Fixed,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Done,
}

const CR = 13;
const LF = 10;
const CRLF_CRLF = Buffer.from('\r\n\r\n');
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const DIGITS = /^\d{1,15}$/;
// At most 13 hex digits: every size below 2^52 is exact as a JavaScript number.
const HEX = /^[0-9a-fA-F]{1,13}$/;
// A chunk extension: `;name` or `;name=value`, a token or a quoted string, with optional whitespace.
const CHUNK_EXT =
  /^(?:[\t ]*;[\t ]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:[\t ]*=[\t ]*(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[\t\x20\x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t\x20-\x7e\x80-\xff])*"))?)*[\t ]*$/;

/** A response that is not HTTP as RFC 9112 frames it. */
export class ResponseParseError extends Error {
  override readonly name = 'ResponseParseError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Parses the response to one request; `execute` each chunk read, `finish` at the end of the stream. */
export class ResponseParser {
  private state = State.Head;
  /** Bytes of a head (or a chunk-size or trailer line) that arrived split across reads. */
  private pending: Buffer | null = null;
  /** Body bytes left: of the declared length, or of the current chunk. */
  private left = 0;
  private trailerBytes = 0;
  private informational = 0;
  /** The connection can carry another request after this response (known once the head is parsed). */
  keepAlive = false;
  /** Seconds from the upstream's `Keep-Alive: timeout=N`, or null when it gave none. */
  keepAliveTimeout: number | null = null;

  constructor(
    /** The request's method: the answer to HEAD has no body, whatever it declares. */
    private readonly method: string,
    private readonly sink: ResponseSink,
  ) {}

  /** The final response's head has been parsed. */
  get headParsed(): boolean {
    return this.state !== State.Head;
  }

  /** The response is complete. */
  get done(): boolean {
    return this.state === State.Done;
  }

  /**
   * Feeds bytes read from the connection. Returns how many bytes after the end of the
   * response were left unread (0 while the response goes on); throws `ResponseParseError`.
   */
  execute(chunk: Buffer): number {
    let data = chunk;
    while (data.length > 0) {
      switch (this.state) {
        case State.Head: {
          const rest = this.head(data);
          if (rest === null) return 0;
          data = rest;
          break;
        }
        case State.Fixed: {
          const n = Math.min(this.left, data.length);
          this.left -= n;
          this.sink.onBody(n === data.length ? data : data.subarray(0, n), this.left === 0);
          data = data.subarray(n);
          if (this.left === 0) this.end();
          break;
        }
        case State.UntilClose:
          this.sink.onBody(data, false);
          return 0;
        case State.ChunkSize: {
          const line = this.line(data);
          if (line === null) return 0;
          data = line.rest;
          this.chunkSize(line.text);
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.left, data.length);
          this.left -= n;
          this.sink.onBody(n === data.length ? data : data.subarray(0, n), false);
          data = data.subarray(n);
          if (this.left === 0) this.state = State.ChunkDataEnd;
          break;
        }
        case State.ChunkDataEnd: {
          const line = this.line(data);
          if (line === null) return 0;
          if (line.text !== '') throw new ResponseParseError('HPE_STRICT', 'chunk data not followed by CRLF');
          data = line.rest;
          this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          const line = this.line(data);
          if (line === null) return 0;
          data = line.rest;
          if (line.text === '') this.end();
          else {
            // Trailer fields are read and dropped (undici and node:http do not relay them either).
            this.trailerBytes += line.text.length + 2;
            if (this.trailerBytes > MAX_HEAD_BYTES) throw new ResponseParseError('HPE_HEADER_OVERFLOW', 'trailer section too large');
            if (!this.validField(line.text)) throw new ResponseParseError('HPE_INVALID_HEADER_TOKEN', 'invalid trailer field');
          }
          break;
        }
        case State.Done:
          return data.length;
      }
    }
    return 0;
  }

  /**
   * The connection ended. A body delimited by the close ends here; anything else
   * unfinished is an error (the response was cut short, or never came).
   */
  finish(): void {
    if (this.state === State.UntilClose) return this.end();
    if (this.state === State.Done) return;
    if (this.state === State.Head && this.pending === null) throw new ResponseParseError('ECONNRESET', 'the upstream closed the connection before answering');
    throw new ResponseParseError('HPE_INVALID_EOF_STATE', 'the upstream closed the connection in the middle of its response');
  }

  private end(): void {
    this.state = State.Done;
    this.sink.onEnd();
  }

  /** Collects a head; returns the bytes after it, or null while it is incomplete. */
  private head(data: Buffer): Buffer | null {
    const start = this.pending === null ? 0 : Math.max(0, this.pending.length - 3);
    const all = this.pending === null ? data : Buffer.concat([this.pending, data]);
    const end = all.indexOf(CRLF_CRLF, start);
    if (end < 0) {
      if (all.length > MAX_HEAD_BYTES) throw new ResponseParseError('HPE_HEADER_OVERFLOW', 'response head too large');
      this.pending = all;
      return null;
    }
    if (end + 4 > MAX_HEAD_BYTES) throw new ResponseParseError('HPE_HEADER_OVERFLOW', 'response head too large');
    this.pending = null;
    this.parseHead(all.toString('latin1', 0, end));
    return all.subarray(end + 4);
  }

  private parseHead(text: string): void {
    const lines = text.split('\r\n');
    const first = lines[0]!;
    const statusCode = statusCodeOf(first);
    const http11 = first.charCodeAt(7) === 49; // HTTP/1.1
    const rawHeaders: string[] = [];
    let contentLength: string | null = null;
    let chunked = false;
    let transferEncoding = false;
    let saidClose = false;
    let saidKeepAlive = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new ResponseParseError('HPE_INVALID_HEADER_TOKEN', 'invalid header line');
      const name = line.slice(0, colon);
      if (!TOKEN.test(name)) throw new ResponseParseError('HPE_INVALID_HEADER_TOKEN', 'invalid header name');
      const value = trimOws(line.slice(colon + 1));
      if (!FIELD_VALUE.test(value)) throw new ResponseParseError('HPE_INVALID_HEADER_TOKEN', 'invalid header value');
      rawHeaders.push(name, value);
      switch (name.length) {
        case 10:
          if (name.toLowerCase() === 'connection') {
            const lower = value.toLowerCase();
            // The usual single token, without splitting.
            if (lower === 'keep-alive') saidKeepAlive = true;
            else if (lower === 'close') saidClose = true;
            else
              for (const token of lower.split(',')) {
                const t = token.trim();
                if (t === 'close') saidClose = true;
                else if (t === 'keep-alive') saidKeepAlive = true;
              }
          } else if (name.toLowerCase() === 'keep-alive') this.keepAliveHint(value);
          break;
        case 14:
          if (name.toLowerCase() === 'content-length') {
            // `Content-Length: 5, 5` and a repeated header are one length if every value agrees (RFC 9110 §8.6).
            for (const part of value.split(',')) {
              const n = part.trim();
              if (!DIGITS.test(n)) throw new ResponseParseError('HPE_INVALID_CONTENT_LENGTH', 'invalid Content-Length');
              if (contentLength !== null && Number(contentLength) !== Number(n))
                throw new ResponseParseError('HPE_UNEXPECTED_CONTENT_LENGTH', 'conflicting Content-Length values');
              contentLength = n;
            }
          }
          break;
        case 17:
          if (name.toLowerCase() === 'transfer-encoding') {
            transferEncoding = true;
            const codings = value
              .toLowerCase()
              .split(',')
              .map((c) => c.trim());
            // Chunked must be the last coding, and only once (RFC 9112 §6.1).
            if (codings.slice(0, -1).includes('chunked') || (chunked && codings.length > 0))
              throw new ResponseParseError('HPE_INVALID_TRANSFER_ENCODING', 'chunked is not the final transfer coding');
            chunked = codings[codings.length - 1] === 'chunked';
          }
          break;
      }
    }
    if (statusCode < 200) {
      // 101 answers an upgrade this request never asked for; 100, 102, 103 are skipped, a few of them.
      if (statusCode === 101) throw new ResponseParseError('HPE_INVALID_CONSTANT', 'unexpected 101 Switching Protocols');
      if (++this.informational > MAX_INFORMATIONAL) throw new ResponseParseError('HPE_HEADER_OVERFLOW', 'too many informational responses');
      this.keepAliveTimeout = null;
      return;
    }
    // `close` wins over `keep-alive` (RFC 9112 §9.3); HTTP/1.0 keeps the connection only when asked.
    const close = saidClose || (!http11 && !saidKeepAlive);
    if (transferEncoding && contentLength !== null) throw new ResponseParseError('HPE_UNEXPECTED_CONTENT_LENGTH', 'both Content-Length and Transfer-Encoding');
    const bodyless = this.method === 'HEAD' || statusCode === 204 || statusCode === 304;
    this.keepAlive = !close;
    this.sink.onHead({ statusCode, statusMessage: first.length > 13 ? first.slice(13) : '', rawHeaders });
    if (bodyless) return this.end();
    if (chunked) this.state = State.ChunkSize;
    else if (transferEncoding) {
      // Another coding last: the body runs until the connection closes (RFC 9112 §6.3).
      this.keepAlive = false;
      this.state = State.UntilClose;
    } else if (contentLength !== null) {
      this.left = Number(contentLength);
      if (this.left === 0) return this.end();
      this.state = State.Fixed;
    } else {
      this.keepAlive = false;
      this.state = State.UntilClose;
    }
  }

  private keepAliveHint(value: string): void {
    const match = /(?:^|[,;\s])timeout\s*=\s*(\d{1,9})(?:$|[,;\s])/i.exec(value);
    if (match !== null) this.keepAliveTimeout = Number(match[1]);
  }

  private chunkSize(text: string): void {
    const semi = text.indexOf(';');
    const size = semi < 0 ? text : text.slice(0, semi);
    const ext = semi < 0 ? '' : text.slice(semi);
    // Whitespace may come before an extension (RFC 9112 §7.1.1 BWS), never inside or before the size.
    const digits = size.replace(/[\t ]+$/, '');
    if (!HEX.test(digits) || (ext !== '' && !CHUNK_EXT.test(ext)) || (semi < 0 && digits !== size)) {
      throw new ResponseParseError('HPE_INVALID_CHUNK_SIZE', 'invalid chunk size line');
    }
    this.left = parseInt(digits, 16);
    this.state = this.left === 0 ? State.Trailers : State.ChunkData;
  }

  /** One CRLF-ended line (a chunk size, a chunk's end, a trailer); null while incomplete. */
  private line(data: Buffer): { text: string; rest: Buffer } | null {
    const all = this.pending === null ? data : Buffer.concat([this.pending, data]);
    const lf = all.indexOf(LF);
    if (lf < 0) {
      if (all.length > MAX_HEAD_BYTES) throw new ResponseParseError('HPE_HEADER_OVERFLOW', 'chunk line too long');
      this.pending = all;
      return null;
    }
    this.pending = null;
    if (lf > MAX_HEAD_BYTES) throw new ResponseParseError('HPE_HEADER_OVERFLOW', 'chunk line too long');
    if (lf === 0 || all[lf - 1] !== CR) throw new ResponseParseError('HPE_STRICT', 'line not ended by CRLF');
    const text = all.toString('latin1', 0, lf - 1);
    if (text.includes('\r')) throw new ResponseParseError('HPE_STRICT', 'bare CR in a line');
    return { text, rest: all.subarray(lf + 1) };
  }

  private validField(line: string): boolean {
    const colon = line.indexOf(':');
    return colon > 0 && TOKEN.test(line.slice(0, colon)) && FIELD_VALUE.test(line.slice(colon + 1));
  }
}

/** The status code of a status line `HTTP/1.x NNN[ reason]` (the reason may be empty or absent). */
function statusCodeOf(line: string): number {
  const c = (i: number): number => line.charCodeAt(i);
  const digit = (i: number): boolean => c(i) >= 48 && c(i) <= 57;
  const valid =
    line.length >= 12 &&
    line.startsWith('HTTP/1.') &&
    (c(7) === 48 || c(7) === 49) &&
    c(8) === 32 &&
    c(9) >= 49 &&
    digit(9) &&
    digit(10) &&
    digit(11) &&
    (line.length === 12 || (c(12) === 32 && FIELD_VALUE.test(line.slice(13))));
  if (!valid) throw new ResponseParseError('HPE_INVALID_CONSTANT', 'invalid status line');
  return (c(9) - 48) * 100 + (c(10) - 48) * 10 + (c(11) - 48);
}

function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) === 32 || value.charCodeAt(start) === 9)) start++;
  while (end > start && (value.charCodeAt(end - 1) === 32 || value.charCodeAt(end - 1) === 9)) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}
