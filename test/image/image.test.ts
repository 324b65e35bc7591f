import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS } from '../../src/config/defaults';
import { makeCert, opensslFingerprint, type TestCert } from '../helpers/certs';
import { followLines, type ChildLines } from '../helpers/child-lines';
import { waitFor } from '../helpers/deadline';
import { findExecutable, requireExecutable } from '../helpers/executables';
import { testRequest } from '../helpers/http-request';
import { unpackOciArchive, type UnpackedImage } from '../helpers/oci-archive';
import { startUpstream, type TestUpstream } from '../helpers/upstream';

// `npm run image` for real, then its OCI archive unpacked and its entrypoint run under
// chroot as the image's user, on a read-only bind mount of that root filesystem: what a
// container runtime would do, minus the runtime (none can run in this sandbox).
const ROOT = join(__dirname, '..', '..');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
  repository: { url: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the project's own CommonJS script
const { nodeFlags, nodeEnv } = require('../../scripts/node-flags.js') as { nodeFlags: () => string[]; nodeEnv: () => Record<string, string> };
const ENTRYPOINT = ['/usr/local/bin/node', ...nodeFlags(), '/app/node_modules/cryptid-gateway/dist/cryptid-gateway.js'];
const BUILD_MS = 240_000;

// Building needs buildah and root (containers-storage, chroot, mount). Without them the
// tests are skipped, except in CI, where they fail saying what to install.
const missing = findExecutable('buildah') === undefined ? 'buildah is not on PATH; apt-get install -y buildah' : process.getuid?.() !== 0 ? 'not root' : undefined;
const skip = missing !== undefined && !process.env.CI;

const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1));

/** Runs `command` to its end, failing past `ms` with its output. */
async function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; ms: number }): Promise<{ stdout: string; stderr: string }> {
  const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: options.ms });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const [code, signal] = await waitFor<[number | null, NodeJS.Signals | null]>(
    `${command} ${args.join(' ')} to finish`,
    (done) => {
      const onClose = (c: number | null, s: NodeJS.Signals | null): void => done([c, s]);
      child.once('close', onClose);
      return () => child.off('close', onClose);
    },
    options.ms + 5_000,
  );
  if (code !== 0) throw new Error(`${command} ${args.join(' ')}: ${signal ?? `exit ${code}`}\n${stdout}\n${stderr}`);
  return { stdout, stderr };
}

/** Every path under `root` that `uid`/`gid` could write to or that is setuid/setgid, relative to `root`. */
function writableOrSetId(root: string, uid: number, gid: number): string[] {
  const found: string[] = [];
  const visit = (path: string, rel: string): void => {
    const st = lstatSync(path);
    if (!st.isSymbolicLink()) {
      const writable = st.uid === uid || (st.mode & 0o002) !== 0 || (st.gid === gid && (st.mode & 0o020) !== 0);
      if (writable || (st.mode & 0o6000) !== 0) found.push(`${rel || '/'} (${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)})`);
    }
    if (st.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name), `${rel}/${name}`);
  };
  visit(root, '');
  return found;
}

