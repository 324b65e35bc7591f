import { certRotation } from './lib/cert-rotation';
import { failures, testLog } from './lib/report';

describe('fault drill: certificate rotation under load (short)', () => {
  it('fails no request while the certificate is swapped, and new handshakes show the new certificate', async () => {
    const report = await certRotation.run('short', testLog());
    expect(failures(report)).toEqual([]);
  }, 120_000);
});
