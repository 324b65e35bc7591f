import type { HealthTracker } from '../../src/health/tracker';
import { GatewayMetrics, METRIC_NAMES, REJECT_REASONS } from '../../src/metrics/metrics';
import type { RequestOutcome, UpgradeFailure } from '../../src/proxy/observer';
import { TrafficObserver } from '../../src/traffic-observer';
import { parsePrometheusText, sampleValue, type MetricFamily } from '../helpers/prometheus-text';
import { makeTracker, scriptedProbe, settled, TEST_PASSIVE, type ScriptedProbe } from '../helpers/tracker';

// A real HealthTracker (its probe injected and answered by hand, nothing on the network)
// and a real GatewayMetrics, read back as Prometheus text: the TrafficObserver is the one
// place that decides what counts against the upstream, so that is what is tested here.

/** An answered request; each test changes what it is about. */
function outcome(overrides: Partial<RequestOutcome> = {}): RequestOutcome {
  return { method: 'POST', path: '/v1/messages', status: 200, upstreamLatencyMs: 5, durationMs: 6, failure: null, rejected: null, clientAborted: false, ...overrides };
}

interface Setup {
  tracker: HealthTracker;
  script: ScriptedProbe;
  metrics: GatewayMetrics;
  observer: TrafficObserver;
}

const trackers: HealthTracker[] = [];
afterEach(() => {
  for (const tracker of trackers.splice(0)) tracker.stop();
});

/** A tracker made healthy by its first probe, the metrics, and the observer feeding both. */
async function setup(): Promise<Setup> {
  const script = scriptedProbe();
  const tracker = makeTracker({ probeFunction: script.probe, now: () => 1_000_000 });
  trackers.push(tracker);
  tracker.start();
  script.answer({ result: 'success' });
  await settled();
  if (tracker.status !== 'healthy') throw new Error(`setup: the tracker is ${tracker.status}, not healthy`);
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  return { tracker, script, metrics, observer: new TrafficObserver(tracker, metrics) };
}

async function scrape(metrics: GatewayMetrics): Promise<Map<string, MetricFamily>> {
  return parsePrometheusText(await metrics.registry.metrics());
}

type Verdict = 'against the upstream' | 'for the upstream' | 'not at all';

/**
 * How the tracker counted what `feed` reports, told apart by the passive window alone
 * (at least 20 requests, 10 % failures degrade): a full window of it alone degrades only if
 * it counts as a failure; 18 of it beside 2 upstream 502s degrade only if it was recorded
 * at all (2 of 20 is 10 %; 2 of 2 is below the minimum count).
 */
async function verdictOn(feed: (observer: TrafficObserver) => void): Promise<Verdict> {
  const alone = await setup();
  for (let i = 0; i < TEST_PASSIVE.minRequests; i++) feed(alone.observer);
  if (alone.tracker.status === 'degraded') return 'against the upstream';
  const mixed = await setup();
  for (let i = 0; i < TEST_PASSIVE.minRequests - 2; i++) feed(mixed.observer);
  for (let i = 0; i < 2; i++) mixed.observer.requestFinished(outcome({ status: 502 }));
  return mixed.tracker.status === 'degraded' ? 'for the upstream' : 'not at all';
}