(skip ? describe.skip : describe)(`the container image${skip ? ` (SKIPPED: ${missing})` : ''}`, () => {
  let tmp: string;
  let image: UnpackedImage;
  let buildOutput: string;
  let cert: TestCert;
  let upstream: TestUpstream;
  let gateway: ChildProcess | undefined;
  let logs: ChildLines;
  let url: string;
  let metricsPort: number;

  /** The image's argv and environment, run as its user by chroot on a read-only bind mount of the root filesystem. */
  function startInImage(args: string[]): ChildProcess {
    const { User, Env } = image.config.config;
    const tool = (name: string): string => requireExecutable(name, 'util-linux coreutils mount');
    // A private mount namespace: the read-only bind mount lives and dies with the process.
    const script = 'set -e; m=$1; c=$2; r=$3; u=$4; shift 4; "$m" --bind "$r" "$r"; "$m" -o remount,bind,ro "$r"; exec "$c" --userspec="$u" "$r" "$@"';
    const env = Object.fromEntries((Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    const child = spawn(
      tool('unshare'),
      ['--mount', '--propagation', 'private', tool('sh'), '-c', script, 'sh', tool('mount'), tool('chroot'), image.rootfs, User ?? '', ...args],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // Node writes warnings there; the test reads only its log lines on stdout.
    child.stderr?.setEncoding('utf8').on('data', (t: string) => process.stderr.write(t));
    return child;
  }

  beforeAll(async () => {
    if (missing !== undefined) {
      requireExecutable('buildah', 'buildah');
      throw new Error(`the image tests need root: ${missing}`);
    }
    tmp = mkdtempSync(join(tmpdir(), 'cryptid-image-'));
    const out = join(tmp, 'out');
    const { stdout, stderr } = await run('bash', [join(ROOT, 'scripts', 'build-image.sh')], { env: { ...process.env, IMAGE_OUT_DIR: out }, ms: BUILD_MS });
    buildOutput = `${stdout}${stderr}`;
    image = await unpackOciArchive(join(out, `cryptid-gateway-${PKG.version}.oci.tar`), join(tmp, 'image'));
    // The runtime makes the root directory itself; tar leaves it as mkdtemp made it (0700).
    chmodSync(image.rootfs, 0o755);
  }, BUILD_MS + 60_000);

  afterAll(async () => {
    if (gateway && gateway.exitCode === null && gateway.signalCode === null) {
      const exited = once(gateway, 'exit');
      gateway.kill('SIGKILL');
      await exited;
    }
    await upstream?.close();
    cert?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('prints the image and its size, and stores the same image in local containers-storage', async () => {
    expect(buildOutput).toMatch(new RegExp(`image +localhost/cryptid-gateway:${PKG.version.replace(/\./g, '\\.')} \\(\\d+(\\.\\d+)? [kMG]?B,`));
    const driver = /storage driver (\w+)/.exec(buildOutput)?.[1] ?? '';
    const { stdout } = await run('buildah', ['--storage-driver', driver, 'images', '--quiet', '--no-trunc', `localhost/cryptid-gateway:${PKG.version}`], { ms: 30_000 });
    // An image's ID is its config's digest: the archive holds the stored image.
    expect(stdout.trim()).toBe(image.configDigest);
    expect(image.refName).toBe(`cryptid-gateway:${PKG.version}`);
  });

  it('is one layer made here, on no base image, run by a non-root user through the gateway’s entrypoint', () => {
    const { config, history, rootfs, os } = image.config;
    expect(image.layers).toHaveLength(1);
    expect(rootfs.diff_ids).toHaveLength(1);
    expect(history?.map((h) => h.created_by)).toEqual([expect.stringContaining('build-image.sh')]);
    expect(os).toBe('linux');
    expect(config.User).toBe('10001:10001');
    expect(config.Entrypoint).toEqual(ENTRYPOINT);
    // The environment of scripts/node-env.txt (glibc's malloc keeping its freed heap), which the process runs in.
    expect(config.Env).toEqual(expect.arrayContaining(Object.entries(nodeEnv()).map(([name, value]) => `${name}=${value}`)));
    expect(config.Cmd).toEqual(['serve']);
    expect(config.WorkingDir).toBe('/app');
    expect(Object.keys(config.ExposedPorts ?? {}).sort()).toEqual([`${portOf(DEFAULTS.listen)}/tcp`, `${portOf(DEFAULTS.metrics.listen)}/tcp`].sort());
    expect(config.Labels).toMatchObject({
      'org.opencontainers.image.version': PKG.version,
      'org.opencontainers.image.licenses': PKG.license,
      'org.opencontainers.image.source': PKG.repository.url.replace(/^git\+/, '').replace(/\.git$/, ''),
      'io.cryptid-gateway.node.version': expect.stringMatching(/^v24\./),
    });
  });

  it('holds the built package and its production dependencies, no dev dependency, no sources or tests', () => {
    const modules = join(image.rootfs, 'app', 'node_modules');
    for (const name of Object.keys(PKG.dependencies)) expect({ name, present: existsSync(join(modules, name, 'package.json')) }).toEqual({ name, present: true });
    expect(Object.keys(PKG.devDependencies).filter((name) => existsSync(join(modules, name)))).toEqual([]);
    expect(existsSync(join(modules, '@types'))).toBe(false);
    expect(readdirSync(join(modules, 'cryptid-gateway')).sort()).toEqual(['CHANGELOG.md', 'LICENSE', 'README.md', 'dist', 'package.json']);
    expect(readdirSync(image.rootfs).sort()).toEqual(['app', 'etc', 'lib', 'lib64', 'usr']);
  });

  it('gives the gateway’s user no file it can write, and has no setuid or setgid file', () => {
    // chmod made / 0755 above, as a runtime would; the walk covers everything the layer holds.
    expect(writableOrSetId(image.rootfs, 10001, 10001)).toEqual([]);
    expect(readFileSync(join(image.rootfs, 'etc', 'passwd'), 'utf8')).toMatch(/^cryptid:x:10001:10001:/m);
  });

  it('resolves localhost through its own /etc/hosts and NSS configuration', async () => {
    const child = startInImage([
      '/usr/local/bin/node',
      '-e',
      "require('node:dns').lookup('localhost', { all: true }, (e, a) => { if (e) throw e; console.log(JSON.stringify(a)); })",
    ]);
    const out = followLines(child);
    const line = await out.until((l) => l.startsWith('['), 'the addresses of localhost');
    expect(JSON.parse(line)).toEqual(expect.arrayContaining([{ address: '127.0.0.1', family: 4 }]));
    await waitFor('the lookup to exit', (done) => void child.once('exit', () => done()));
  });

  describe('its entrypoint, run as its user on its read-only root filesystem', () => {
    beforeAll(async () => {
      cert = makeCert();
      upstream = await startUpstream((req, res) => {
        const body = req.url === '/v1/health' ? '{"status":"healthy","timestamp":0,"version":"1.0.0","uptime":1}' : JSON.stringify({ reached: req.url });
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      });
      // As the kubelet mounts a Secret and a ConfigMap: files the user can read, not write.
      const etc = join(image.rootfs, 'etc', 'cryptid');
      mkdirSync(join(etc, 'tls'), { recursive: true });
      copyFileSync(cert.certPath, join(etc, 'tls', 'tls.crt'));
      copyFileSync(cert.keyPath, join(etc, 'tls', 'tls.key'));
      chmodSync(join(etc, 'tls', 'tls.key'), 0o644);
      // No drain delay: the test stops it at once.
      writeFileSync(join(etc, 'gateway.yaml'), 'shutdown: {drainDelayMs: 0, timeoutMs: 1000}\n');
      const { Entrypoint = [], Cmd = [] } = image.config.config;
      gateway = startInImage([
        ...Entrypoint,
        ...Cmd,
        '--config',
        '/etc/cryptid/gateway.yaml',
        '--upstream',
        upstream.url,
        '--server-name',
        'chat.example.com',
        '--tls-cert',
        '/etc/cryptid/tls/tls.crt',
        '--tls-key',
        '/etc/cryptid/tls/tls.key',
        '--listen',
        '127.0.0.1:0',
        '--metrics-listen',
        '127.0.0.1:0',
      ]);
      logs = followLines(gateway);
      const event = (name: string) => (line: string) => line.includes(`"event":"${name}"`);
      const listening = JSON.parse(await logs.until(event('listening'), 'the gateway logging "listening"', 15_000)) as { url: string };
      url = listening.url;
      metricsPort = (JSON.parse(await logs.until(event('metrics_listening'), 'the gateway logging "metrics_listening"')) as { port: number }).port;
      await logs.until(event('upstream_status'), 'the gateway logging its first "upstream_status"');
    }, 30_000);

    it('serves the discovery document over TLS with the certificate’s fingerprint', async () => {
      const res = await testRequest(`${url}/.well-known/cryptid`, { ca: cert.cert });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ server_name: 'chat.example.com', certificate_fingerprint: opensslFingerprint(cert.certPath) });
    });

    it('answers /v1/health and proxies other requests to the upstream', async () => {
      const health = await testRequest(`${url}/v1/health`, { ca: cert.cert });
      expect({ status: health.status, body: health.json }).toMatchObject({ status: 200, body: { status: 'healthy' } });
      const before = upstream.requests.length;
      const proxied = await testRequest(`${url}/v1/through-the-image?x=1`, { ca: cert.cert });
      expect({ status: proxied.status, body: proxied.json }).toEqual({ status: 200, body: { reached: '/v1/through-the-image?x=1' } });
      expect(upstream.requests.slice(before).map((r) => r.url)).toContain('/v1/through-the-image?x=1');
    });

    it('answers readiness and metrics on the private listener', async () => {
      expect((await testRequest(`http://127.0.0.1:${metricsPort}/readyz`)).status).toBe(200);
      const metrics = await testRequest(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(metrics.body.toString()).toMatch(new RegExp(`^cryptid_gateway_build_info\\{[^}]*version="${PKG.version.replace(/\./g, '\\.')}"`, 'm'));
    });

    it('runs as uid and gid 10001, with no capabilities, chrooted to the image', () => {
      const pid = gateway?.pid ?? 0;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const field = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
      // The process chroot became: the image's node running the image's entrypoint.
      expect(readlinkSync(`/proc/${pid}/exe`)).toBe(join(image.rootfs, 'usr', 'local', 'bin', 'node'));
      expect(
        readFileSync(`/proc/${pid}/cmdline`, 'utf8')
          .split('\0')
          .slice(0, ENTRYPOINT.length + 1),
      ).toEqual([...ENTRYPOINT, 'serve']);
      expect(field('Uid').split(/\s+/)).toEqual(['10001', '10001', '10001', '10001']);
      expect(field('Gid').split(/\s+/)).toEqual(['10001', '10001', '10001', '10001']);
      expect(field('CapEff')).toMatch(/^0+$/);
      expect(readlinkSync(`/proc/${pid}/root`)).toBe(image.rootfs);
    });

    it('stops with exit 0 on SIGTERM, no write refused on the way', async () => {
      const child = gateway as ChildProcess;
      const exited = waitFor<[number | null, NodeJS.Signals | null]>('the gateway to exit after SIGTERM', (done) => {
        const onExit = (code: number | null, signal: NodeJS.Signals | null): void => done([code, signal]);
        child.once('exit', onExit);
        return () => child.off('exit', onExit);
      });
      child.kill('SIGTERM');
      expect(await exited).toEqual([0, null]);
      expect(logs.lines.filter((l) => /EROFS|EACCES/.test(l))).toEqual([]);
    });
  });
});
