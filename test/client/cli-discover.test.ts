import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { discoverCommand } from '../../src/cli/discover';
import { fingerprintOfPem } from '../../src/protocol/fingerprint';
import { makeCert, type TestCert } from '../helpers/certs';
import { captureIo } from '../helpers/cli-io';
import { documentFor, startCryptidServer, type FakeCryptidServer } from '../helpers/cryptid-server';

const DOMAIN = 'chat.example.test';
let cert: TestCert;
let rotated: TestCert;
let bundle: string;
let home: string;
let server: FakeCryptidServer;

beforeAll(() => {
  cert = makeCert({ commonName: DOMAIN });
  rotated = makeCert({ commonName: DOMAIN });
});
afterAll(() => {
  cert.cleanup();
  rotated.cleanup();
});
beforeEach(async () => {
  home = mkdtempSync(join(tmpdir(), 'cryptid-home-'));
  bundle = join(home, 'ca.pem');
  writeFileSync(bundle, cert.cert + rotated.cert);
  server = await startCryptidServer(cert, DOMAIN);
});
afterEach(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
});

/** Runs the command in-process with captured output. */
async function run(args: string[], env: Record<string, string> = { HOME: home }): Promise<{ code: number; out: string; err: string }> {
  const { io, out, err } = captureIo({ env, cwd: home });
  const code = await discoverCommand(args, io);
  return { code, out: out(), err: err() };
}

/** The usual arguments: the fake server's address and the test CA, relative to cwd. */
function target(...extra: string[]): string[] {
  return [DOMAIN, '--url', server.url, '--ca', basename(bundle), '--timeout', '2000', ...extra];
}

const knownServers = (): string => join(home, '.config', 'cryptid-gateway', 'known_servers.json');

