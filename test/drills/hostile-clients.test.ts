import { failures, testLog } from './lib/report';
import { hostileClients } from './lib/hostile-clients';

describe('fault drill: slow and hostile clients (short)', () => {
  it('keeps serving normal traffic through slowloris connections and malformed requests, each of which gets a 4xx or a closed socket', async () => {
    const report = await hostileClients.run('short', testLog());
    expect(failures(report)).toEqual([]);
  }, 120_000);
});