describe('TrafficObserver, what counts against the upstream', () => {
  it('counts 502-504 answers and failures to reach or hear the upstream against it; other answers for it; refusals and early aborts not at all', async () => {
    const cases: [string, RequestOutcome][] = [
      ['a 200', outcome()],
      ['a 404 from the upstream', outcome({ status: 404 })],
      ['a 500 from the upstream', outcome({ status: 500 })],
      ['a 502 from the upstream', outcome({ status: 502 })],
      ['a 503 from the upstream', outcome({ status: 503 })],
      ['a 504 from the upstream', outcome({ status: 504 })],
      ['a refused connection', outcome({ status: 502, upstreamLatencyMs: null, failure: 'refused' })],
      ['a timeout before response headers', outcome({ status: 504, upstreamLatencyMs: null, failure: 'timeout' })],
      ['a reset after the response headers', outcome({ status: 200, upstreamLatencyMs: 5, failure: 'reset' })],
      ['a body too large, refused by the gateway', outcome({ status: 413, upstreamLatencyMs: null, rejected: 'tooLarge' })],
      ['federation refused by the gateway', outcome({ status: 403, upstreamLatencyMs: null, rejected: 'federationDisabled' })],
      ['a fail-fast 503 of the gateway', outcome({ status: 503, upstreamLatencyMs: null, rejected: 'failFast' })],
      ['a 503 of a gateway shutting down', outcome({ status: 503, upstreamLatencyMs: null, rejected: 'closed' })],
      ['a client gone before the upstream answered', outcome({ status: 0, upstreamLatencyMs: null, clientAborted: true })],
      ['a client gone during the response', outcome({ status: 200, upstreamLatencyMs: 5, clientAborted: true })],
    ];
    const verdicts: Record<string, Verdict> = {};
    for (const [name, o] of cases) verdicts[name] = await verdictOn((observer) => observer.requestFinished(o));
    expect(verdicts).toEqual({
      'a 200': 'for the upstream',
      'a 404 from the upstream': 'for the upstream',
      'a 500 from the upstream': 'for the upstream',
      'a 502 from the upstream': 'against the upstream',
      'a 503 from the upstream': 'against the upstream',
      'a 504 from the upstream': 'against the upstream',
      'a refused connection': 'against the upstream',
      'a timeout before response headers': 'against the upstream',
      'a reset after the response headers': 'against the upstream',
      'a body too large, refused by the gateway': 'not at all',
      'federation refused by the gateway': 'not at all',
      'a fail-fast 503 of the gateway': 'not at all',
      'a 503 of a gateway shutting down': 'not at all',
      'a client gone before the upstream answered': 'not at all',
      'a client gone during the response': 'for the upstream',
    });
  });

  it('counts a failed WebSocket upgrade against the upstream only when the upstream failed, not when it refused or the client left', async () => {
    const reasons: UpgradeFailure[] = ['refused', 'reset', 'timeout', 'upstreamRefusedUpgrade', 'clientAborted', 'rejected'];
    const verdicts: Record<string, Verdict> = {};
    for (const reason of reasons) verdicts[reason] = await verdictOn((observer) => observer.upgradeFailed(reason));
    expect(verdicts).toEqual({
      refused: 'against the upstream',
      reset: 'against the upstream',
      timeout: 'against the upstream',
      upstreamRefusedUpgrade: 'not at all',
      clientAborted: 'not at all',
      rejected: 'not at all',
    });
  });

  it('passes the upstream latency on: answers slower than the p95 limit degrade the upstream, the same answers fast do not', async () => {
    const slow = await setup();
    const fast = await setup();
    for (let i = 0; i < TEST_PASSIVE.minRequests; i++) {
      slow.observer.requestFinished(outcome({ upstreamLatencyMs: TEST_PASSIVE.p95LatencyMs + 500, durationMs: TEST_PASSIVE.p95LatencyMs + 600 }));
      fast.observer.requestFinished(outcome({ upstreamLatencyMs: 5, durationMs: TEST_PASSIVE.p95LatencyMs + 600 }));
    }
    expect({ slow: slow.tracker.status, fast: fast.tracker.status }).toEqual({ slow: 'degraded', fast: 'healthy' });
    expect(slow.tracker.reason).toMatch(/p95/);
  });

  it('probes at once after three connection failures in a row, from requests or upgrades, but not for failures after response headers', async () => {
    const beforeHeaders = await setup();
    beforeHeaders.observer.requestFinished(outcome({ status: 502, upstreamLatencyMs: null, failure: 'refused' }));
    beforeHeaders.observer.upgradeFailed('refused');
    beforeHeaders.observer.requestFinished(outcome({ status: 504, upstreamLatencyMs: null, failure: 'timeout' }));
    const afterHeaders = await setup();
    for (let i = 0; i < 3; i++) afterHeaders.observer.requestFinished(outcome({ upstreamLatencyMs: 5, failure: 'reset' }));
    for (let i = 0; i < 3; i++) afterHeaders.observer.requestFinished(outcome({ status: 503 }));
    // One probe each from start(); a second only where live traffic asked for one.
    expect({ beforeHeaders: beforeHeaders.script.calls, afterHeaders: afterHeaders.script.calls }).toEqual({ beforeHeaders: 2, afterHeaders: 1 });
  });
});

