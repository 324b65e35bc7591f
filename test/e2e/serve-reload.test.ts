import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { makeCert, type TestCert } from '../helpers/certs';
import { followLines, type ChildLines } from '../helpers/child-lines';
import { withDeadline } from '../helpers/deadline';
import { testRequest } from '../helpers/http-request';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text';
import { PROBE_PATH } from '../helpers/upstream';
import { startWsUpstream, type WsUpstream } from '../helpers/ws-upstream';
import { BIN } from '../helpers/bin';

// The CLI as users run it: the built bin in a child process (npm test builds first).

type LogLine = Record<string, unknown>;

/** What a test's configuration file says; everything else stays the same between writes. */
interface Settings {
  readonly serverName: string;
  readonly limit?: number;
  /** Replaces the generated text (a broken file). */
  readonly text?: string;
  /** Extra YAML lines at the top level. */
  readonly extra?: string;
  readonly upstream?: string | null;
  readonly listen?: string;
  readonly metricsListen?: string;
  readonly cert?: TestCert;
}

/** A running `serve` child with its log, public URL and metrics port. */
interface Serve {
  readonly child: ChildProcess;
  readonly out: ChildLines;
  readonly url: string;
  readonly metricsPort: number;
  /** The next line logging `event`, after the lines seen when `mark()` was called. */
  next(event: string, from: number): Promise<LogLine>;
  /** The index of the next line to come. */
  mark(): number;
  stop(): Promise<void>;
}

