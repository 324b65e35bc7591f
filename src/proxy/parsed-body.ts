import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import type { ParsedBodyMode } from '../config/options';
import type { Logger } from '../logger';

/**
 * Request bodies a middleware of the host app read before the gateway (`express.json()`,
 * `express.raw()`, …). The stream is spent, so the gateway forwards the bytes the
 * middleware left behind when they are the request's own, re-encodes a parsed body when
 * asked to, and otherwise refuses: a body is never forwarded short or empty.
 */

/** What a request offers once a framework parsed it: its headers, and what the parser left on it. */
export interface ParsedRequest {
  readonly headers: IncomingHttpHeaders;
  /** The raw bytes, where the app keeps them (`express.json({ verify })`, Fastify's raw-body plugins). */
  readonly rawBody?: unknown;
  /** What the parser made of the body: a Buffer (`express.raw()`), a string (`express.text()`) or a parsed value. */
  readonly body?: unknown;
}

/** The bytes to send upstream in place of the spent stream. */
export interface HeldBody {
  readonly bytes: Buffer;
  /** True when re-encoded from a parsed object (`reserialize`): not the client's bytes, and no longer content-coded. */
  readonly reencoded: boolean;
}

/**
 * True when the request has a body (RFC 9112 §6.3) and something has already read from its
 * stream: the gateway would otherwise forward nothing under the declared length. Pure.
 */
export function bodyAlreadyRead(req: IncomingMessage): boolean {
  if (!req.readableEnded && !req.readableDidRead) return false;
  const declared = req.headers['content-length'];
  if (declared !== undefined) return Number(declared) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/**
 * The body to forward for a request whose stream was already read, or undefined when it is
 * lost. Raw bytes at hand (`req.rawBody`, else `req.body` as a Buffer or a string) count
 * only when they are verifiably the request's own: as long as its `Content-Length`, or, for
 * a chunked body, without a content coding (a parser hands on inflated bytes). A string is
 * encoded back in the `Content-Type` charset when Node has that encoding. With
 * `reserialize`, a parsed JSON or URL-encoded body is re-encoded per its `Content-Type`. Pure.
 */
export function heldBody(req: ParsedRequest, mode: ParsedBodyMode): HeldBody | undefined {
  const { rawBody, body, headers } = req;
  for (const candidate of [rawBody, body]) {
    const bytes = bytesOf(candidate, headers['content-type']);
    if (bytes !== undefined && isOriginal(bytes, headers)) return { bytes, reencoded: false };
  }
  // Only a parsed value is re-encoded: a Buffer or string that is not the original is not the body either.
  if (mode !== 'reserialize' || body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) return undefined;
  const bytes = reserialize(body, mediaTypeOf(headers['content-type']));
  return bytes === undefined ? undefined : { bytes, reencoded: true };
}

/** A readable stream of the held bytes, to hand to the upstream as the body. */
export function heldBodyStream(held: HeldBody): Readable {
  return new PassThrough().end(held.bytes);
}

/**
 * Frames the forwarded headers for the held bytes: a `Content-Length` of what is sent, no
 * `Transfer-Encoding`; a re-encoded body also loses its `Content-Encoding` (the parser
 * inflated it, and it is sent as it is).
 */
export function frameHeldBody(headers: OutgoingHttpHeaders, held: HeldBody): void {
  headers['content-length'] = String(held.bytes.length);
  delete headers['transfer-encoding'];
  if (held.reencoded) delete headers['content-encoding'];
}

/** The media type of a `Content-Type`, lower case, without parameters (`application/json`). */
export function mediaTypeOf(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

/** Node's name for the charsets a text parser decodes with and a string can be encoded back into exactly. */
const ENCODINGS: Readonly<Record<string, BufferEncoding>> = {
  'utf-8': 'utf8',
  utf8: 'utf8',
  'iso-8859-1': 'latin1',
  latin1: 'latin1',
  'us-ascii': 'latin1',
  ascii: 'latin1',
  'utf-16le': 'utf16le',
};

function bytesOf(value: unknown, contentType: string | undefined): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value !== 'string') return undefined;
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1]?.toLowerCase() ?? 'utf-8';
  const encoding = ENCODINGS[charset];
  return encoding === undefined ? undefined : Buffer.from(value, encoding);
}

function isOriginal(bytes: Buffer, headers: IncomingHttpHeaders): boolean {
  const declared = headers['content-length'];
  if (declared !== undefined) return bytes.length === Number(declared);
  const coding = headers['content-encoding'];
  return coding === undefined || coding.trim().toLowerCase() === 'identity';
}

function reserialize(body: unknown, mediaType: string): Buffer | undefined {
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) {
    try {
      const text = JSON.stringify(body);
      return text === undefined ? undefined : Buffer.from(text, 'utf8');
    } catch {
      return undefined; // a BigInt or a cycle: nothing faithful to send
    }
  }
  if (mediaType === 'application/x-www-form-urlencoded' && isRecord(body)) {
    const form = new URLSearchParams();
    appendForm(form, '', body);
    return Buffer.from(form.toString(), 'latin1');
  }
  return undefined;
}

/** Flat keys as they were (`a=1&a=2` for an array), nested objects in bracket form (`a[b]=1`), as `qs` reads them back. */
function appendForm(form: URLSearchParams, prefix: string, value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) appendForm(form, isRecord(item) ? `${prefix}[]` : prefix, item);
  } else if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) appendForm(form, prefix === '' ? key : `${prefix}[${key}]`, item);
  } else {
    form.append(prefix, value === undefined || value === null ? '' : String(value));
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/**
 * The one error line that tells the host app's developer why requests get 500
 * `BODY_ALREADY_READ` and which layout fixes it: logged once per gateway, not per
 * request, so a misconfigured app cannot flood its log.
 */
export class BodyAlreadyReadNotice {
  private told = false;

  constructor(private readonly logger: Logger) {}

  /** Logs the explanation the first time only; `fields` identify the request (route template, never the path). */
  tell(fields: Record<string, unknown>): void {
    if (this.told) return;
    this.told = true;
    this.logger.error(
      { event: 'body_already_read', ...fields },
      'a middleware before the gateway read the request body (a body parser such as express.json()), so it cannot be forwarded: ' +
        'answering 500 BODY_ALREADY_READ. Fix the app: mount the gateway first, app.use(gateway) before the body parsers, ' +
        'with proxy.paths so that the app keeps its own routes; or keep the raw bytes on req.rawBody ' +
        '(express.json({ verify: (req, _res, buf) => { req.rawBody = buf } })); or set proxy.parsedBody: "reserialize" ' +
        'to re-encode JSON and URL-encoded bodies. Logged once.',
    );
  }
}
