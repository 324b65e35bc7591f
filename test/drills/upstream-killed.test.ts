import { failures, testLog } from './lib/report';
import { upstreamKilled } from './lib/upstream-killed';

describe('fault drill: upstream killed mid-load (short)', () => {
  it('answers every one of 200 concurrent clients in time, turns unhealthy at once, recovers and leaks no socket', async () => {
    const report = await upstreamKilled.run('short', testLog());
    expect(failures(report)).toEqual([]);
  }, 120_000);
});
