import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, createGateway, type GatewayOptions } from '../../src';
import { makeCert, type TestCert } from '../helpers/certs';
import { BIN } from '../helpers/bin';

// The CLI as users run it: the built bin in a child process (npm test builds first).

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8', timeout: 15000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const FP = `sha256:${'a'.repeat(64)}`;

/**
 * A typo in the published document must never silently turn a guard off: a near miss of a
 * known protocol field is an error naming the field it resembles, wherever the
 * configuration comes from. Real extra fields (future protocol sections) are still published.
 */
describe('a near miss of a known discovery field', () => {
  let cert: TestCert;
  let dir: string;
  beforeAll(() => {
    cert = makeCert();
    dir = mkdtempSync(join(tmpdir(), 'cryptid-near-miss-'));
  });
  afterAll(() => {
    cert.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is refused by createGateway, every one listed with the field it resembles', () => {
    const options: GatewayOptions = {
      upstream: 'http://127.0.0.1:8008',
      discovery: {
        document: {
          server_name: 'chat.example.com',
          certificate_fingerprint: FP,
          federation_enable: false,
          supported_featurs: ['mls_messaging'],
          message_limits: { max_mesage_size: 1024 },
        },
      },
    };
    let error: unknown;
    try {
      createGateway(options);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((p) => p.path)).toEqual([
      'discovery.document.federation_enable',
      'discovery.document.supported_featurs',
      'discovery.document.message_limits.max_mesage_size',
    ]);
    expect(problems[0]!.message).toContain('"federation_enabled"');
    expect(problems[1]!.message).toContain('"supported_features"');
    expect(problems[2]!.message).toContain('"max_message_size"');
  });

  it('leaves real extra fields alone: they are published as given', async () => {
    const gateway = createGateway({
      upstream: 'http://127.0.0.1:8008',
      logLevel: 'silent',
      discovery: { document: { server_name: 'chat.example.com', certificate_fingerprint: FP, websocket: { path: '/v1/stream' } } },
    });
    try {
      expect(gateway.document?.websocket).toEqual({ path: '/v1/stream' });
    } finally {
      await gateway.close();
    }
  });

  it('is refused in a configuration file by check-config, exit 2', () => {
    const file = join(dir, 'typo.yaml');
    writeFileSync(
      file,
      `upstream: http://127.0.0.1:8008\ntls: {cert: ${cert.certPath}, key: ${cert.keyPath}}\ndiscovery: {document: {server_name: chat.example.com, federation_enable: false}}\n`,
    );
    const r = run(['check-config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('discovery.document.federation_enable:');
    expect(r.stderr).toContain('"federation_enabled"');
  });

  it('is refused by serve when flags and the environment fill the rest, exit 2, nothing started', () => {
    const file = join(dir, 'document-only.yaml');
    writeFileSync(file, 'discovery: {document: {supported_featurs: [mls_messaging]}}\n');
    const r = run([
      'serve',
      '--config',
      file,
      '--upstream',
      'http://127.0.0.1:8008',
      '--server-name',
      'chat.example.com',
      '--tls-cert',
      cert.certPath,
      '--tls-key',
      cert.keyPath,
      '--listen',
      '127.0.0.1:0',
      '--metrics-listen',
      'off',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('discovery.document.supported_featurs:');
    expect(r.stderr).toContain('"supported_features"');
    expect(r.stdout).toBe('');
  });
});
