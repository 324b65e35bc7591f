import { failures, testLog } from './lib/report';
import { soak } from './lib/soak';

describe('fault drill: soak (short)', () => {
  it('answers 20,000 requests and 2,000 WebSocket messages with no growth in open handles', async () => {
    const report = await soak.run('short', testLog());
    expect(failures(report)).toEqual([]);
  }, 120_000);
});
