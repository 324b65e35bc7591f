import { closeFrame, FrameTracker } from '../../../src/proxy/ws-frames';

/** An unmasked frame (as a server sends) with a payload of `length` bytes. */
function frame(length: number, opcode = 0x2, masked = false): Buffer {
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

describe('FrameTracker', () => {
  it.each([0, 5, 125, 126, 300, 65535, 65536, 70000])('follows a %i-byte frame fed one byte at a time', (length) => {
    const tracker = new FrameTracker();
    const bytes = frame(length);
    for (let i = 0; i < bytes.length; i++) {
      expect(tracker.atBoundary).toBe(i === 0);
      tracker.consume(bytes.subarray(i, i + 1));
    }
    expect(tracker.atBoundary).toBe(true);
  });

  it('follows masked frames (client to server)', () => {
    const tracker = new FrameTracker();
    const bytes = Buffer.concat([frame(10, 0x1, true), frame(200, 0x2, true)]);
    expect(tracker.consume(bytes)).toBe(bytes.length);
    expect(tracker.atBoundary).toBe(true);
  });

  it('stops at the end of the frame in flight when asked to', () => {
    const tracker = new FrameTracker();
    const first = frame(10);
    const both = Buffer.concat([first, frame(20)]);
    tracker.consume(both.subarray(0, 4));
    expect(tracker.atBoundary).toBe(false);
    expect(tracker.consume(both.subarray(4), true)).toBe(first.length - 4);
    expect(tracker.atBoundary).toBe(true);
    expect(tracker.consume(both.subarray(first.length), true)).toBe(0);
  });
});

describe('closeFrame', () => {
  it('builds an unmasked Close frame with code and reason for a client', () => {
    const f = closeFrame(1001, 'bye', false);
    expect([...f]).toEqual([0x88, 5, 0x03, 0xe9, ...Buffer.from('bye')]);
  });

  it('builds a masked Close frame for a server that unmasks to the same payload', () => {
    const f = closeFrame(1001, 'bye', true);
    expect(f[0]).toBe(0x88);
    expect(f[1]).toBe(0x80 | 5);
    const mask = f.subarray(2, 6);
    const payload = Buffer.from(f.subarray(6).map((b, i) => b ^ (mask[i % 4] ?? 0)));
    expect(payload.readUInt16BE(0)).toBe(1001);
    expect(payload.subarray(2).toString()).toBe('bye');
    const tracker = new FrameTracker();
    tracker.consume(f);
    expect(tracker.atBoundary).toBe(true);
  });
});
