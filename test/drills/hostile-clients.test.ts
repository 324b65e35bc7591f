import { failures, testLog } from './lib/report';
import { hostileClients } from './lib/hostile-clients';

describe('fault drill: slow, vanishing and hostile clients (short)', () => {
  it('answers every hostile request 4xx/5xx or closes it, smuggles and alters nothing, releases what vanished clients caused within 1 s, and serves normal traffic throughout', async () => {
    const report = await hostileClients.run('short', testLog());
    expect(failures(report)).toEqual([]);
  }, 180_000);
});
