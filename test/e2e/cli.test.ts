import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { makeCert, opensslFingerprint, type TestCert } from '../helpers/certs';
import { testRequest } from '../helpers/http-request';
import { startHealthyUpstream, type HealthyUpstream } from '../helpers/healthy-upstream';

// The CLI as users run it: the built bin in a child process (npm test builds first).
const BIN = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 15000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `serve`, resolving once its "listening" log line names the URL. */
async function serve(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; url: string; waitFor: (event: string) => Promise<void> }> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  const rl = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
    rl.on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      lines.push(entry);
      if (entry.event === 'listening') resolve(String(entry.url));
    });
  });
  const waitFor = (event: string): Promise<void> =>
    new Promise((resolve) => {
      if (lines.some((l) => l.event === event)) return resolve();
      const onLine = (line: string): void => {
        if ((JSON.parse(line) as { event?: string }).event !== event) return;
        rl.off('line', onLine);
        resolve();
      };
      rl.on('line', onLine);
    });
  return { child, url, waitFor };
}

describe('the cryptid-gateway command', () => {
  let cert: TestCert;
  let upstream: HealthyUpstream;
  beforeAll(async () => {
    cert = makeCert();
    upstream = await startHealthyUpstream();
  });
  afterAll(async () => {
    cert.cleanup();
    await upstream.close();
  });

  it('prints help for the program and for each command, exit 0', () => {
    expect(run(['--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('Commands:') });
    for (const command of ['serve', 'demo', 'check-config', 'fingerprint', 'discover']) {
      const r = run([command, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: cryptid-gateway ${command}`);
    }
  });

  it('refuses an unknown command or flag with exit 2 and the usage', () => {
    expect(run(['frobnicate'])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command: frobnicate') });
    expect(run(['serve', '--upstreem', 'x'])).toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--upstreem'") });
  });

  it('prints the same fingerprint as openssl, and exit 2 for a file that is not a certificate', () => {
    expect(run(['fingerprint', cert.certPath])).toEqual({ code: 0, stdout: `${opensslFingerprint(cert.certPath)}\n`, stderr: '' });
    const r = run(['fingerprint', cert.keyPath]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not a PEM certificate');
  });

  it('check-config accepts a good file and lists every problem of a bad one, exit 2, no stack trace', () => {
    const good = join(cert.dir, 'good.yaml');
    writeFileSync(good, `upstream: http://127.0.0.1:8008\ntls: {cert: ${cert.certPath}, key: ${cert.keyPath}}\ndiscovery: {document: {server_name: chat.example.com}}\n`);
    const ok = run(['check-config', good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('configuration is valid');
    expect(ok.stdout).toContain(opensslFingerprint(cert.certPath));
    expect(ok.stdout).toContain('rate limits  memory: federation 1000 per 60 s, announce 240 per 3600 s (from the document)');

    const bad = join(cert.dir, 'bad.yaml');
    writeFileSync(bad, `upstream: ftp://x\nlisten: nowhere\ntls: {cert: /nope.crt, key: ${cert.keyPath}}\ndiscovery: {document: {server_name: BAD}}\nproxy: {timeout: 5}\n`);
    const r = run(['check-config', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid configuration (5 problems)');
    for (const path of ['upstream:', 'listen:', 'discovery.document.server_name:', 'proxy.timeout: unknown key', 'tls.cert: /nope.crt: certificate no such file']) {
      expect(r.stderr).toContain(path);
    }
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('serve with a bad configuration exits 2 and starts nothing', () => {
    const r = run(['serve', '--upstream', 'nope', '--tls-cert', cert.certPath, '--tls-key', '/missing.key', '--listen', '127.0.0.1:0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('upstream:');
    expect(r.stderr).toContain('discovery.document.server_name:');
    expect(r.stderr).toContain('/missing.key: private key no such file');
    expect(r.stdout).toBe('');
  });

  it('serve takes settings from flags over the environment over the file, and stops with exit 0 on SIGTERM', async () => {
    const file = join(cert.dir, 'serve.yaml');
    writeFileSync(file, `upstream: ${upstream.url}\ndiscovery: {document: {server_name: file.example.com}}\nshutdown: {drainDelayMs: 0, timeoutMs: 1000}\nlogLevel: info\n`);
    const { child, url, waitFor } = await serve(['--config', file, '--tls-cert', cert.certPath, '--listen', '127.0.0.1:0'], {
      CRYPTID_TLS_KEY: cert.keyPath,
      CRYPTID_SERVER_NAME: 'env.example.com',
      CRYPTID_LISTEN: '127.0.0.1:1',
      CRYPTID_METRICS_LISTEN: 'off',
    });
    await waitFor('upstream_status');
    const res = await testRequest(`${url}/.well-known/cryptid`, { ca: cert.cert });
    expect(res.json).toMatchObject({ server_name: 'env.example.com', certificate_fingerprint: opensslFingerprint(cert.certPath) });
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
  });

  it('serve exits at once on a second signal during the drain', async () => {
    const { child, url, waitFor } = await serve(
      ['--upstream', upstream.url, '--server-name', 'chat.example.com', '--tls-cert', cert.certPath, '--tls-key', cert.keyPath, '--listen', '127.0.0.1:0', '--metrics-listen', 'off'],
    );
    // Default drainDelayMs is 5 s: the first signal starts the drain, discovery turns 503.
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await waitFor('shutdown');
    expect((await testRequest(`${url}/.well-known/cryptid`, { ca: cert.cert })).status).toBe(503);
    child.kill('SIGTERM');
    expect(await exited).toEqual([143, null]);
  });
});
