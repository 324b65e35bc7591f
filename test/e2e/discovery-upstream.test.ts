import { createServer, type Server } from 'node:http';
import type { GatewayOptions } from '../../src';
import { resolveConfig } from '../../src/config/resolve';
import type { RefreshResult, UpstreamDocumentSource } from '../../src/discovery/upstream-document';
import { GatewayCore, wrapGateway } from '../../src/gateway';
import type { StatusChange } from '../../src/health/states';
import { fingerprintOfPem } from '../../src/protocol/fingerprint';
import { makeCert, type TestCert } from '../helpers/certs';
import { waitFor, withDeadline } from '../helpers/deadline';
import { DocumentUpstream, upstreamDocument } from '../helpers/document-upstream';
import { testRequest } from '../helpers/http-request';
import { closeServer, listenLocal } from '../helpers/listen';
import { captureLog, type CapturedLog } from '../helpers/log-capture';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text';
import { PROBE_PATH, refusingUpstreamUrl } from '../helpers/upstream';

const FP = `sha256:${'0'.repeat(64)}`;
const PENDING = { error: 'SERVER_UNAVAILABLE', message: 'Server temporarily unavailable', retry_after: 5 };

/** A library-mode gateway with `discovery.source: upstream`, its core (for the source) and captured log lines. */
interface UpstreamGateway {
  readonly core: GatewayCore;
  readonly source: UpstreamDocumentSource;
  readonly log: CapturedLog;
  readonly url: string;
  discovery(headers?: Record<string, string>): ReturnType<typeof testRequest>;
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
  /** Log lines of one event. */
  events(event: string): Record<string, unknown>[];
  close(): Promise<void>;
}

async function startUpstreamGateway(
  upstream: string,
  discovery: Partial<Extract<GatewayOptions['discovery'], { source: 'upstream' }>> = {},
  extra: Partial<GatewayOptions> = {},
): Promise<UpstreamGateway> {
  const log = captureLog();
  const options: GatewayOptions = {
    upstream,
    // Tests that drive refresh() themselves keep the timer out of the way; timer tests pass refreshMs: 1000.
    discovery: { source: 'upstream', refreshMs: 60_000, document: { certificate_fingerprint: FP }, ...discovery },
    health: { probe: { path: PROBE_PATH, intervalMs: 60_000 } },
    ...extra,
  };
  const core = new GatewayCore(resolveConfig(options, 'library'), { logger: log.logger });
  const gateway = wrapGateway(core);
  const server: Server = createServer(gateway);
  const port = await listenLocal(server);
  const url = `http://127.0.0.1:${port}`;
  return {
    core,
    source: core.discoverySource as UpstreamDocumentSource,
    log,
    url,
    discovery: (headers = {}) => testRequest(`${url}/.well-known/cryptid`, { headers }),
    metric: async (name, labels = {}) => sampleValue(parsePrometheusText(await core.metrics.registry.metrics()), name, labels),
    events: (event) => log.lines.filter((l) => l.event === event),
    close: async () => {
      await closeServer(server);
      await core.close();
    },
  };
}

/** Resolves once a refresh of the source reports a result for which `until` holds (checked after every refresh). */
function refreshed(source: UpstreamDocumentSource, until: (result: RefreshResult) => boolean, what: string): Promise<void> {
  const seen: RefreshResult[] = [];
  return waitFor(
    () => `${what} (refreshes seen: ${seen.join(', ') || 'none'})`,
    (done) => {
      const listener = (result: RefreshResult): void => {
        seen.push(result);
        if (until(result)) done();
      };
      source.on('refreshed', listener);
      return () => source.off('refreshed', listener);
    },
  );
}

