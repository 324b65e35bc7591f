import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkConfigCommand } from '../../../src/cli/check-config';
import { makeCert, opensslFingerprint, type TestCert } from '../../helpers/certs';
import { captureIo } from '../../helpers/cli-io';

describe('cryptid-gateway check-config', () => {
  let cert: TestCert;
  beforeAll(() => {
    cert = makeCert();
  });
  afterAll(() => cert.cleanup());

  it('accepts a good file with exit 0, showing what serve would use and the certificate fingerprint', async () => {
    writeFileSync(
      join(cert.dir, 'good.yaml'),
      `upstream: http://127.0.0.1:8008\ntls: {cert: ${cert.certPath}, key: ${cert.keyPath}}\ndiscovery: {document: {server_name: chat.example.com}}\n`,
    );
    const { io, out, err } = captureIo({ cwd: cert.dir });
    expect(await checkConfigCommand(['good.yaml'], io)).toBe(0);
    expect(err()).toBe('');
    expect(out()).toContain('good.yaml: configuration is valid');
    expect(out()).toContain('upstream     http://127.0.0.1:8008');
    expect(out()).toContain('server_name  chat.example.com');
    expect(out()).toContain(`fingerprint  ${opensslFingerprint(cert.certPath)}`);
  });

  it('lists every problem of a bad file with its path, exit 2, no stack trace', async () => {
    writeFileSync(
      join(cert.dir, 'bad.yaml'),
      `upstream: ftp://x\nlisten: nowhere\ntls: {cert: /nope.crt, key: ${cert.keyPath}}\ndiscovery: {document: {server_name: BAD}}\nproxy: {timeout: 5}\n`,
    );
    const { io, out, err } = captureIo({ cwd: cert.dir });
    expect(await checkConfigCommand(['bad.yaml'], io)).toBe(2);
    expect(out()).toBe('');
    const text = err();
    expect(text).toContain('invalid configuration (5 problems)');
    const paths = ['upstream:', 'listen:', 'discovery.document.server_name:', 'proxy.timeout: unknown key', 'tls.cert: /nope.crt: certificate no such file'];
    expect(paths.filter((p) => !text.includes(p))).toEqual([]);
    expect(text).not.toMatch(/\n\s+at /);
  });
});
