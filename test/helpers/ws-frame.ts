/**
 * A WebSocket frame (RFC 6455 §5.2) with a payload of `length` bytes of 7, built by hand so
 * that tests can cut it anywhere: unmasked as a server sends, or masked (with the fixed
 * mask 1 2 3 4, the payload left as is) as a client sends.
 */
export function wsFrame(length: number, opcode = 0x2, masked = false): Buffer {
  const header: number[] = [0x80 | opcode];
  const maskBit = masked ? 0x80 : 0;
  if (length < 126) header.push(maskBit | length);
  else if (length < 65536) header.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    header.push(maskBit | 127);
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(length));
    header.push(...big);
  }
  return Buffer.concat([Buffer.from(header), masked ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0), Buffer.alloc(length, 7)]);
}

/** The status code and reason of a Close frame (RFC 6455 §5.5.1), unmasking it if masked; throws if `frame` is not one whole Close frame. */
export function readCloseFrame(frame: Buffer): { code: number; reason: string; masked: boolean } {
  if (frame[0] !== 0x88) throw new Error(`not a final Close frame: first byte ${frame[0]}`);
  const second = frame[1] ?? 0;
  const masked = (second & 0x80) !== 0;
  const length = second & 0x7f;
  const start = masked ? 6 : 2;
  if (length > 125 || frame.length !== start + length) throw new Error(`a Close frame of ${frame.length} bytes announcing ${length}`);
  const mask = frame.subarray(2, 6);
  const payload = Buffer.from(frame.subarray(start).map((b, i) => (masked ? b ^ (mask[i % 4] ?? 0) : b)));
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8'), masked };
}