describe('cryptid-gateway discover', () => {
  it('prints a readable report, pins on first use under HOME and exits 0', async () => {
    const { code, out, err } = await run(target());
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain(`${DOMAIN}: usable`);
    expect(out).toContain('protocol      1.0 (compatible with client 1.0)');
    expect(out).toContain('mls_messaging, websocket_streaming, offline_queuing');
    expect(out).toContain('announcements_per_hour 24');
    expect(out).toContain(fingerprintOfPem(cert.cert));
    expect(out).toContain('pinned now (first use)');
    expect(out).toMatch(/health {8}healthy, version 1\.0\.0, up 1h 0m, clock skew [+-]\d+ s/);
    expect(JSON.parse(readFileSync(knownServers(), 'utf8')).servers[DOMAIN].fingerprint).toBe(fingerprintOfPem(cert.cert));
  });

  it('prints one JSON object for monitoring tools', async () => {
    await run(target());
    const { code, out } = await run(target('--json'));
    expect(code).toBe(0);
    const report = JSON.parse(out) as Record<string, unknown>;
    expect(report).toMatchObject({
      domain: DOMAIN,
      usable: true,
      exitCode: 0,
      compatible: true,
      fingerprint: fingerprintOfPem(cert.cert),
      pin: { status: 'match', knownServers: knownServers() },
      health: { status: 'healthy', httpStatus: 200 },
      error: null,
    });
    expect((report.document as { server_name: string }).server_name).toBe(DOMAIN);
  });

  it('exits 3 naming both fingerprints when the certificate changed, and says how to accept it', async () => {
    await run(target());
    server.useCert(rotated);
    server.behaviour.document = documentFor(DOMAIN, rotated);
    const { code, out, err } = await run(target());
    expect(code).toBe(3);
    expect(out).toBe('');
    expect(err).toContain('FINGERPRINT_MISMATCH');
    expect(err).toContain(fingerprintOfPem(cert.cert));
    expect(err).toContain(`--accept-fingerprint ${fingerprintOfPem(rotated.cert)}`);

    const json = await run(target('--json'));
    expect(json.code).toBe(3);
    expect(JSON.parse(json.out)).toMatchObject({
      usable: false,
      exitCode: 3,
      error: { code: 'FINGERPRINT_MISMATCH', fingerprintSource: 'pin', expectedFingerprint: fingerprintOfPem(cert.cert), presentedFingerprint: fingerprintOfPem(rotated.cert) },
    });
  });

  it('accepts a changed certificate only when told, by fingerprint or wholesale', async () => {
    await run(target());
    server.useCert(rotated);
    server.behaviour.document = documentFor(DOMAIN, rotated);
    expect((await run(target('--accept-fingerprint', `sha256:${'0'.repeat(64)}`))).code).toBe(3);
    const accepted = await run(target('--accept-fingerprint', fingerprintOfPem(rotated.cert)));
    expect(accepted.code).toBe(0);
    expect(accepted.out).toContain(`changed certificate accepted and pinned (was ${fingerprintOfPem(cert.cert)})`);
    expect((await run(target())).code).toBe(0);

    server.useCert(cert);
    server.behaviour.document = documentFor(DOMAIN, cert);
    expect((await run(target('--accept-new-fingerprint'))).code).toBe(0);
  });

  it('exits 1 for a reachable server of an incompatible protocol version', async () => {
    server.behaviour.document = documentFor(DOMAIN, cert, { protocol_version: '2.0' });
    const { code, out } = await run(target('--json'));
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ usable: false, compatible: false, reasons: ['protocol 2.0 is not compatible with 1.0'] });
  });

  it('exits 1 for an unhealthy server and shows its reason', async () => {
    server.behaviour.health = { status: 'unhealthy', details: 'Database connection failed' };
    const { code, out } = await run(target());
    expect(code).toBe(1);
    expect(out).toContain('UNUSABLE (the server reports itself unhealthy: Database connection failed)');
  });

  it('exits 0 for a server without a health endpoint and says health is unknown', async () => {
    server.behaviour.health = undefined;
    const { code, out } = await run(target());
    expect(code).toBe(0);
    expect(out).toContain('unknown (no /v1/health endpoint)');
  });

  it('exits 2 with one clear line for a server that does not speak Cryptid', async () => {
    server.behaviour.discoveryStatus = 404;
    const { code, err } = await run(target());
    expect(code).toBe(2);
    expect(err).toMatch(/^chat\.example\.test: ENDPOINT_NOT_FOUND: /);
    expect(err.trim().split('\n')).toHaveLength(1);
  });

  it('exits 2 for an invalid document and lists the problems in JSON', async () => {
    server.behaviour.document = documentFor(DOMAIN, cert, { supported_features: ['websocket_streaming'] });
    const { code, out } = await run(target('--json'));
    expect(code).toBe(2);
    expect(JSON.parse(out)).toMatchObject({ error: { code: 'INVALID_DOCUMENT', problems: [expect.stringContaining('supported_features')] } });
  });

  it('exits 2 when the server cannot be reached', async () => {
    const url = server.url;
    await server.close();
    server = await startCryptidServer(cert, DOMAIN);
    const { code, err } = await run([DOMAIN, '--url', url, '--ca', bundle]);
    expect(code).toBe(2);
    expect(err).toContain('NETWORK_ERROR');
  });

  it('exits 2 for a corrupt known-servers file and leaves it untouched', async () => {
    const file = join(home, 'known.json');
    writeFileSync(file, 'not json at all');
    const { code, err } = await run(target('--known-servers', 'known.json'));
    expect(code).toBe(2);
    expect(err).toContain('TOFU_STORE_ERROR');
    expect(err).toContain(`${file} is corrupt`);
    expect(readFileSync(file, 'utf8')).toBe('not json at all');
  });

  it('keeps known servers under XDG_CONFIG_HOME when it is set', async () => {
    const xdg = join(home, 'xdg');
    expect((await run(target(), { XDG_CONFIG_HOME: xdg })).code).toBe(0);
    expect(existsSync(join(xdg, 'cryptid-gateway', 'known_servers.json'))).toBe(true);
  });

  it.each([
    [[], 'DOMAIN is required'],
    [['not a domain'], 'not a fully qualified domain name'],
    [[DOMAIN, '--url', 'http://127.0.0.1:1'], 'must be https://'],
    [[DOMAIN, '--timeout', 'soon'], '--timeout expects'],
    [[DOMAIN, '--ca', 'missing.pem'], 'could not be read (ENOENT)'],
    [[DOMAIN, '--accept-fingerprint', 'abc'], '--accept-fingerprint expects'],
    [[DOMAIN, '--frobnicate'], "Unknown option '--frobnicate'"],
  ])('exits 2 for bad arguments %j', async (args, message) => {
    const { code, err } = await run(args);
    expect(code).toBe(2);
    expect(err).toContain(message);
  });

  it('exits 2 when there is no home for the known-servers file', async () => {
    const { code, err } = await run(target(), {});
    expect(code).toBe(2);
    expect(err).toContain('--known-servers');
  });

  it('prints its usage with --help and exits 0', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    expect(out).toContain('Exit codes: 0 usable');
  });
});
