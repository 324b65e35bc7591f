import { skipWithout } from '../helpers/executables';
import { rateLimitFleet } from './lib/rate-limit-fleet';
import { failures, testLog } from './lib/report';

const describeRedis = skipWithout('redis-server') ? describe.skip : describe;

describeRedis('fault drill: rate limits across a fleet (short)', () => {
  it('holds three replicas sharing one Redis at the limit, and near it with Redis paused or gone, with no request waiting past the timeout', async () => {
    const report = await rateLimitFleet.run('short', testLog());
    expect(failures(report)).toEqual([]);
  }, 120_000);
});
