import { failures, testLog } from './lib/report';
import { rollingRestart } from './lib/rolling-restart';

describe('fault drill: rolling restart (short)', () => {
  it('loses no request the old gateway accepted when it gets SIGTERM under load and clients move to the next one', async () => {
    const report = await rollingRestart.run('short', testLog());
    expect(failures(report)).toEqual([]);
  }, 120_000);
});
