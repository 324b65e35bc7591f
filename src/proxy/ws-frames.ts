import { randomBytes } from 'node:crypto';

/** Longest frame header: 2 bytes, an 8-byte extended length, a 4-byte mask. */
const MAX_HEADER = 14;

/**
 * Follows WebSocket frame boundaries in one direction of a tunnel (RFC 6455 §5.2) without
 * buffering payloads, so that on shutdown the gateway can stop at a boundary and add a
 * Close frame of its own instead of cutting a frame in half. Runs on every chunk of every
 * tunnel, so it allocates nothing per chunk: a header is read in place, and only one split
 * across chunks is copied, into a 14-byte buffer made the first time that happens (most
 * tunnels, idle ones above all, never need it: two of them per tunnel were 0.4 KiB each).
 */
export class FrameTracker {
  /** The start of a header split across chunks; made on the first split. */
  private partial: Buffer | null = null;
  private partialLength = 0;
  /** Payload bytes of the current frame still to come; -1 while reading a header. */
  private remaining = -1;

  /** True between frames. */
  get atBoundary(): boolean {
    return this.remaining === -1 && this.partialLength === 0;
  }

  /**
   * Follows `chunk`. Returns how many of its bytes were taken: all of them, or with
   * `stopAtBoundary` only up to the first frame boundary (0 when already at one).
   */
  consume(chunk: Buffer, stopAtBoundary = false): number {
    const end = chunk.length;
    let offset = 0;
    while (offset < end) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, end - offset);
        offset += take;
        this.remaining -= take;
        if (this.remaining === 0) this.remaining = -1;
        continue;
      }
      if (this.partialLength === 0) {
        if (stopAtBoundary) return offset;
        // The usual case: the whole header is in this chunk.
        if (offset + 1 < end) {
          const size = headerSize(chunk[offset + 1] as number);
          if (offset + size <= end) {
            this.startPayload(chunk, offset);
            offset += size;
            continue;
          }
        }
      }
      offset += this.takeSplitHeader(chunk, offset);
    }
    return offset;
  }

  /** Copies header bytes into `partial`; starts the payload once the header is whole. Returns the bytes taken. */
  private takeSplitHeader(chunk: Buffer, offset: number): number {
    const partial = (this.partial ??= Buffer.alloc(MAX_HEADER));
    const needed = this.partialLength < 2 ? 2 : headerSize(partial[1] as number);
    const take = Math.min(needed - this.partialLength, chunk.length - offset);
    chunk.copy(partial, this.partialLength, offset, offset + take);
    this.partialLength += take;
    if (this.partialLength >= 2 && this.partialLength === headerSize(partial[1] as number)) {
      this.partialLength = 0;
      this.startPayload(partial, 0);
    }
    return take;
  }

  private startPayload(header: Buffer, at: number): void {
    const length = payloadLength(header, at);
    this.remaining = length === 0 ? -1 : length;
  }
}

/** Header size from its second byte (mask bit and 7-bit length). */
function headerSize(second: number): number {
  const len7 = second & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((second & 0x80) !== 0 ? 4 : 0);
}

/** Payload length of the complete header at `at`. */
function payloadLength(header: Buffer, at: number): number {
  const len7 = (header[at + 1] as number) & 0x7f;
  if (len7 === 126) return header.readUInt16BE(at + 2);
  // A 63-bit length; beyond 2^53 no tunnel lives long enough to tell the difference.
  if (len7 === 127) return header.readUInt32BE(at + 2) * 2 ** 32 + header.readUInt32BE(at + 6);
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
