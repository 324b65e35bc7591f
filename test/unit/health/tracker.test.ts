import type { ProbeResultKind } from '../../../src/health/probe';
import type { StatusChange } from '../../../src/health/states';
import type { HealthTracker, HealthTrackerOptions } from '../../../src/health/tracker';
import { makeTracker, scriptedProbe, settled } from '../../helpers/tracker';

function setup(overrides: Partial<HealthTrackerOptions> = {}) {
  const clock = { t: 1_000_000 };
  const script = scriptedProbe();
  const probes: Array<[ProbeResultKind, number]> = [];
  // QUIET_PROBE: a long interval, so only the probes a test asks for happen.
  const tracker = makeTracker({
    now: () => clock.t,
    probeFunction: script.probe,
    onProbe: (result, durationMs) => probes.push([result, durationMs]),
    ...overrides,
  });
  const changes: StatusChange[] = [];
  tracker.on('status', (change) => changes.push(change));
  return { clock, script, tracker, changes, probes };
}

describe('HealthTracker', () => {
  let tracker: HealthTracker | undefined;
  afterEach(() => tracker?.stop());

  it('is unhealthy, waiting for the first probe, until start() sends it and it answers', async () => {
    const s = setup();
    tracker = s.tracker;
    expect(s.tracker.status).toBe('unhealthy');
    expect(s.tracker.reason).toBe('waiting for the first probe');
    expect(s.script.calls).toBe(0);
    s.tracker.start();
    expect(s.script.calls).toBe(1);
    s.script.answer({ result: 'success' });
    await settled();
    expect(s.changes).toEqual([{ status: 'healthy', previous: 'unhealthy', reason: 'upstream healthy', at: 1_000_000 }]);
    expect(s.tracker.isUnhealthy()).toBe(false);
  });

  it('reports every probe to the observer with its result and duration', async () => {
    const s = setup();
    tracker = s.tracker;
    s.tracker.start();
    s.script.answer({ result: 'degraded', details: 'busy' });
    await settled();
    s.tracker.probeNow();
    s.script.answer({ result: 'failure', reason: 'upstream answered 500' });
    await settled();
    expect(s.probes).toEqual([
      ['degraded', 7],
      ['failure', 7],
    ]);
  });

  it('turns degraded when enough proxied requests failed, and healthy once they aged out by the next probe', async () => {
    const s = setup();
    tracker = s.tracker;
    s.tracker.start();
    s.script.answer({ result: 'success' });
    await settled();
    for (let i = 0; i < 18; i++) s.tracker.recordRequest({ latencyMs: 20, upstreamFailure: false });
    s.tracker.recordRequest({ latencyMs: 20, upstreamFailure: true });
    expect(s.tracker.status).toBe('healthy');
    s.tracker.recordRequest({ latencyMs: 20, upstreamFailure: true });
    expect(s.tracker.status).toBe('degraded');
    expect(s.tracker.reason).toBe('10 % of upstream requests failed in the last 60 s');
    s.clock.t += 61_000;
    s.tracker.probeNow();
    s.script.answer({ result: 'success' });
    await settled();
    expect(s.changes.map((c) => c.status)).toEqual(['healthy', 'degraded', 'healthy']);
  });

  it('sends a probe at once after three connection failures in a row on live traffic, and a failure of it means unhealthy', async () => {
    const s = setup();
    tracker = s.tracker;
    s.tracker.start();
    s.script.answer({ result: 'success' });
    await settled();
    s.tracker.recordRequest({ upstreamFailure: true, connectionFailure: true });
    s.tracker.recordRequest({ upstreamFailure: true, connectionFailure: true });
    expect(s.script.calls).toBe(1);
    s.tracker.recordUpgradeFailure();
    expect(s.script.calls).toBe(2);
    s.script.answer({ result: 'failure', reason: 'upstream refused the connection' });
    await settled();
    expect(s.tracker.status).toBe('unhealthy');
  });

  it('counts an ordinary scheduled probe failure as one failure only', async () => {
    const s = setup();
    tracker = s.tracker;
    s.tracker.start();
    s.script.answer({ result: 'success' });
    await settled();
    s.tracker.probeNow();
    s.script.answer({ result: 'failure', reason: 'upstream refused the connection' });
    await settled();
    expect(s.tracker.status).toBe('degraded');
  });

  it('does not count upstream answers of 502-504 towards the run of connection failures', async () => {
    const s = setup();
    tracker = s.tracker;
    s.tracker.start();
    s.script.answer({ result: 'success' });
    await settled();
    for (let i = 0; i < 5; i++) s.tracker.recordRequest({ latencyMs: 5, upstreamFailure: true });
    s.tracker.recordUpgradeFailure('response');
    expect(s.script.calls).toBe(1);
  });

  it('sends no traffic-triggered probe while already unhealthy', async () => {
    const s = setup({ probe: { path: '/v1/health', intervalMs: 600_000, timeoutMs: 1_000, unhealthyThreshold: 1, healthyThreshold: 2 } });
    tracker = s.tracker;
    s.tracker.start();
    s.script.answer({ result: 'success' });
    await settled();
    s.tracker.probeNow();
    s.script.answer({ result: 'failure', reason: 'upstream refused the connection' });
    await settled();
    expect(s.tracker.status).toBe('unhealthy');
    for (let i = 0; i < 6; i++) s.tracker.recordRequest({ upstreamFailure: true, connectionFailure: true });
    expect(s.script.calls).toBe(2);
  });

  it('aborts the probe in flight on stop, drops its result and ignores later requests', async () => {
    const s = setup();
    tracker = s.tracker;
    s.tracker.start();
    s.tracker.stop();
    expect(s.script.signals[0]?.aborted).toBe(true);
    await settled();
    for (let i = 0; i < 30; i++) s.tracker.recordRequest({ upstreamFailure: true, connectionFailure: true });
    expect(s.probes).toEqual([]);
    expect(s.changes).toEqual([]);
    expect(s.script.calls).toBe(1);
    expect(s.tracker.probeNow()).toBe(false);
  });

  it('never has two probes in flight', async () => {
    const s = setup();
    tracker = s.tracker;
    s.tracker.start();
    expect(s.tracker.probeNow()).toBe(false);
    s.script.answer({ result: 'success' });
    await settled();
    expect(s.tracker.probeNow()).toBe(true);
    expect(s.script.calls).toBe(2);
  });
});
