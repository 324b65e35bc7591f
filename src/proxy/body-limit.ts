import type { IncomingHttpHeaders } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * True when the declared `Content-Length` already exceeds the cap: the request is refused
 * with 413 before the upstream is contacted. Pure.
 */
export function declaredTooLarge(headers: IncomingHttpHeaders, maxBodyBytes: number): boolean {
  const declared = headers['content-length'];
  if (declared === undefined) return false;
  // Node's parser has already rejected malformed values; a number beyond 2^53 is still "too large".
  return Number(declared) > maxBodyBytes;
}

/** What the counting stream reports. */
export interface BodyCounterEvents {
  /** Bytes are on their way to the upstream: the "no progress" timer restarts. */
  onProgress(): void;
  /** The body passed `maxBodyBytes`; nothing beyond the cap was passed on. */
  onExceeded(): void;
}

/**
 * Passes the request body through to the upstream, counting bytes. Used for every body
 * (a chunked one has no `Content-Length` to check up front); as soon as the count passes
 * the cap it stops passing data on and reports it, so the caller aborts the upstream
 * request and answers 413. Backpressure is the normal `pipe` one.
 */
export class BodyCounter extends Transform {
  private count = 0;
  private exceeded = false;

  constructor(
    private readonly maxBodyBytes: number,
    private readonly events: BodyCounterEvents,
  ) {
    super();
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.count;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.exceeded) return callback();
    this.count += chunk.length;
    if (this.count > this.maxBodyBytes) {
      this.exceeded = true;
      callback();
      this.events.onExceeded();
      return;
    }
    this.events.onProgress();
    callback(null, chunk);
  }
}
