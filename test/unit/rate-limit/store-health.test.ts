import { failureOf, ProbeTimeout, StoreHealth } from '../../../src/rate-limit/store-health';

/** A StoreHealth whose probes are answered by `answer`, on a clock the test moves. */
function health(answer: () => Promise<unknown>) {
  let now = 1_000_000;
  const changes: string[] = [];
  let waiting: (() => void) | undefined;
  let pings = 0;
  const h = new StoreHealth(
    {
      timeoutMs: 1000,
      ping: () => (pings++, answer()),
      changed: (up, reason) => {
        changes.push(up ? 'up' : `down:${reason}`);
        waiting?.();
      },
    },
    () => now,
  );
  /** Resolves at the next reported change (bounded). */
  const nextChange = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no change within 10 s')), 10_000);
      waiting = () => {
        clearTimeout(timer);
        waiting = undefined;
        resolve();
      };
    });
  return { h, changes, nextChange, advance: (ms: number) => void (now += ms), pings: () => pings };
}

describe('the health of the shared store', () => {
  it('goes down on a failed check and up again once a probe is answered, reporting each change once', async () => {
    const { h, changes, nextChange, advance } = health(() => Promise.resolve('PONG'));
    try {
      h.failed('timeout');
      expect(h.up).toBe(false);
      h.failed('timeout');
      await nextChange();
      expect(h.up).toBe(true);
      // Stable for a while, then one failure: probed at once again.
      advance(60_000);
      h.failed('connection');
      await nextChange();
      expect(changes).toEqual(['down:timeout', 'up', 'down:connection', 'up']);
    } finally {
      h.stop();
    }
  });

  it('probes a store that keeps failing soon after coming back less often, so its log stays short', async () => {
    const { h, changes, nextChange, advance, pings } = health(() => Promise.resolve(1));
    try {
      h.failed('error');
      await nextChange();
      expect(h.probeIntervalMs).toBe(1000);
      advance(1000);
      h.failed('error');
      // Flapping: the next probe comes after twice the interval, not at once.
      expect(h.probeIntervalMs).toBe(2000);
      await nextChange();
      expect(pings()).toBe(2);
      expect(changes).toEqual(['down:error', 'up', 'down:error', 'up']);
      // Up for long enough: back to the short interval.
      advance(60_000);
      h.failed('error');
      expect(h.probeIntervalMs).toBe(1000);
      await nextChange();
    } finally {
      h.stop();
    }
  });

  it('stays down while probes fail, without reporting it again', async () => {
    let fail = true;
    const { h, changes, nextChange, pings } = health(() => (fail ? Promise.reject(new Error('Connection is closed.')) : Promise.resolve('PONG')));
    try {
      h.start();
      await nextChange();
      expect(changes).toEqual(['down:connection']);
      const before = pings();
      fail = false;
      await nextChange();
      expect(pings()).toBeGreaterThan(before);
      expect(changes).toEqual(['down:connection', 'up']);
    } finally {
      h.stop();
    }
  });

  it('names failures by a closed set, never by the error text', () => {
    expect(failureOf(new ProbeTimeout())).toBe('timeout');
    expect(failureOf(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:6379'), { code: 'ECONNREFUSED' }))).toBe('connection');
    expect(failureOf(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe('connection');
    expect(failureOf(new Error('OOM command not allowed when used memory > maxmemory'))).toBe('error');
    expect(failureOf('weird')).toBe('error');
  });
});
