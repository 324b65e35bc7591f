import { failures, testLog } from './lib/report';
import { upstreamHangs } from './lib/upstream-hangs';

describe('fault drill: upstream hangs (short)', () => {
  it('answers 504 at the timeout, frees every upstream socket and leaks nothing', async () => {
    const report = await upstreamHangs.run('short', testLog());
    expect(failures(report)).toEqual([]);
  }, 120_000);
});
