import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiscoveryError, FileTofuStore } from '../../src/client';

const FP_A = `sha256:${'a'.repeat(64)}`;
const FP_B = `sha256:${'b'.repeat(64)}`;

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cryptid-known-'));
  path = join(dir, 'config', 'known_servers.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `count` node processes that each pin `perProcess` domains into `file`; a child still running after 15 s is killed and reported. */
function childWriters(file: string, count: number, perProcess: number): Promise<number[]> {
  const register = join(__dirname, '..', 'helpers', 'ts-register.js');
  const source = join(__dirname, '..', '..', 'src', 'client', 'file-tofu-store.ts');
  const script = `
    const { FileTofuStore } = require(${JSON.stringify(source)});
    const store = new FileTofuStore(${JSON.stringify(file)}, { lockTimeoutMs: 20000 });
    (async () => {
      for (let i = 0; i < ${perProcess}; i++) await store.set('s' + i + '-p' + process.argv[1] + '.example.test', 'sha256:' + 'c'.repeat(64));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  return Promise.all(
    Array.from(
      { length: count },
      (_, n) =>
        new Promise<number>((resolve, reject) => {
          const child = spawn(process.execPath, ['-r', register, '-e', script, String(n)], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 15_000 });
          child.once('exit', (code, signal) => (signal === null ? resolve(code ?? -1) : reject(new Error(`writer ${n} was killed by ${signal} (still running after 15 s?)`))));
        }),
    ),
  );
}

describe('FileTofuStore', () => {
  it('round-trips pins through a readable JSON file, creating its directory', async () => {
    const store = new FileTofuStore(path, { now: () => Date.UTC(2025, 0, 2, 3, 4, 5) });
    expect(await store.get('chat.example.test')).toBeUndefined();
    await store.set('chat.example.test', FP_A);
    expect(await new FileTofuStore(path).get('chat.example.test')).toBe(FP_A);
    const text = readFileSync(path, 'utf8');
    expect(text).toContain('\n  "servers": {\n');
    expect(JSON.parse(text)).toEqual({
      version: 1,
      servers: { 'chat.example.test': { fingerprint: FP_A, first_seen: '2025-01-02T03:04:05.000Z', pinned_at: '2025-01-02T03:04:05.000Z' } },
    });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('keeps first_seen and moves pinned_at when a new fingerprint is accepted', async () => {
    let now = 0;
    const store = new FileTofuStore(path, { now: () => now });
    await store.set('chat.example.test', FP_A);
    now = 86_400_000;
    await store.set('chat.example.test', FP_B);
    expect((await store.entries())['chat.example.test']).toEqual({
      fingerprint: FP_B,
      first_seen: '1970-01-01T00:00:00.000Z',
      pinned_at: '1970-01-02T00:00:00.000Z',
    });
  });

  it('forgets a domain on delete and leaves the others', async () => {
    const store = new FileTofuStore(path);
    await store.set('a.example.test', FP_A);
    await store.set('b.example.test', FP_B);
    await store.delete('a.example.test');
    expect(Object.keys(await store.entries())).toEqual(['b.example.test']);
  });

  it('keeps every pin when many writers in one process write at once', async () => {
    const one = new FileTofuStore(path);
    const two = new FileTofuStore(path);
    await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? one : two).set(`s${i}.example.test`, FP_A)));
    expect(Object.keys(await one.entries())).toHaveLength(30);
    // No temporary or lock file is left behind.
    expect(readdirSync(join(dir, 'config'))).toEqual(['known_servers.json']);
  });

  it('keeps every pin when several processes write at once', async () => {
    const codes = await childWriters(path, 4, 8);
    expect(codes).toEqual([0, 0, 0, 0]);
    const servers = await new FileTofuStore(path).entries();
    expect(Object.keys(servers)).toHaveLength(32);
  });

  it('reports a corrupt file as TOFU_STORE_ERROR and never overwrites it', async () => {
    const store = new FileTofuStore(path);
    await store.set('chat.example.test', FP_A);
    writeFileSync(path, '{"version": 1, "servers": {"chat.example.test": ');
    const error = (await store.get('chat.example.test').catch((e: unknown) => e)) as DiscoveryError;
    expect(error).toBeInstanceOf(DiscoveryError);
    expect(error.code).toBe('TOFU_STORE_ERROR');
    expect(error.message).toContain(path);
    expect(error.message).toContain('not valid JSON');
    await expect(store.set('other.example.test', FP_B)).rejects.toMatchObject({ code: 'TOFU_STORE_ERROR' });
    expect(readFileSync(path, 'utf8')).toBe('{"version": 1, "servers": {"chat.example.test": ');
  });

  it('names the bad field of a file that parses but is malformed', async () => {
    writeFileSync(path.replace('config/known_servers.json', 'k.json'), JSON.stringify({ version: 1, servers: { 'x.example.test': { fingerprint: 'md5:00' } } }));
    const store = new FileTofuStore(path.replace('config/known_servers.json', 'k.json'));
    const error = (await store.get('x.example.test').catch((e: unknown) => e)) as DiscoveryError;
    expect(error.code).toBe('TOFU_STORE_ERROR');
    expect(error.problems.some((p) => p.startsWith('servers.x.example.test.fingerprint'))).toBe(true);
  });

  it('gives up with TOFU_STORE_ERROR when another process holds the lock too long', async () => {
    const store = new FileTofuStore(path, { lockTimeoutMs: 100 });
    await store.set('a.example.test', FP_A);
    writeFileSync(`${path}.lock`, 'someone else\n');
    const error = (await store.set('b.example.test', FP_B).catch((e: unknown) => e)) as DiscoveryError;
    expect(error.code).toBe('TOFU_STORE_ERROR');
    expect(error.message).toContain('.lock');
    // Reads do not need the lock.
    expect(await store.get('a.example.test')).toBe(FP_A);
  });

  it('breaks a lock left behind by a crashed process', async () => {
    const store = new FileTofuStore(path, { lockTimeoutMs: 2000 });
    await store.set('a.example.test', FP_A);
    writeFileSync(`${path}.lock`, 'crashed\n');
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${path}.lock`, old, old);
    await store.set('b.example.test', FP_B);
    expect(await store.get('b.example.test')).toBe(FP_B);
  });

  it('refuses to pin something that is not a fingerprint', async () => {
    await expect(new FileTofuStore(path).set('a.example.test', 'nope')).rejects.toThrow(TypeError);
  });
});