describe('TrafficObserver, what the metrics show', () => {
  it('counts every request by method, route template and status, refused and aborted ones included', async () => {
    const s = await setup();
    s.observer.requestFinished(outcome({ path: '/v1/infopackages/secret-segment' }));
    s.observer.requestFinished(outcome({ status: 413, upstreamLatencyMs: null, rejected: 'tooLarge' }));
    s.observer.requestFinished(outcome({ status: 502, upstreamLatencyMs: null, failure: 'refused' }));
    s.observer.requestFinished(outcome({ method: 'GET', path: '/v1/messages', status: 0, upstreamLatencyMs: null, clientAborted: true }));
    const f = await scrape(s.metrics);
    const count = (labels: Record<string, string>): number | undefined => sampleValue(f, METRIC_NAMES.requests, labels);
    expect({
      infopackage: count({ method: 'POST', route: '/v1/infopackages/:url_segment', status_code: '200' }),
      tooLarge: count({ method: 'POST', route: '/v1/messages', status_code: '413' }),
      refused: count({ method: 'POST', route: '/v1/messages', status_code: '502' }),
      aborted: count({ method: 'GET', route: '/v1/messages', status_code: 'other' }), // status 0: nothing was sent
    }).toEqual({ infopackage: 1, tooLarge: 1, refused: 1, aborted: 1 });
    expect(await s.metrics.registry.metrics()).not.toContain('secret-segment');
  });

  it('counts a refusal of the gateway by its reason and never as an upstream error', async () => {
    const s = await setup();
    s.observer.requestFinished(outcome({ status: 413, upstreamLatencyMs: null, rejected: 'tooLarge' }));
    s.observer.requestFinished(outcome({ status: 403, upstreamLatencyMs: null, rejected: 'federationDisabled' }));
    s.observer.requestFinished(outcome({ status: 503, upstreamLatencyMs: null, rejected: 'failFast' }));
    s.observer.requestFinished(outcome({ status: 503, upstreamLatencyMs: null, rejected: 'closed' }));
    s.observer.requestFinished(outcome({ status: 503, upstreamLatencyMs: null, rejected: 'closed' }));
    const f = await scrape(s.metrics);
    const rejected: Record<string, number> = Object.fromEntries((f.get(METRIC_NAMES.rejected)?.samples ?? []).map((x) => [x.labels.reason, x.value]));
    const errors = (f.get(METRIC_NAMES.upstreamErrors)?.samples ?? []).reduce((sum, x) => sum + x.value, 0);
    // Every reason has a series from the start; only the refusals made here have counted.
    expect(Object.keys(rejected).sort()).toEqual([...REJECT_REASONS].sort());
    const counted = Object.fromEntries(Object.entries(rejected).filter(([, value]) => value > 0));
    expect({ counted, errors }).toEqual({ counted: { body_too_large: 1, federation_disabled: 1, fail_fast: 1, shutting_down: 2 }, errors: 0 });
  });

  it('counts upstream errors by failure kind, from requests and from upgrades, but not a refused or abandoned upgrade', async () => {
    const s = await setup();
    s.observer.requestFinished(outcome({ status: 502, upstreamLatencyMs: null, failure: 'refused' }));
    s.observer.requestFinished(outcome({ status: 504, upstreamLatencyMs: null, failure: 'timeout' }));
    s.observer.requestFinished(outcome({ upstreamLatencyMs: 5, failure: 'reset' }));
    s.observer.upgradeFailed('reset');
    s.observer.upgradeFailed('upstreamRefusedUpgrade');
    s.observer.upgradeFailed('clientAborted');
    s.observer.upgradeFailed('rejected');
    s.observer.requestFinished(outcome({ status: 503 }));
    const f = await scrape(s.metrics);
    const errors = Object.fromEntries((f.get(METRIC_NAMES.upstreamErrors)?.samples ?? []).filter((x) => x.value > 0).map((x) => [x.labels.reason, x.value]));
    expect(errors).toEqual({ refused: 1, timeout: 1, reset: 2 });
  });

  it('follows open tunnels in the gauge, up and back down, never below zero', async () => {
    const s = await setup();
    const gauge = async (): Promise<number | undefined> => sampleValue(await scrape(s.metrics), METRIC_NAMES.websocketConnections);
    const seen: (number | undefined)[] = [];
    s.observer.tunnelOpened();
    s.observer.tunnelOpened();
    seen.push(await gauge());
    s.observer.tunnelClosed();
    seen.push(await gauge());
    s.observer.tunnelClosed();
    s.observer.tunnelClosed();
    seen.push(await gauge());
    expect(seen).toEqual([2, 1, 0]);
  });
});
