import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BodyCounter, declaredTooLarge } from '../../../src/proxy/body-limit';

describe('declaredTooLarge', () => {
  it.each<[string | undefined, boolean]>([
    [undefined, false],
    ['0', false],
    ['100', false],
    ['101', true],
    ['99999999999999999999', true],
  ])('Content-Length %s against a cap of 100 → %s', (length, tooLarge) => {
    expect(declaredTooLarge(length === undefined ? {} : { 'content-length': length }, 100)).toBe(tooLarge);
  });
});

describe('BodyCounter', () => {
  async function run(chunks: Buffer[], cap: number): Promise<{ passed: Buffer; exceeded: number; progress: number }> {
    const out: Buffer[] = [];
    let exceeded = 0;
    let progress = 0;
    const counter = new BodyCounter(cap, { onProgress: () => progress++, onExceeded: () => exceeded++ });
    await pipeline(
      Readable.from(chunks),
      counter,
      new Writable({
        write(chunk: Buffer, _e, cb) {
          out.push(chunk);
          cb();
        },
      }),
    );
    return { passed: Buffer.concat(out), exceeded, progress };
  }

  it('passes a body up to the cap through unchanged, reporting progress per chunk', async () => {
    const r = await run([Buffer.alloc(60, 1), Buffer.alloc(40, 2)], 100);
    expect(r.passed.length).toBe(100);
    expect(r.exceeded).toBe(0);
    expect(r.progress).toBe(2);
  });

  it('reports the cap exceeded once and passes nothing beyond it', async () => {
    const r = await run([Buffer.alloc(60, 1), Buffer.alloc(60, 2), Buffer.alloc(60, 3)], 100);
    expect(r.passed.length).toBe(60);
    expect(r.exceeded).toBe(1);
  });
});