describe('discovery.source: upstream', () => {
  let cert: TestCert;
  let upstream: DocumentUpstream;
  const gateways: UpstreamGateway[] = [];
  const start = async (...args: Parameters<typeof startUpstreamGateway>): Promise<UpstreamGateway> => {
    const gw = await startUpstreamGateway(...args);
    gateways.push(gw);
    return gw;
  };
  /** Starts a gateway and waits for a refresh after its first one (refreshes run one after another). */
  const started = async (...args: Parameters<typeof startUpstreamGateway>): Promise<UpstreamGateway> => {
    const gw = await start(...args);
    await withDeadline(gw.source.refresh(), 'a refresh after the first');
    return gw;
  };

  beforeAll(() => {
    cert = makeCert();
  });
  beforeEach(async () => {
    upstream = await new DocumentUpstream().start();
  });
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((gw) => gw.close()));
    await upstream.close();
  });
  afterAll(() => cert.cleanup());

  it("serves the upstream's document with the gateway's own fingerprint and the overrides laid over it", async () => {
    upstream.publish(upstreamDocument('origin.example.test', { websocket: { path: '/v1/stream' } }));
    const gw = await started(upstream.url, { document: { server_name: 'chat.example.test', rate_limits: { announcements_per_hour: 5 } } }, { tls: { cert: cert.certPath } });
    const res = await gw.discovery();
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      protocol_version: '1.0',
      server_name: 'chat.example.test',
      federation_enabled: true,
      supported_features: ['mls_messaging', 'websocket_streaming', 'offline_queuing'],
      // Limit objects merge field by field: the upstream's per-minute limit, the override's per-hour one.
      rate_limits: { federated_messages_per_minute: 1000, announcements_per_hour: 5 },
      message_limits: { max_message_size: 10485760, max_retention_days: 30 },
      certificate_fingerprint: fingerprintOfPem(cert.cert),
      websocket: { path: '/v1/stream' },
    });
    expect(res.headers['cache-control']).toBe('public, max-age=3600');
    expect(gw.core.discovery.document).toEqual(res.json);
    expect(gw.events('discovery_document_changed')).toEqual([expect.objectContaining({ first: true })]);
  });

  it("reconfigure() moves between a configured document and the upstream's without a 503 between, and new overrides come with a new fetch", async () => {
    const gw = await started(upstream.url);
    expect((await gw.discovery()).json).toMatchObject({ server_name: 'origin.example.test' });
    const health = { probe: { path: PROBE_PATH, intervalMs: 60_000 } };

    const toConfig = gw.core.reconfigureOptions({
      upstream: upstream.url,
      health,
      discovery: { document: { server_name: 'configured.example.test', certificate_fingerprint: FP } },
    });
    expect(toConfig.changed).toEqual(expect.arrayContaining(['discovery.source']));
    expect(gw.core.discoverySource).toBeUndefined();
    expect((await gw.discovery()).json).toMatchObject({ server_name: 'configured.example.test' });

    gw.core.reconfigureOptions({
      upstream: upstream.url,
      health,
      discovery: { source: 'upstream', refreshMs: 60_000, document: { server_name: 'override.example.test', certificate_fingerprint: FP } },
    });
    const source = gw.core.discoverySource as UpstreamDocumentSource;
    expect(source).toBeDefined();
    // Until the new source has the upstream's document, the configured one stays published.
    const between = await gw.discovery();
    expect(between.status).toBe(200);
    expect(between.json).toMatchObject({ server_name: expect.stringMatching(/^(configured|override)\.example\.test$/) });
    await withDeadline(source.refresh(), 'a refresh of the new source');
    expect((await gw.discovery()).json).toMatchObject({ server_name: 'override.example.test', certificate_fingerprint: FP });
  });

  it('follows a changing upstream document on its timer: new body, new ETag, the old ETag no longer 304, one log line naming what changed', async () => {
    const gw = await started(upstream.url, { refreshMs: 1000 });
    const first = await gw.discovery();
    expect(first.json).toMatchObject({ server_name: 'origin.example.test', certificate_fingerprint: FP });
    const etag = first.headers.etag as string;
    expect((await gw.discovery({ 'if-none-match': etag })).status).toBe(304);

    upstream.publish(upstreamDocument('origin.example.test', { supported_features: ['mls_messaging'], federation_enabled: false }));
    await refreshed(gw.source, () => gw.core.discovery.document?.federation_enabled === false, 'the changed document served');

    const next = await gw.discovery({ 'if-none-match': etag });
    expect(next.status).toBe(200);
    expect(next.json).toMatchObject({ supported_features: ['mls_messaging'], federation_enabled: false, certificate_fingerprint: FP });
    expect(next.headers.etag).not.toBe(etag);
    expect((await gw.discovery({ 'if-none-match': next.headers.etag as string })).status).toBe(304);
    const changes = gw.events('discovery_document_changed');
    expect(changes).toHaveLength(2);
    expect(changes[1]).toMatchObject({ first: false, changed: ['federation_enabled', 'supported_features'] });
  });

  it('keeps the last valid document through invalid JSON, a schema failure, a 500 and an outage, logging each problem once, not once per fetch', async () => {
    const gw = await started(upstream.url);
    const good = await gw.discovery();
    expect(good.status).toBe(200);
    const lastSuccess = await gw.metric('cryptid_gateway_discovery_last_success_timestamp_seconds');
    expect(lastSuccess).toBeGreaterThan(0);

    const stillGood = async (): Promise<void> => {
      const res = await gw.discovery();
      expect({ status: res.status, body: res.body.toString(), etag: res.headers.etag }).toEqual({ status: 200, body: good.body.toString(), etag: good.headers.etag });
    };
    const failures = (): Record<string, unknown>[] => gw.events('discovery_refresh_failed');

    upstream.status = 200;
    upstream.body = '{"protocol_version": "1.0", "server_name": ';
    expect(await gw.source.refresh()).toBe('invalid');
    expect(await gw.source.refresh()).toBe('invalid');
    await stillGood();
    expect(failures()).toEqual([expect.objectContaining({ result: 'invalid', problems: ['answer is not JSON'] })]);

    upstream.publish(upstreamDocument('Not A Name', { supported_features: ['websocket_streaming'] }));
    expect(await gw.source.refresh()).toBe('invalid');
    expect(await gw.source.refresh()).toBe('invalid');
    await stillGood();
    expect(failures()).toHaveLength(2);
    expect(failures()[1]).toMatchObject({
      result: 'invalid',
      problems: [
        expect.stringMatching(/^server_name: expected a fully qualified domain name.*\(got "Not A Name"\)$/),
        expect.stringMatching(/^supported_features: must contain "mls_messaging"/),
      ],
    });

    upstream.status = 500;
    upstream.body = '{"error":"INTERNAL"}';
    expect(await gw.source.refresh()).toBe('invalid');
    expect(await gw.source.refresh()).toBe('invalid');
    await stillGood();
    expect(failures()).toHaveLength(3);
    expect(failures()[2]).toMatchObject({ result: 'invalid', problems: ['upstream answered 500, not 200'] });

    await upstream.kill();
    expect(await gw.source.refresh()).toBe('unreachable');
    expect(await gw.source.refresh()).toBe('unreachable');
    await stillGood();
    expect(failures()).toHaveLength(4);
    expect(failures()[3]).toMatchObject({ result: 'unreachable', reason: expect.stringContaining('refused') });
    // Never the upstream's address in a log line.
    expect(JSON.stringify(gw.log.lines)).not.toContain(`127.0.0.1:${new URL(upstream.url).port}`);

    await upstream.start();
    upstream.publish(upstreamDocument());
    expect(await gw.source.refresh()).toBe('ok');
    await stillGood();
    expect(gw.events('discovery_refresh_recovered')).toHaveLength(1);
    // The same document again: nothing changed, so no line says it did.
    expect(gw.events('discovery_document_changed')).toHaveLength(1);

    expect(await gw.metric('cryptid_gateway_discovery_refreshes_total', { result: 'invalid' })).toBe(6);
    expect(await gw.metric('cryptid_gateway_discovery_refreshes_total', { result: 'unreachable' })).toBe(2);
    expect(await gw.metric('cryptid_gateway_discovery_refreshes_total', { result: 'ok' })).toBeGreaterThanOrEqual(2);
    expect(await gw.metric('cryptid_gateway_discovery_last_success_timestamp_seconds')).toBeGreaterThanOrEqual(lastSuccess!);
  });

  it('logs an invalid document again when the upstream changes it, still invalid', async () => {
    const gw = await started(upstream.url);
    upstream.publish(upstreamDocument('origin.example.test', { rate_limits: { federated_messages_per_minute: 0, announcements_per_hour: 24 } }));
    await gw.source.refresh();
    await gw.source.refresh();
    upstream.publish(upstreamDocument('origin.example.test', { rate_limits: { federated_messages_per_minute: -1, announcements_per_hour: 24 } }));
    await gw.source.refresh();
    await gw.source.refresh();
    const problems = gw.events('discovery_refresh_failed').map((l) => l.problems);
    expect(problems).toEqual([
      ['rate_limits.federated_messages_per_minute: expected a positive integer (got 0)'],
      ['rate_limits.federated_messages_per_minute: expected a positive integer (got -1)'],
    ]);
  });

  it('refuses a near miss of a protocol field in the upstream document, as in a configured one', async () => {
    const doc = upstreamDocument();
    delete doc.federation_enabled;
    upstream.publish({ ...doc, federation_enable: false });
    const gw = await started(upstream.url);
    expect((await gw.discovery()).json).toEqual(PENDING);
    expect(gw.events('discovery_refresh_failed')[0]).toMatchObject({
      problems: [expect.stringContaining('federation_enable: not a protocol field: did you mean "federation_enabled"?')],
    });
  });

  it('answers 503 SERVER_UNAVAILABLE (GET and HEAD) while the upstream is down at start, and serves once it comes up', async () => {
    const url = await refusingUpstreamUrl();
    const late = new DocumentUpstream(Number(new URL(url).port));
    try {
      const gw = await started(url, { refreshMs: 1000 }, { health: { probe: { path: PROBE_PATH, intervalMs: 60_000, healthyThreshold: 1 } } });
      expect(gw.core.discovery.document).toBeUndefined();
      const res = await gw.discovery();
      expect({ status: res.status, json: res.json, retryAfter: res.headers['retry-after'], cors: res.headers['access-control-allow-origin'] }).toEqual({
        status: 503,
        json: PENDING,
        retryAfter: '5',
        cors: '*',
      });
      const head = await testRequest(`${gw.url}/.well-known/cryptid`, { method: 'HEAD' });
      expect({ status: head.status, body: head.body.length }).toEqual({ status: 503, body: 0 });
      expect(gw.events('discovery_refresh_failed')).toEqual([expect.objectContaining({ result: 'unreachable' })]);

      await late.start();
      // Retried on the timer (every refreshMs here, since that is under the first-document retry).
      await refreshed(gw.source, (r) => r === 'ok', 'a refresh that finds the upstream up');
      // Down at start, the upstream is also unhealthy (503 for that reason too) until a probe succeeds.
      const healthy = waitFor('the upstream healthy', (done) => {
        const listener = (change: StatusChange): void => (change.status === 'healthy' ? done() : undefined);
        gw.core.on('status', listener);
        return () => gw.core.off('status', listener);
      });
      gw.core.tracker.probeNow();
      await healthy;
      const served = await gw.discovery();
      expect(served.status).toBe(200);
      expect(served.json).toMatchObject({ server_name: 'origin.example.test', certificate_fingerprint: FP });
    } finally {
      await late.close();
    }
  });

  it('answers 503 while the upstream publishes nothing valid yet', async () => {
    upstream.status = 404;
    upstream.body = '{"error":"ENDPOINT_NOT_FOUND","message":"Server does not support Cryptid protocol"}';
    const gw = await started(upstream.url);
    expect((await gw.discovery()).status).toBe(503);
    expect(await gw.metric('cryptid_gateway_discovery_last_success_timestamp_seconds')).toBe(0);
    upstream.publish(upstreamDocument());
    expect(await gw.source.refresh()).toBe('ok');
    expect((await gw.discovery()).status).toBe(200);
  });

  it("enforces the upstream's federation limit, and follows it when it changes (an override wins over both)", async () => {
    upstream.publish(upstreamDocument('origin.example.test', { rate_limits: { federated_messages_per_minute: 2, announcements_per_hour: 24 } }));
    const gw = await started(upstream.url);
    const deliver = (): ReturnType<typeof testRequest> => testRequest(`${gw.url}/federation/v1/deliver/t1`, { method: 'POST', body: '{}' });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await deliver()).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect((await deliver()).headers['ratelimit-policy']).toBe('"federation";q=2;w=60');

    upstream.publish(upstreamDocument('origin.example.test', { rate_limits: { federated_messages_per_minute: 50, announcements_per_hour: 24 } }));
    expect(await gw.source.refresh()).toBe('ok');
    const after = await deliver();
    expect(after.status).toBe(200);
    expect(after.headers['ratelimit-policy']).toBe('"federation";q=50;w=60');

    const overridden = await started(upstream.url, { document: { certificate_fingerprint: FP, rate_limits: { federated_messages_per_minute: 7 } } });
    expect((await testRequest(`${overridden.url}/federation/v1/deliver/t1`, { method: 'POST', body: '{}' })).headers['ratelimit-policy']).toBe('"federation";q=7;w=60');
  });

  it('starts every refresh result at 0 in the scrape', async () => {
    upstream.hang = true;
    const gw = await start(upstream.url);
    for (const result of ['ok', 'invalid', 'unreachable']) expect(await gw.metric('cryptid_gateway_discovery_refreshes_total', { result })).toBe(0);
  });

  it('stops its timer and abandons a fetch in progress on close', async () => {
    upstream.hang = true;
    const gw = await startUpstreamGateway(upstream.url);
    // A fetch is in flight (the upstream holds it); close must not wait for its timeout.
    await withDeadline(gw.close(), 'close with a fetch in progress', 2000);
    expect(await gw.source.refresh()).toBeUndefined();
    expect(upstream.fetches).toBe(0);
  });
});
