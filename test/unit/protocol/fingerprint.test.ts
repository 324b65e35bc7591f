import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fingerprintOfPem, leafPem } from '../../../src/protocol/fingerprint';
import { makeCert, opensslFingerprint } from '../../helpers/certs';

describe('certificate fingerprint', () => {
  it('equals openssl x509 -outform der | sha256sum', () => {
    const cert = makeCert();
    try {
      expect(fingerprintOfPem(readFileSync(cert.certPath))).toBe(opensslFingerprint(cert.certPath));
    } finally {
      cert.cleanup();
    }
  });

  it('takes the first certificate of a chain as the leaf', () => {
    const leaf = makeCert({ commonName: 'leaf.example.com' });
    const other = makeCert({ commonName: 'ca.example.com' });
    try {
      const chain = join(leaf.dir, 'chain.pem');
      writeFileSync(chain, `${leaf.cert}${other.cert}`);
      expect(fingerprintOfPem(readFileSync(chain))).toBe(opensslFingerprint(leaf.certPath));
    } finally {
      leaf.cleanup();
      other.cleanup();
    }
  });

  it('refuses text without a certificate', () => {
    expect(() => leafPem('-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n')).toThrow(/no PEM certificate/);
  });
});
