import { randomBytes } from 'node:crypto';

/**
 * Follows WebSocket frame boundaries in one direction of a tunnel (RFC 6455 §5.2) without
 * buffering payloads, so that on shutdown the gateway can stop at a boundary and add a
 * Close frame of its own instead of cutting a frame in half.
 */
export class FrameTracker {
  /** Header bytes of the current frame received so far (at most 14). */
  private header = Buffer.alloc(0);
  /** Payload bytes of the current frame still to come; -1 while the header is incomplete. */
  private remaining = -1;

  /** True between frames. */
  get atBoundary(): boolean {
    return this.remaining === -1 && this.header.length === 0;
  }

  /**
   * Follows `chunk`. Returns how many of its bytes were taken: all of them, or with
   * `stopAtBoundary` only up to the first frame boundary (0 when already at one).
   */
  consume(chunk: Buffer, stopAtBoundary = false): number {
    let offset = 0;
    while (offset < chunk.length) {
      if (stopAtBoundary && this.atBoundary) return offset;
      if (this.remaining === -1) {
        const needed = headerLength(this.header, chunk, offset);
        const take = Math.min(needed - this.header.length, chunk.length - offset);
        this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + take)]);
        offset += take;
        const full = headerLength(this.header, Buffer.alloc(0), 0);
        if (this.header.length < full) continue;
        this.remaining = payloadLength(this.header);
        this.header = Buffer.alloc(0);
      } else {
        const take = Math.min(this.remaining, chunk.length - offset);
        this.remaining -= take;
        offset += take;
      }
      if (this.remaining === 0) this.remaining = -1;
    }
    return offset;
  }
}

/** Bytes the frame header needs, judged from what is known so far (2 until the length byte is in). */
function headerLength(known: Buffer, more: Buffer, offset: number): number {
  const second = known.length >= 2 ? known[1] : known.length === 1 ? more[offset] : more[offset + 1];
  if (second === undefined) return 2;
  const len7 = second & 0x7f;
  const masked = (second & 0x80) !== 0;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
}

function payloadLength(header: Buffer): number {
  const len7 = (header[1] ?? 0) & 0x7f;
  if (len7 === 126) return header.readUInt16BE(2);
  if (len7 === 127) return Number(header.readBigUInt64BE(2));
  return len7;
}

/**
 * A Close frame (RFC 6455 §5.5.1) with a status code and a short reason. Frames sent to a
 * server are masked (§5.3), frames sent to a client are not.
 */
export function closeFrame(code: number, reason: string, masked: boolean): Buffer {
  const payload = Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason.slice(0, 120), 'utf8')]);
  if (!masked) return Buffer.concat([Buffer.from([0x88, payload.length]), payload]);
  const mask = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] = (body[i] ?? 0) ^ (mask[i % 4] ?? 0);
  return Buffer.concat([Buffer.from([0x88, 0x80 | payload.length]), mask, body]);
}
