import { join } from 'node:path';
import { UsageError } from '../../../src/cli/args';
import { fingerprintCommand } from '../../../src/cli/fingerprint';
import { makeCert, opensslFingerprint, type TestCert } from '../../helpers/certs';
import { captureIo } from '../../helpers/cli-io';

describe('cryptid-gateway fingerprint', () => {
  let cert: TestCert;
  beforeAll(() => {
    cert = makeCert();
  });
  afterAll(() => cert.cleanup());

  it('prints the same fingerprint as openssl for a path relative to the working directory, exit 0', async () => {
    const { io, out, err } = captureIo({ cwd: cert.dir });
    const code = await fingerprintCommand(['tls.crt'], io);
    expect({ code, out: out(), err: err() }).toEqual({ code: 0, out: `${opensslFingerprint(cert.certPath)}\n`, err: '' });
  });

  it('exits 2 for a file that is not a certificate, saying so, with nothing on stdout', async () => {
    const { io, out, err } = captureIo();
    const code = await fingerprintCommand([cert.keyPath], io);
    expect({ code, out: out(), err: err() }).toEqual({ code: 2, out: '', err: expect.stringContaining('not a PEM certificate') });
  });

  it('exits 2 for a file that does not exist, naming it', async () => {
    const missing = join(cert.dir, 'missing.crt');
    const { io, err } = captureIo();
    expect(await fingerprintCommand([missing], io)).toBe(2);
    expect(err()).toBe(`${missing}: no such file\n`);
  });

  it('refuses a missing or an extra argument as a usage error', async () => {
    await expect(fingerprintCommand([], captureIo().io)).rejects.toThrow(new UsageError('missing CERT.pem'));
    await expect(fingerprintCommand(['a.crt', 'b.crt'], captureIo().io)).rejects.toThrow(new UsageError('unexpected argument: b.crt'));
  });
});
