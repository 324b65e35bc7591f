import { closeFrame, FrameTracker } from '../../../src/proxy/ws-frames';
import { readCloseFrame, wsFrame } from '../../helpers/ws-frame';

describe('FrameTracker', () => {
  it.each([0, 5, 125, 126, 300, 65535, 65536, 70000])('follows a %i-byte frame fed one byte at a time', (length) => {
    const tracker = new FrameTracker();
    const bytes = wsFrame(length);
    // Every offset at which the tracker says "between frames": only the start and the end.
    const boundaries: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      if (tracker.atBoundary) boundaries.push(i);
      tracker.consume(bytes.subarray(i, i + 1));
    }
    if (tracker.atBoundary) boundaries.push(bytes.length);
    expect(boundaries).toEqual([0, bytes.length]);
  });

  it('follows masked frames (client to server)', () => {
    const tracker = new FrameTracker();
    const bytes = Buffer.concat([wsFrame(10, 0x1, true), wsFrame(200, 0x2, true)]);
    expect(tracker.consume(bytes)).toBe(bytes.length);
    expect(tracker.atBoundary).toBe(true);
  });

  it('stops at the end of the frame in flight when asked to', () => {
    const tracker = new FrameTracker();
    const first = wsFrame(10);
    const both = Buffer.concat([first, wsFrame(20)]);
    tracker.consume(both.subarray(0, 4));
    expect(tracker.atBoundary).toBe(false);
    expect(tracker.consume(both.subarray(4), true)).toBe(first.length - 4);
    expect(tracker.atBoundary).toBe(true);
    expect(tracker.consume(both.subarray(first.length), true)).toBe(0);
  });
});

/** A small seeded generator, so a failing split can be replayed. */
function prng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

describe('FrameTracker across random chunk splits', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('knows every boundary of 40 mixed frames cut at random (seed %i)', (seed) => {
    const rand = prng(seed);
    const sizes = [0, 1, 125, 126, 127, 200, 65535, 65536];
    const frames = Array.from({ length: 40 }, () => wsFrame(sizes[rand(sizes.length)] as number, 0x2, rand(2) === 1));
    const boundaries = new Set<number>([0]);
    let total = 0;
    for (const f of frames) boundaries.add((total += f.length));
    const stream = Buffer.concat(frames);
    const tracker = new FrameTracker();
    // At each cut: what the tracker says, beside what is true. Compared once at the end.
    const seen: { cut: number; taken: number; atBoundary: boolean }[] = [];
    const truth: typeof seen = [];
    let offset = 0;
    while (offset < stream.length) {
      // Mostly small cuts, so that headers land across chunks often.
      const size = 1 + (rand(4) === 0 ? rand(70000) : rand(20));
      const chunk = stream.subarray(offset, offset + size);
      const taken = tracker.consume(chunk);
      offset += chunk.length;
      seen.push({ cut: offset, taken, atBoundary: tracker.atBoundary });
      truth.push({ cut: offset, taken: chunk.length, atBoundary: boundaries.has(offset) });
    }
    expect(seen).toEqual(truth);
  });

  it('stops exactly at the next boundary from anywhere inside a frame', () => {
    const frames = [wsFrame(300, 0x2, true), wsFrame(5), wsFrame(70000)];
    const stream = Buffer.concat(frames);
    const ends = [frames[0]!.length, frames[0]!.length + frames[1]!.length, stream.length];
    const cuts = [1, 2, 3, 5, 8, 299, 300, 307, 308, 310, 400];
    const stops = cuts.map((cut) => {
      const tracker = new FrameTracker();
      tracker.consume(stream.subarray(0, cut));
      const stoppedAt = cut + tracker.consume(stream.subarray(cut), true);
      return { cut, stoppedAt, atBoundary: tracker.atBoundary };
    });
    expect(stops).toEqual(cuts.map((cut) => ({ cut, stoppedAt: ends.find((e) => e >= cut), atBoundary: true })));
  });
});

describe('closeFrame', () => {
  it('builds an unmasked Close frame with code and reason for a client', () => {
    const f = closeFrame(1001, 'bye', false);
    expect([...f]).toEqual([0x88, 5, 0x03, 0xe9, ...Buffer.from('bye')]);
  });

  it('builds a masked Close frame for a server that unmasks to the same payload', () => {
    const f = closeFrame(1001, 'bye', true);
    expect(f[1]).toBe(0x80 | 5);
    expect(readCloseFrame(f)).toEqual({ code: 1001, reason: 'bye', masked: true });
    const tracker = new FrameTracker();
    tracker.consume(f);
    expect(tracker.atBoundary).toBe(true);
  });
});