describe('serve reloads its configuration', () => {
  let cert: TestCert;
  let otherCert: TestCert;
  let upstream: WsUpstream;
  let dir: string;
  let running: Serve | undefined;

  const yaml = (s: Settings): string =>
    s.text ??
    [
      ...(s.upstream === null ? [] : [`upstream: ${s.upstream ?? upstream.url}`]),
      `listen: ${s.listen ?? '127.0.0.1:0'}`,
      `tls: {cert: ${(s.cert ?? cert).certPath}, key: ${(s.cert ?? cert).keyPath}}`,
      `metrics: {listen: "${s.metricsListen ?? '127.0.0.1:0'}"}`,
      `discovery: {document: {server_name: ${s.serverName}}}`,
      `health: {probe: {path: ${PROBE_PATH}, intervalMs: 60000}}`,
      `rateLimits: {rules: [{name: limited, match: [/v1/limited], key: ip, limit: ${s.limit ?? 1}, windowMs: 60000}]}`,
      'shutdown: {drainDelayMs: 0, timeoutMs: 1000}',
      ...(s.extra === undefined ? [] : [s.extra]),
    ].join('\n') + '\n';

  /** Writes the file as an editor that saves by rename does: the watcher never sees it half-written. */
  const replace = (file: string, s: Settings): void => {
    writeFileSync(`${file}.tmp`, yaml(s));
    renameSync(`${file}.tmp`, file);
  };

  async function serve(configPath: string): Promise<Serve> {
    const child = spawn(process.execPath, [BIN, 'serve', '--config', configPath], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = followLines(child);
    const parse = (line: string): LogLine => JSON.parse(line) as LogLine;
    const after = (from: number, event: string) => (line: string) => out.lines.lastIndexOf(line) >= from && parse(line).event === event;
    const listening = parse(await out.until(after(0, 'listening'), 'serve logging "listening"'));
    const metrics = parse(await out.until(after(0, 'metrics_listening'), 'serve logging "metrics_listening"'));
    await out.until(after(0, 'upstream_status'), 'the first probe');
    const stop = async (): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await withDeadline(exited, 'serve to exit on SIGTERM');
    };
    return {
      child,
      out,
      url: String(listening.url),
      metricsPort: Number(metrics.port),
      mark: () => out.lines.length,
      next: async (event, from) => parse(await out.until(after(from, event), `serve logging "${event}"`)),
      stop,
    };
  }

  const discovered = async (s: Serve): Promise<unknown> => (await testRequest(`${s.url}/.well-known/cryptid`, { ca: cert.cert })).json;

  async function reloads(s: Serve): Promise<Record<string, number | undefined>> {
    const families = parsePrometheusText((await testRequest(`http://127.0.0.1:${s.metricsPort}/metrics`)).body.toString());
    const count = (result: string): number | undefined => sampleValue(families, 'cryptid_gateway_config_reloads_total', { result });
    return { applied: count('applied'), unchanged: count('unchanged'), partial: count('partial'), rejected: count('rejected') };
  }

  beforeAll(async () => {
    cert = makeCert();
    otherCert = makeCert();
    upstream = await startWsUpstream((_req, res) => res.end('ok'));
  });
  afterAll(async () => {
    cert.cleanup();
    otherCert.cleanup();
    await upstream.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cryptid-reload-'));
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('on SIGHUP, reading the file again', async () => {
    // The file the gateway is given links into another directory, which it does not watch:
    // only the signal can make it look again.
    const real = join(dir, 'elsewhere');
    mkdirSync(real);
    mkdirSync(join(dir, 'mounted'));
    writeFileSync(join(real, 'config.yaml'), yaml({ serverName: 'one.example.test' }));
    symlinkSync(join(real, 'config.yaml'), join(dir, 'mounted', 'config.yaml'));
    const s = (running = await serve(join(dir, 'mounted', 'config.yaml')));

    let from = s.mark();
    s.child.kill('SIGHUP');
    expect(await s.next('config_reloaded', from)).toMatchObject({ changed: [] });

    writeFileSync(join(real, 'config.yaml'), yaml({ serverName: 'two.example.test' }));
    from = s.mark();
    s.child.kill('SIGHUP');
    expect(await s.next('config_reloaded', from)).toMatchObject({ changed: ['discovery.document.server_name'] });
    expect(await discovered(s)).toMatchObject({ server_name: 'two.example.test' });
    expect(await reloads(s)).toEqual({ applied: 1, unchanged: 1, partial: 0, rejected: 0 });
  });

  it('when the file is overwritten, keeping a keep-alive connection and an open WebSocket tunnel', async () => {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, yaml({ serverName: 'one.example.test', limit: 1 }));
    const s = (running = await serve(file));
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: cert.cert, servername: 'localhost' });
    const ws = new WebSocket(`${s.url.replace('https', 'wss')}/v1/stream`, ['cryptid.v1'], {
      headers: { authorization: 'Bearer good' },
      ca: cert.cert,
    });
    try {
      await withDeadline(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 'the tunnel to open');
      const before = await get(`${s.url}/v1/limited`, agent);
      expect(before.status).toBe(200);
      expect((await get(`${s.url}/v1/limited`, agent)).status).toBe(429);

      const from = s.mark();
      writeFileSync(file, yaml({ serverName: 'two.example.test', limit: 3 }));
      const line = await s.next('config_reloaded', from);
      expect(line).toMatchObject({ changed: ['discovery.document.server_name', 'rateLimits.rules'] });

      const after = await get(`${s.url}/v1/limited`, agent);
      expect(after).toMatchObject({ status: 200, localPort: before.localPort });
      expect(await discovered(s)).toMatchObject({ server_name: 'two.example.test' });
      const echoed = new Promise<string>((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString())));
      ws.send('still here');
      expect(await withDeadline(echoed, 'the echo through the tunnel opened before the reload')).toBe('still here');
    } finally {
      ws.terminate();
      agent.destroy();
    }
  });

  it('when a Kubernetes ConfigMap swaps its ..data link', async () => {
    const publish = (name: string, s: Settings): void => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'config.yaml'), yaml(s));
    };
    publish('..2026_12_02_00_00_00.000000001', { serverName: 'one.example.test' });
    symlinkSync('..2026_12_02_00_00_00.000000001', join(dir, '..data'));
    symlinkSync('..data/config.yaml', join(dir, 'config.yaml'));
    const s = (running = await serve(join(dir, 'config.yaml')));

    const from = s.mark();
    publish('..2026_12_02_00_05_00.000000002', { serverName: 'two.example.test' });
    symlinkSync('..2026_12_02_00_05_00.000000002', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    expect(await s.next('config_reloaded', from)).toMatchObject({ changed: ['discovery.document.server_name'] });
    expect(await discovered(s)).toMatchObject({ server_name: 'two.example.test' });
  });

  it('refuses a broken file whole, naming every problem, and keeps serving the running configuration', async () => {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, yaml({ serverName: 'one.example.test' }));
    const s = (running = await serve(file));

    const refused: [Settings, RegExp[]][] = [
      [{ serverName: 'two.example.test', extra: 'proxy: {timeotMs: 5}' }, [/^proxy\.timeotMs: unknown key: did you mean "timeoutMs"\?/]],
      [{ serverName: 'two.example.test', extra: 'proxy: {timeoutMs: -5}' }, [/^proxy\.timeoutMs: expected a positive integer/]],
      [{ serverName: 'two.example.test', upstream: null }, [/^upstream: /]],
      // Cut off mid-write: both unclosed collections are reported.
      [{ serverName: 'two.example.test', text: 'upstream: [http://127.0.0.1:1\ndiscovery: {' }, [/^\(file\): .*config\.yaml: /, /^\(file\): .*config\.yaml: /]],
      [{ serverName: 'Two.Example', extra: 'proxy: {failFast: maybe}' }, [/^discovery\.document\.server_name: /, /^proxy\.failFast: expected true or false/]],
    ];
    for (const [settings, problems] of refused) {
      const from = s.mark();
      replace(file, settings);
      const line = await s.next('config_reload_rejected', from);
      expect(line.problems).toEqual(problems.map((p) => expect.stringMatching(p)));
      expect(line.level).toBe(50);
      expect(await discovered(s)).toMatchObject({ server_name: 'one.example.test' });
    }
    expect(await reloads(s)).toEqual({ applied: 0, unchanged: 0, partial: 0, rejected: refused.length });
  });

  it('keeps listen, metrics.listen and the tls paths at their running values, with a warning naming each, and applies the rest', async () => {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, yaml({ serverName: 'one.example.test' }));
    const s = (running = await serve(file));

    const from = s.mark();
    replace(file, { serverName: 'two.example.test', listen: '127.0.0.1:1', metricsListen: '127.0.0.1:2', cert: otherCert });
    const line = await s.next('config_reloaded', from);
    expect(line).toMatchObject({ changed: ['discovery.document.server_name'], kept: ['listen', 'metrics.listen', 'tls.cert', 'tls.key'] });
    const warnings = s.out.lines
      .slice(from)
      .map((l) => JSON.parse(l) as LogLine)
      .filter((l) => l.event === 'config_restart_required');
    expect(warnings.map((w) => w.key)).toEqual(['listen', 'metrics.listen', 'tls.cert', 'tls.key']);
    expect(warnings.every((w) => String(w.msg).includes('needs a restart'))).toBe(true);
    // Still the same listeners and the same certificate, with the new document.
    const res = await testRequest(`${s.url}/.well-known/cryptid`, { ca: cert.cert });
    expect(res.json).toMatchObject({ server_name: 'two.example.test' });
    expect(res.peerCertificateRaw).toEqual(new X509Certificate(cert.cert).raw);
    expect(await reloads(s)).toEqual({ applied: 0, unchanged: 0, partial: 1, rejected: 0 });
  });
});

/** One GET on a keep-alive agent, with the local port of the socket it went out on. */
function get(url: string, agent: Agent): Promise<{ status: number; localPort: number | undefined }> {
  return withDeadline(
    new Promise((resolve, reject) => {
      const req = request(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, localPort: (req.socket as Socket | null)?.localPort }));
      });
      req.on('error', reject);
      req.end();
    }),
    `GET ${url}`,
  );
}
