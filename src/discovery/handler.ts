import { createHash } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { writeError } from '../http/json-error';
import { rawHeader } from '../http/raw-header';
import type { DiscoveryDocument, DocumentTemplate } from '../protocol/document';

const CORS = { 'access-control-allow-origin': '*' } as const;
const ALLOW = { allow: 'GET, HEAD', ...CORS } as const;

/** The prepared 200 answer: body, ETag and headers, built once per change of the document. */
interface Prepared {
  readonly document: DiscoveryDocument;
  readonly body: Buffer;
  readonly etag: string;
  readonly headers: OutgoingHttpHeaders;
  readonly notModifiedHeaders: OutgoingHttpHeaders;
}

/**
 * Serves `GET /.well-known/cryptid`. The document, its bytes, ETag and headers
 * are built when the document or the certificate changes, never per request.
 */
export class DiscoveryEndpoint {
  /** Undefined while there is no document to publish yet (`discovery.source: upstream`): 503. */
  private prepared: Prepared | undefined;
  /** The serving certificate's fingerprint, which wins over a literal one in the template. */
  private fingerprint: string | undefined;

  /**
   * @param template the document to publish, or undefined while there is none yet (503)
   * @param enabled `false` answers 404 `ENDPOINT_NOT_FOUND`
   * @param fingerprint the serving certificate's fingerprint, or undefined to use the template's literal one
   * @param isAvailable answers false while shutting down or while the upstream is unhealthy (503)
   * @param answerHeaders headers every answer of this listener carries (`serve`: HSTS), prepared with the rest
   */
  constructor(
    private template: DocumentTemplate | undefined,
    private enabled: boolean,
    fingerprint: string | undefined,
    private readonly isAvailable: () => boolean,
    private readonly answerHeaders: OutgoingHttpHeaders = {},
  ) {
    this.fingerprint = fingerprint;
    this.prepared = this.prepare();
  }

  /** The document as currently published; undefined while there is none yet. */
  get document(): DiscoveryDocument | undefined {
    return this.prepared?.document;
  }

  /** The current strong ETag; undefined while there is no document. */
  get etag(): string | undefined {
    return this.prepared?.etag;
  }

  /** Whether the endpoint answers (`discovery.enabled`) or says 404. */
  get isEnabled(): boolean {
    return this.enabled;
  }

  /** Publishes a new certificate fingerprint (after a certificate rotation). */
  setFingerprint(fingerprint: string): void {
    const changed = fingerprint !== this.fingerprint;
    this.fingerprint = fingerprint;
    if (changed) this.prepared = this.prepare();
  }

  /**
   * Publishes a new document: body, ETag and headers are built once, here, and the next
   * request gets them whole. Undefined: no document to publish (503 until there is one).
   * The certificate's fingerprint, when there is one, still wins over a literal one. Throws
   * (and changes nothing) when there is no fingerprint to publish.
   */
  setDocument(template: DocumentTemplate | undefined, enabled: boolean = this.enabled): void {
    const previous = this.template;
    this.template = template;
    try {
      this.prepared = this.prepare();
    } catch (err) {
      this.template = previous;
      throw err;
    }
    this.enabled = enabled;
  }

  /** Turns the endpoint on or off (`discovery.enabled`) and keeps the document. */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
  }

  /** Answers a request for the discovery path. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method;
    const head = method === 'HEAD';
    if (method !== 'GET' && !head) return writeError(res, 'methodNotAllowed', ALLOW);
    if (!this.enabled) return writeError(res, 'discoveryDisabled', CORS, head);
    if (!this.isAvailable()) return writeError(res, 'unavailable', CORS, head);
    const p = this.prepared;
    if (p === undefined) return writeError(res, 'discoveryPending', CORS, head);
    // From rawHeaders: reading req.headers would build the whole header object for this one field.
    const inm = rawHeader(req.rawHeaders, 'if-none-match');
    if (inm !== undefined && etagMatches(inm, p.etag)) {
      res.writeHead(304, p.notModifiedHeaders);
      res.end();
      return;
    }
    res.writeHead(200, p.headers);
    res.end(head ? undefined : p.body);
  }

  private prepare(): Prepared | undefined {
    const template = this.template;
    if (template === undefined) return undefined;
    const certificate_fingerprint = this.fingerprint ?? template.certificate_fingerprint;
    if (certificate_fingerprint === undefined) throw new Error('no certificate fingerprint to publish');
    // The fingerprint goes last, as in the published examples.
    const { certificate_fingerprint: _literal, ...rest } = template;
    const document = { ...rest, certificate_fingerprint } as DiscoveryDocument;
    const body = Buffer.from(JSON.stringify(document));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;
    const common = { etag, 'cache-control': 'public, max-age=3600', ...CORS, ...this.answerHeaders };
    return {
      document,
      body,
      etag,
      // A string: Node would otherwise convert the number on every answer.
      headers: { 'content-type': 'application/json', 'content-length': String(body.length), ...common },
      notModifiedHeaders: common,
    };
  }
}

/** `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2): `W/` is ignored, `*` matches. */
function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return (t.startsWith('W/') ? t.slice(2) : t) === etag;
  });
}
