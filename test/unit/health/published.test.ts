import { PublishedHealth } from '../../../src/health/published';
import type { HealthState } from '../../../src/health/states';

describe('the published health', () => {
  const upstream: { current: HealthState } = { current: { status: 'healthy', reason: 'upstream healthy', since: 1 } };

  it('is the upstream verdict until shutdown begins', () => {
    const published = new PublishedHealth(upstream, () => 50);
    expect(published.current).toBe(upstream.current);
    upstream.current = { status: 'degraded', reason: 'upstream reports degraded', since: 2 };
    expect(published.current).toBe(upstream.current);
  });

  it('is unhealthy, "shutting down", for good once shutdown begins, whatever the upstream says', () => {
    const published = new PublishedHealth(upstream, () => 50);
    published.beginShutdown();
    const shutdown = published.current;
    expect(shutdown).toEqual({ status: 'unhealthy', reason: 'shutting down', since: 50 });
    upstream.current = { status: 'healthy', reason: 'upstream healthy', since: 3 };
    published.beginShutdown();
    // The same object: the health endpoint's prepared body stays valid.
    expect(published.current).toBe(shutdown);
  });
});
