import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCert, opensslFingerprint, type TestCert } from '../helpers/certs';
import { followLines } from '../helpers/child-lines';
import { testRequest } from '../helpers/http-request';
import { startHealthyUpstream, type HealthyUpstream } from '../helpers/healthy-upstream';
import { BIN } from '../helpers/bin';
import { v8NeedsReducerNudge } from '../../src/cli/memory-reducer';

// The CLI as users run it: the built bin in a child process (npm test builds first).

/** Runs the bin to its end; never waits past 15 s (the child is killed and the test fails). */
async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 15000 });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  if (signal !== null) throw new Error(`cryptid-gateway ${args.join(' ')} was killed by ${signal} (more than 15 s?)`);
  return { code, stdout, stderr };
}

/** Starts `serve`, resolving once its "listening" log line names the URL; `waitFor` awaits a later log event. */
async function serve(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; waitFor: (event: string) => Promise<void> }> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = followLines(child);
  const eventOf = (line: string): Record<string, unknown> => JSON.parse(line) as Record<string, unknown>;
  const waitFor = async (event: string): Promise<void> => {
    await out.until((line) => eventOf(line).event === event, `serve logging "${event}"`);
  };
  const listening = await out.until((line) => eventOf(line).event === 'listening', 'serve logging "listening"');
  return { child, url: String(eventOf(listening).url), waitFor };
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

  // The one spawned smoke test of help: the program's usage lives in main.ts, which runs on
  // import. Each command's help and output is tested in-process in test/unit/cli/.
  it('prints help for the program with exit 0', async () => {
    expect(await run(['--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('Commands:'), stderr: '' });
  });

  // How main.ts turns errors into exit codes can only be seen from outside: three branches.
  it('turns an unknown command, an unknown flag and a bad serve configuration into exit 2 with the message, starting nothing', async () => {
    const results = await Promise.all([
      run(['frobnicate']),
      run(['serve', '--upstreem', 'x']),
      run(['serve', '--upstream', 'nope', '--tls-cert', cert.certPath, '--tls-key', '/missing.key', '--listen', '127.0.0.1:0']),
    ]);
    expect(results).toEqual([
      { code: 2, stdout: '', stderr: expect.stringMatching(/^cryptid-gateway: unknown command: frobnicate\n\nUsage: cryptid-gateway \[COMMAND\]/) },
      { code: 2, stdout: '', stderr: expect.stringMatching(/^cryptid-gateway serve: Unknown option '--upstreem'.*\n\nUsage: cryptid-gateway serve /s) },
      { code: 2, stdout: '', stderr: expect.stringMatching(/^cryptid-gateway: .*upstream:.*\/missing\.key: private key no such file/s) },
    ]);
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
    const { child, url, waitFor } = await serve([
      '--upstream',
      upstream.url,
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
    // Default drainDelayMs is 5 s: the first signal starts the drain, discovery turns 503.
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await waitFor('shutdown');
    expect((await testRequest(`${url}/.well-known/cryptid`, { ca: cert.cert })).status).toBe(503);
    child.kill('SIGTERM');
    expect(await exited).toEqual([143, null]);
  });

  // On V8 13.1 and later (Node 24) a process that allocates nothing on V8's C++ heap reads as
  // allocating at the highest rate, so V8's memory reducer never runs while it idles. The bin
  // keeps that rate above zero (src/cli/memory-reducer.ts); V8's own trace shows the rate the
  // reducer decides on. The reducer's first look is brought forward from 8 s to 1 s.
  const nudged = v8NeedsReducerNudge(process.versions.v8);
  (nudged ? it : it.skip)(
    `serve keeps V8's memory reducer able to run while idle${nudged ? '' : ` (SKIPPED: V8 ${process.versions.v8}, before 13.1, floors the rate itself)`}`,
    async () => {
      const v8Flags = ['--trace-memory-reducer', '--trace-mutator-utilization', '--gc-memory-reducer-start-delay-ms=1000'];
      const args = [...v8Flags, BIN, 'serve', '--upstream', upstream.url, '--server-name', 'chat.example.com', '--log-level', 'warn'];
      args.push('--tls-cert', cert.certPath, '--tls-key', cert.keyPath, '--listen', '127.0.0.1:0', '--metrics-listen', 'off');
      const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
      const closed = once(child, 'close');
      try {
        const out = followLines(child);
        // Printed at a reducer tick once the young and old generations' rates passed (every 8 s).
        const line = await out.until((l) => l.includes('Embedder mutator utilization'), 'V8 tracing the C++ heap rate at a reducer tick', 20_000);
        const utilization = Number(/utilization = ([\d.]+)/.exec(line)?.[1]);
        expect({ line, low: utilization > 0.993 }).toEqual({ line, low: true });
        await out.until((l) => /Memory reducer: (low alloc|started GC)/.test(l), 'the reducer deciding to run');
      } finally {
        child.kill('SIGKILL');
        await closed;
      }
    },
    30_000,
  );
});
