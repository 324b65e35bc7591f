import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { startMetricsListener, type MetricsListener } from '../../src/metrics/listener';
import { GatewayMetrics } from '../../src/metrics/metrics';
import { routeOf } from '../../src/protocol/routes';
import { PACKAGE_VERSION } from '../../src/version';
import { pollUntil } from '../helpers/deadline';
import { requireExecutable, skipWithout } from '../helpers/executables';

/** A registry that says when it is scraped, so the test awaits scrapes instead of polling. */
class ObservedRegistry extends Registry {
  readonly scrapes = new EventEmitter();
  override metrics(): Promise<string> {
    this.scrapes.emit('scrape');
    return super.metrics();
  }
}

/** A port free right now on 127.0.0.1 (Prometheus cannot report the port it bound to 0). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface QueryResult {
  status: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

function query(port: number, promql: string): Promise<QueryResult> {
  return new Promise((resolve, reject) => {
    const path = `/api/v1/query?query=${encodeURIComponent(promql)}`;
    request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as QueryResult);
        } catch (err) {
          reject(new Error(`Prometheus answered ${res.statusCode}: ${body}`, { cause: err }));
        }
      });
    })
      .on('error', reject)
      .end();
  });
}

/** Resolves when `pattern` shows up in the child's output; rejects if it exits or `ms` pass first. */
function waitForOutput(child: ChildProcess, pattern: RegExp, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => finish(new Error(`no ${pattern} from prometheus within ${ms} ms:\n${seen}`)), ms);
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8');
      if (pattern.test(seen)) finish();
    };
    const onExit = (code: number | null): void => finish(new Error(`prometheus exited (${code}):\n${seen}`));
    function finish(err?: Error): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

const skip = skipWithout('prometheus');

(skip ? describe.skip : describe)(
  `a real Prometheus scraping the metrics listener${skip ? ' (SKIPPED: prometheus is not on PATH; apt-get install -y prometheus)' : ''}`,
  () => {
    jest.setTimeout(30000);

    let dir: string;
    let registry: ObservedRegistry;
    let listener: MetricsListener;
    let prometheus: ChildProcess | undefined;
    let promPort: number;

    beforeAll(async () => {
      const binary = requireExecutable('prometheus', 'prometheus');
      dir = mkdtempSync(join(tmpdir(), 'cryptid-prometheus-'));
      registry = new ObservedRegistry();
      const metrics = new GatewayMetrics({ registry, defaultMetrics: true, protocolVersion: '1.0' });
      metrics.setUpstreamStatus('healthy');
      for (let i = 0; i < 3; i++) metrics.observeRequest('POST', routeOf('POST', '/v1/messages'), 202, 0.015);
      metrics.observeRequest('GET', routeOf('GET', '/v1/infopackages/c2VjcmV0LXNlZ21lbnQ'), 200, 0.004);
      listener = await startMetricsListener({ host: '127.0.0.1', port: 0, registry, isReady: () => ({ ready: true }) });

      writeFileSync(
        join(dir, 'prometheus.yml'),
        [
          'global:',
          '  scrape_interval: 1s',
          '  scrape_timeout: 1s',
          'scrape_configs:',
          '  - job_name: cryptid-gateway',
          '    static_configs:',
          `      - targets: ['127.0.0.1:${listener.port}']`,
          '',
        ].join('\n'),
      );
      promPort = await freePort();
      prometheus = spawn(binary, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      await waitForOutput(prometheus, /Server is ready to receive web requests/, 15000);
      // Stored once `up` is: Prometheus commits a scrape's samples before it appends `up` for
      // that scrape. Asked for, rather than waiting a whole scrape interval for the next one.
      await once(registry.scrapes, 'scrape');
      await pollUntil(async () => (await query(promPort, 'up{job="cryptid-gateway"}')).data.result.length > 0, 'Prometheus storing its first scrape of the listener', 10_000);
    });

    afterAll(async () => {
      if (prometheus && prometheus.exitCode === null && prometheus.signalCode === null) {
        const exited = once(prometheus, 'exit');
        prometheus.kill('SIGTERM');
        const timer = setTimeout(() => prometheus?.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await listener?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('scrapes the listener successfully', async () => {
      const result = await query(promPort, 'up{job="cryptid-gateway"}');
      expect(result.status).toBe('success');
      expect(result.data.result.map((r) => r.value[1])).toEqual(['1']);
    });

    it('stores build_info with the version and protocol version labels', async () => {
      const result = await query(promPort, 'cryptid_gateway_build_info');
      expect(result.data.result).toEqual([
        {
          metric: {
            __name__: 'cryptid_gateway_build_info',
            instance: `127.0.0.1:${listener.port}`,
            job: 'cryptid-gateway',
            protocol_version: '1.0',
            version: PACKAGE_VERSION,
          },
          value: [expect.any(Number), '1'],
        },
      ]);
    });

    it('stores request series labelled by method, route template and status code, never the raw path', async () => {
      const result = await query(promPort, 'cryptid_gateway_http_requests_total');
      const series = result.data.result.map((r) => ({ ...r.metric, value: r.value[1] }));
      expect(series).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ method: 'POST', route: '/v1/messages', status_code: '202', value: '3' }),
          expect.objectContaining({ method: 'GET', route: '/v1/infopackages/:url_segment', status_code: '200', value: '1' }),
        ]),
      );
      expect(JSON.stringify(result)).not.toContain('c2VjcmV0LXNlZ21lbnQ');
      const buckets = await query(promPort, 'count(cryptid_gateway_http_request_duration_seconds_bucket{route="/v1/messages"})');
      expect(buckets.data.result[0]?.value[1]).toBe('16'); // 15 buckets + Inf
    });

    it('stores the upstream state as one series per state', async () => {
      const result = await query(promPort, 'cryptid_gateway_upstream_status');
      const states = Object.fromEntries(result.data.result.map((r) => [r.metric.status, r.value[1]]));
      expect(states).toEqual({ healthy: '1', degraded: '0', unhealthy: '0' });
    });
  },
);
