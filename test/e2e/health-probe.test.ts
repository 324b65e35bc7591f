import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { probeUpstream, type ProbeResultKind } from '../../src/health/probe';
import type { StatusChange } from '../../src/health/states';
import type { HealthTracker, HealthTrackerOptions } from '../../src/health/tracker';
import { waitFor } from '../helpers/deadline';
import { collectChanges, makeTracker, waitForStatus } from '../helpers/tracker';

/** How the fake upstream answers its health path; the test switches it at will. */
type Mode = 'healthy' | 'degraded' | 'unknown' | 'error500' | 'html' | 'reset' | 'hang' | 'noStatus' | 'flap' | 'endless' | 'stallBody' | 'error500Endless';

/** A real upstream on 127.0.0.1:0 whose behaviour the test switches. */
class SwitchableUpstream {
  mode: Mode = 'healthy';
  /** Requests received. */
  hits = 0;
  readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private idleWaiters: Array<() => void> = [];
  url!: URL;

  constructor() {
    this.server = http.createServer((req, res) => this.answer(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => {
        this.sockets.delete(socket);
        if (this.sockets.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = new URL(`http://127.0.0.1:${(this.server.address() as AddressInfo).port}`);
    return this;
  }

  /** Resolves once no connection to the upstream is open. */
  idle(): Promise<void> {
    return waitFor(
      () => `no open connection to the upstream (${this.sockets.size} open)`,
      (done) => {
        if (this.sockets.size === 0) return done();
        this.idleWaiters.push(done);
        return () => {
          this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        };
      },
    );
  }

  /** Resolves on the next request the upstream receives. */
  nextRequest(): Promise<void> {
    return waitFor(`the next request to the upstream (mode ${this.mode})`, (done) => {
      const onRequest = (): void => done();
      this.server.once('request', onRequest);
      return () => this.server.off('request', onRequest);
    });
  }

  /** Stops listening (later connections are refused) and ends every open connection. */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.hits += 1;
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    switch (this.mode) {
      case 'healthy':
        return json(200, { status: 'healthy', timestamp: 1, version: '1.0.0', uptime: 1 });
      case 'degraded':
        return json(200, { status: 'degraded', timestamp: 1, version: '1.0.0', uptime: 1, details: 'replica lagging' });
      case 'unknown':
        return json(200, { status: 'unknown' });
      case 'noStatus':
        return json(200, { protocol_version: '1.0', server_name: 'chat.example.com' });
      case 'error500':
        return json(500, { error: 'INTERNAL' });
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html' });
        return void res.end('<!doctype html><title>It works</title>');
      case 'reset':
        return void req.socket.destroy();
      case 'hang':
        return; // never answers; the probe's timeout must end it
      case 'flap':
        return this.hits % 2 === 1 ? json(200, { status: 'healthy' }) : json(500, {});
      case 'endless': {
        // A 2xx body that never ends: the probe must stop reading past its limit.
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(16 * 1024, 0x20);
        const pump = (): void => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        return pump();
      }
      case 'stallBody':
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.write('{"status":');
      case 'error500Endless':
        res.writeHead(500, { 'content-type': 'application/json' });
        return void res.write('{"error":');
    }
  }
}

const PROBE = { path: '/v1/health', intervalMs: 50, timeoutMs: 200, unhealthyThreshold: 3, healthyThreshold: 2 };

describe('probing a real upstream', () => {
  let upstream: SwitchableUpstream;
  const trackers: HealthTracker[] = [];

  function track(overrides: Partial<HealthTrackerOptions> = {}): HealthTracker {
    const tracker = makeTracker({ upstream: upstream.url, probe: PROBE, ...overrides });
    trackers.push(tracker);
    return tracker;
  }

  beforeEach(async () => {
    upstream = await new SwitchableUpstream().start();
  });

  afterEach(async () => {
    for (const tracker of trackers.splice(0)) tracker.stop();
    await upstream.close();
  });

  describe('one probe', () => {
    const table: Array<[Mode, ProbeResultKind, RegExp]> = [
      ['healthy', 'success', /^$/],
      ['noStatus', 'success', /^$/],
      ['degraded', 'degraded', /^$/],
      ['unknown', 'failure', /^upstream reports an unknown status "unknown"$/],
      ['error500', 'failure', /^upstream answered 500$/],
      ['html', 'failure', /^upstream health answer is not JSON$/],
      ['reset', 'failure', /^upstream reset the connection$/],
      ['hang', 'failure', /^upstream did not answer the probe within 200 ms$/],
      ['endless', 'failure', /^upstream health answer is larger than 64 KiB$/],
      ['stallBody', 'failure', /^upstream did not answer the probe within 200 ms$/],
      ['error500Endless', 'failure', /^upstream answered 500$/],
    ];

    it.each(table)('classifies an upstream in mode %s as %s', async (mode, kind, reason) => {
      upstream.mode = mode;
      const result = await probeUpstream({ upstream: upstream.url, path: '/v1/health', timeoutMs: 200 });
      expect(result.result).toBe(kind);
      expect(result.result === 'failure' ? result.reason : '').toMatch(reason);
      if (result.result === 'degraded') expect(result.details).toBe('replica lagging');
      await upstream.idle();
    });

    it('sends GET {upstream path}{probe path} with its own headers, each probe on a connection of its own that it closes', async () => {
      const seen: Array<{ method: string | undefined; url: string | undefined; headers: http.IncomingHttpHeaders; port: number | undefined }> = [];
      upstream.server.on('request', (req: http.IncomingMessage) => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, port: req.socket.remotePort });
      });
      const base = new URL('/cryptid/', upstream.url);
      for (let i = 0; i < 2; i++) {
        await expect(probeUpstream({ upstream: base, path: '/v1/health', timeoutMs: 1_000 })).resolves.toMatchObject({ result: 'success' });
        await upstream.idle();
      }
      expect(seen).toHaveLength(2);
      for (const request of seen) {
        expect(request).toMatchObject({ method: 'GET', url: '/cryptid/v1/health' });
        expect(request.headers).toMatchObject({ accept: 'application/json', connection: 'close', 'user-agent': 'cryptid-gateway-probe', host: upstream.url.host });
      }
      expect(seen[0]?.port).not.toBe(seen[1]?.port);
    });

    it('classifies a refused connection as a failure whose reason does not name the upstream', async () => {
      const { port } = upstream.url;
      await upstream.close();
      const result = await probeUpstream({ upstream: upstream.url, path: '/v1/health', timeoutMs: 200 });
      expect(result).toMatchObject({ result: 'failure', reason: 'upstream refused the connection' });
      expect(result.result === 'failure' && result.reason).not.toContain(port);
    });

    it('aborts a hanging probe when its signal fires, closing the connection', async () => {
      upstream.mode = 'hang';
      const controller = new AbortController();
      const received = upstream.nextRequest();
      const probe = probeUpstream({ upstream: upstream.url, path: '/v1/health', timeoutMs: 10_000 }, controller.signal);
      await received;
      controller.abort();
      await expect(probe).resolves.toMatchObject({ result: 'failure', reason: 'probe aborted' });
      await upstream.idle();
    });
  });

  describe('the tracker', () => {
    it('turns healthy after the first probe of a healthy upstream', async () => {
      const tracker = track();
      expect(tracker.reason).toBe('waiting for the first probe');
      const change = waitForStatus(tracker, 'healthy');
      tracker.start();
      await expect(change).resolves.toMatchObject({ previous: 'unhealthy', status: 'healthy' });
    });

    it('probes an upstream without /v1/health at /.well-known/cryptid and calls it healthy', async () => {
      upstream.mode = 'noStatus';
      const tracker = track({ probe: { ...PROBE, path: '/.well-known/cryptid' } });
      const change = waitForStatus(tracker, 'healthy');
      tracker.start();
      await change;
    });

    it('reports degraded with the details of an upstream that says it is degraded', async () => {
      upstream.mode = 'degraded';
      const tracker = track();
      const change = waitForStatus(tracker, 'degraded');
      tracker.start();
      await expect(change).resolves.toMatchObject({ reason: 'upstream reports degraded: replica lagging' });
    });

    it.each<[Mode, RegExp]>([
      ['error500', /upstream answered 500/],
      ['html', /not JSON/],
      ['unknown', /unknown status "unknown"/],
      ['reset', /reset the connection/],
      ['hang', /did not answer the probe within 200 ms/],
    ])('goes degraded, then unhealthy after three failed probes, when a healthy upstream turns to %s', async (mode, reason) => {
      const tracker = track();
      const healthy = waitForStatus(tracker, 'healthy');
      tracker.start();
      await healthy;
      const changes = collectChanges(tracker, 2);
      upstream.mode = mode;
      const [degraded, unhealthy] = await changes;
      expect(degraded).toMatchObject({ previous: 'healthy', status: 'degraded' });
      expect(degraded?.reason).toMatch(/^probe failed \(1 of 3 before unhealthy\): /);
      expect(unhealthy).toMatchObject({ previous: 'degraded', status: 'unhealthy' });
      expect(unhealthy?.reason).toMatch(reason);
      expect(unhealthy?.reason).not.toContain(upstream.url.port);
    });

    it('stays unhealthy while the upstream refuses connections from the start, quoting the refusal', async () => {
      await upstream.close();
      const changes: StatusChange[] = [];
      const probes: ProbeResultKind[] = [];
      let tracker!: HealthTracker;
      const fourProbes = new Promise<void>((resolve) => {
        tracker = track({ onProbe: (result) => (probes.push(result) === 4 ? resolve() : undefined) });
      });
      tracker.on('status', (c) => changes.push(c));
      tracker.start();
      await fourProbes;
      expect(probes).toEqual(['failure', 'failure', 'failure', 'failure']);
      expect(changes).toEqual([]);
      expect(tracker.status).toBe('unhealthy');
      expect(tracker.reason).toBe('4 consecutive probes failed: upstream refused the connection');
    });

    it('needs two good probes in a row to leave unhealthy', async () => {
      const tracker = track();
      const healthy = waitForStatus(tracker, 'healthy');
      tracker.start();
      await healthy;
      const unhealthy = waitForStatus(tracker, 'unhealthy');
      upstream.mode = 'error500';
      await unhealthy;
      const recovered = waitForStatus(tracker, 'healthy');
      const hitsBefore = upstream.hits;
      upstream.mode = 'healthy';
      await expect(recovered).resolves.toMatchObject({ previous: 'unhealthy' });
      // The probe in flight when the mode switched may have been answered either way.
      expect(upstream.hits - hitsBefore).toBeGreaterThanOrEqual(2);
    });

    it('alternates between healthy and degraded, never unhealthy, when the upstream flaps on every probe', async () => {
      upstream.mode = 'flap';
      const tracker = track();
      const changes = collectChanges(tracker, 7);
      tracker.start();
      const seen = await changes;
      expect(seen.map((c) => c.status)).toEqual(['healthy', 'degraded', 'healthy', 'degraded', 'healthy', 'degraded', 'healthy']);
    });

    it('counts every probe by result through the observer', async () => {
      upstream.mode = 'flap';
      const probes: Array<[ProbeResultKind, number]> = [];
      const tracker = track({ onProbe: (result, durationMs) => probes.push([result, durationMs]) });
      const changes = collectChanges(tracker, 4);
      tracker.start();
      await changes;
      expect(probes.slice(0, 4).map(([result]) => result)).toEqual(['success', 'failure', 'success', 'failure']);
      for (const [, durationMs] of probes) {
        expect(durationMs).toBeGreaterThan(0);
      }
    });

    it('turns a killed upstream unhealthy within one probe timeout thanks to connection failures on live traffic', async () => {
      const tracker = track({ probe: { ...PROBE, intervalMs: 60_000 } });
      const healthy = waitForStatus(tracker, 'healthy');
      tracker.start();
      await healthy;
      await upstream.close();
      const unhealthy = waitForStatus(tracker, 'unhealthy', PROBE.timeoutMs * 2);
      const killedAt = Date.now();
      // What the proxy reports for three refused requests in a row.
      for (let i = 0; i < 3; i++) tracker.recordRequest({ upstreamFailure: true, connectionFailure: true });
      await expect(unhealthy).resolves.toMatchObject({
        reason: 'live traffic could not reach the upstream and a probe confirmed it: upstream refused the connection',
      });
      expect(Date.now() - killedAt).toBeLessThan(PROBE.timeoutMs);
    });

    it('aborts a hanging probe on stop and leaves no connection open', async () => {
      upstream.mode = 'hang';
      const tracker = track({ probe: { ...PROBE, timeoutMs: 10_000 } });
      const received = upstream.nextRequest();
      tracker.start();
      await received;
      tracker.stop();
      await upstream.idle();
      expect(upstream.hits).toBe(1);
    });

    it('sends no probe and emits nothing after stop', async () => {
      const tracker = track();
      const healthy = waitForStatus(tracker, 'healthy');
      tracker.start();
      await healthy;
      tracker.stop();
      const hits = upstream.hits;
      let events = 0;
      tracker.on('status', () => (events += 1));
      upstream.mode = 'error500';
      // Let several intervals pass, measured by the probes of a second tracker.
      const threeProbes = new Promise<void>((resolve) => {
        let n = 0;
        track({ onProbe: () => (++n === 3 ? resolve() : undefined) }).start();
      });
      await threeProbes;
      expect(events).toBe(0);
      expect(upstream.hits - hits).toBe(3);
    });
  });
});
