import { PassiveWindow, type PassiveSettings } from '../../../src/health/passive-window';

const settings: PassiveSettings = { windowMs: 60_000, minRequests: 20, errorRate: 0.1, p95LatencyMs: 2_000 };

/** Records `n` requests at `atMs`. */
function fill(window: PassiveWindow, n: number, atMs: number, outcome: { latencyMs?: number; upstreamFailure?: boolean } = {}): void {
  for (let i = 0; i < n; i++) {
    window.record({
      atMs,
      upstreamFailure: outcome.upstreamFailure ?? false,
      ...(outcome.latencyMs !== undefined && { latencyMs: outcome.latencyMs }),
    });
  }
}

describe('PassiveWindow', () => {
  describe('the error share', () => {
    it('says nothing below minRequests, even when every request failed', () => {
      const window = new PassiveWindow(settings);
      fill(window, 19, 1_000, { upstreamFailure: true });
      expect(window.verdict(1_000)).toEqual({ status: 'healthy' });
    });

    it('turns degraded when the share of failures reaches the error rate exactly', () => {
      const window = new PassiveWindow(settings);
      fill(window, 18, 1_000, { latencyMs: 10 });
      fill(window, 2, 1_000, { upstreamFailure: true });
      expect(window.isDegraded(1_000)).toBe(true);
      expect(window.verdict(1_000)).toEqual({ status: 'degraded', reason: '10 % of upstream requests failed in the last 60 s' });
    });

    it('stays healthy just below the error rate', () => {
      const window = new PassiveWindow(settings);
      fill(window, 20, 1_000, { latencyMs: 10 });
      fill(window, 2, 1_000, { upstreamFailure: true });
      expect(window.isDegraded(1_000)).toBe(false);
    });

    it('counts connection failures as failures even when the caller left upstreamFailure false', () => {
      const window = new PassiveWindow(settings);
      for (let i = 0; i < 20; i++) window.record({ atMs: 0, upstreamFailure: false, connectionFailure: true });
      expect(window.stats(0).failures).toBe(20);
    });

    it('forgets failures once they have left the window', () => {
      const window = new PassiveWindow(settings);
      fill(window, 20, 0, { upstreamFailure: true });
      expect(window.isDegraded(59_000)).toBe(true);
      expect(window.isDegraded(60_000)).toBe(false);
      expect(window.stats(60_000).requests).toBe(0);
    });

    it('ages requests out bucket by bucket as time passes', () => {
      const window = new PassiveWindow(settings);
      for (let s = 0; s < 60; s++) fill(window, 1, s * 1_000);
      expect(window.stats(59_000).requests).toBe(60);
      expect(window.stats(60_000).requests).toBe(59);
      expect(window.stats(89_500).requests).toBe(30);
      expect(window.stats(200_000).requests).toBe(0);
    });

    it('counts a request stamped before the newest bucket (a clock that stepped back) in the newest bucket', () => {
      const window = new PassiveWindow(settings);
      fill(window, 1, 100_000);
      fill(window, 1, 10_000);
      expect(window.stats(100_000).requests).toBe(2);
      expect(window.stats(159_999).requests).toBe(2);
      expect(window.stats(160_000).requests).toBe(0);
    });

    it('quotes short windows in milliseconds', () => {
      const window = new PassiveWindow({ ...settings, windowMs: 500, minRequests: 1 });
      fill(window, 1, 0, { upstreamFailure: true });
      expect(window.verdict(0)).toEqual({ status: 'degraded', reason: '100 % of upstream requests failed in the last 500 ms' });
    });
  });

  describe('the p95 latency', () => {
    it('stays healthy when exactly 5 % of the samples are above the limit (the nearest-rank p95 is not)', () => {
      const window = new PassiveWindow(settings);
      fill(window, 19, 0, { latencyMs: 100 });
      fill(window, 1, 0, { latencyMs: 10_000 });
      expect(window.isDegraded(0)).toBe(false);
    });

    it('turns degraded when more than 5 % of the samples are above the limit', () => {
      const window = new PassiveWindow(settings);
      fill(window, 18, 0, { latencyMs: 100 });
      fill(window, 2, 0, { latencyMs: 2_500 });
      expect(window.isDegraded(0)).toBe(true);
      const verdict = window.verdict(0);
      expect(verdict.status).toBe('degraded');
      expect(verdict.status === 'degraded' && verdict.reason).toMatch(/^p95 upstream latency above 2000 ms in the last 60 s \(about \d+ ms\)$/);
    });

    it('treats a latency equal to the limit as within it', () => {
      const window = new PassiveWindow(settings);
      fill(window, 20, 0, { latencyMs: 2_000 });
      expect(window.isDegraded(0)).toBe(false);
    });

    it('estimates p95 within the histogram bin that holds it', () => {
      const window = new PassiveWindow(settings);
      // 100 samples: 1..100 ms × 30 → p95 (nearest rank) is 2850 ms, inside the (2500, 3000] bin.
      for (let i = 1; i <= 100; i++) window.record({ atMs: 0, latencyMs: i * 30, upstreamFailure: false });
      const { p95Ms, latencySamples, slowSamples } = window.stats(0);
      expect(latencySamples).toBe(100);
      expect(slowSamples).toBe(34);
      expect(p95Ms).toBeGreaterThan(2_500);
      expect(p95Ms).toBeLessThanOrEqual(3_000);
    });

    it('reports the overflow bin by its lower bound', () => {
      const window = new PassiveWindow(settings);
      fill(window, 20, 0, { latencyMs: 60_000 });
      expect(window.stats(0).p95Ms).toBe(20_000);
    });

    it('excludes requests without a latency (WebSocket tunnels) from the p95 and its minimum', () => {
      const window = new PassiveWindow(settings);
      fill(window, 100, 0);
      fill(window, 19, 0, { latencyMs: 10_000 });
      expect(window.stats(0)).toMatchObject({ requests: 119, latencySamples: 19 });
      expect(window.isDegraded(0)).toBe(false);
      fill(window, 1, 0, { latencyMs: 10_000 });
      expect(window.isDegraded(0)).toBe(true);
    });

    it('names both reasons when failures and latency are both over their limits', () => {
      const window = new PassiveWindow(settings);
      fill(window, 20, 0, { latencyMs: 5_000, upstreamFailure: true });
      const verdict = window.verdict(0);
      expect(verdict.status === 'degraded' && verdict.reason).toMatch(/^100 % of upstream requests failed in the last 60 s; p95 upstream latency above 2000 ms/);
    });
  });

  describe('memory and cost', () => {
    it('keeps a fixed footprint and exact counts under a million requests spread over an hour', () => {
      const window = new PassiveWindow(settings);
      const footprint = window.storageBytes;
      expect(footprint).toBeLessThan(8 * 1024);
      const hourMs = 3_600_000;
      let failuresInLastWindow = 0;
      let requestsInLastWindow = 0;
      for (let i = 0; i < 1_000_000; i++) {
        const atMs = Math.floor((i * hourMs) / 1_000_000);
        const upstreamFailure = i % 7 === 0;
        window.record({ atMs, latencyMs: i % 3_000, upstreamFailure });
        if (atMs >= hourMs - 60_000) {
          requestsInLastWindow += 1;
          if (upstreamFailure) failuresInLastWindow += 1;
        }
      }
      expect(window.storageBytes).toBe(footprint);
      const stats = window.stats(hourMs - 1);
      expect(stats.requests).toBe(requestsInLastWindow);
      expect(stats.failures).toBe(failuresInLastWindow);
      expect(stats.latencySamples).toBe(requestsInLastWindow);
    });

    it('empties completely after a gap longer than the window', () => {
      const window = new PassiveWindow(settings);
      fill(window, 50, 0, { latencyMs: 5_000, upstreamFailure: true });
      fill(window, 1, 10_000_000, { latencyMs: 1 });
      expect(window.stats(10_000_000)).toMatchObject({ requests: 1, failures: 0, latencySamples: 1, slowSamples: 0 });
    });
  });

  it('rejects settings it cannot work with', () => {
    expect(() => new PassiveWindow({ ...settings, windowMs: 0 })).toThrow(/windowMs/);
    expect(() => new PassiveWindow({ ...settings, errorRate: 1.5 })).toThrow(/errorRate/);
  });
});
