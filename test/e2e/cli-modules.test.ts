import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BIN } from '../helpers/bin';
import { makeCert, type TestCert } from '../helpers/certs';
import { followLines } from '../helpers/child-lines';
import { startHealthyUpstream, type HealthyUpstream } from '../helpers/healthy-upstream';

// What `serve` loads, seen from outside: the sidecar's idle RSS grows with every module it
// loads and resolves at start (docs/operations.md, Memory). Each process is started with a
// preload that lists require.cache when it exits.

const ROOT = join(__dirname, '..', '..');
const PRELOAD = join(__dirname, '..', 'helpers', 'loaded-modules.js');
const TSC_CLI = join(ROOT, 'dist', 'cli', 'main.js');

describe('the modules `serve` loads', () => {
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

  /**
   * Runs `serve` from `main` until it has probed the upstream once, then stops it with two
   * SIGTERMs (the second skips the drain); the files it loaded, relative to the project.
   */
  async function loadedBy(main: string, extra: string[] = []): Promise<string[]> {
    const list = join(cert.dir, `loaded-${Math.random().toString(36).slice(2)}.json`);
    const args = ['--require', PRELOAD, main, 'serve', '--upstream', upstream.url, '--server-name', 'chat.example.com'];
    args.push('--tls-cert', cert.certPath, '--tls-key', cert.keyPath, '--listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0', ...extra);
    const child = spawn(process.execPath, args, {
      env: { PATH: process.env.PATH ?? '', LOADED_MODULES_FILE: list },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = followLines(child);
    await out.until((line) => (JSON.parse(line) as { event?: string }).event === 'upstream_status', 'serve logging "upstream_status"');
    const closed = once(child, 'close');
    child.kill('SIGTERM');
    await out.until((line) => (JSON.parse(line) as { event?: string }).event === 'shutdown', 'serve logging "shutdown"');
    child.kill('SIGTERM');
    expect(await closed).toEqual([143, null]);
    return (JSON.parse(readFileSync(list, 'utf8')) as string[]).map((file) => relative(ROOT, file));
  }

  it('from the bin: its one file, nothing from node_modules (the memory store needs neither undici nor ioredis)', async () => {
    expect(await loadedBy(BIN)).toEqual([relative(ROOT, BIN)]);
  });

  it('from the bin with a YAML file: the yaml package besides, and only it', async () => {
    const file = join(cert.dir, 'serve.yaml');
    writeFileSync(file, 'logLevel: info\n');
    const loaded = await loadedBy(BIN, ['--config', file]);
    expect(loaded[0]).toBe(relative(ROOT, BIN));
    expect(loaded.slice(1).filter((f) => !f.startsWith('node_modules/yaml/'))).toEqual([]);
    expect(loaded.length).toBeGreaterThan(1);
  });

  it('from tsc’s modules: no other command’s code, and no YAML parser without a file', async () => {
    const loaded = await loadedBy(TSC_CLI);
    expect(loaded).toContain('dist/gateway.js');
    const others = loaded.filter((file) => /^dist\/(client|example-upstream)\/|^dist\/cli\/(demo|discover|check-config|fingerprint)\.js$|node_modules\/(ws|yaml)\//.test(file));
    expect(others).toEqual([]);
  });
});
