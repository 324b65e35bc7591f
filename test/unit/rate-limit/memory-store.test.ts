import { MemoryStore } from '../../../src/rate-limit/memory-store';

describe('the memory store', () => {
  it('keeps at most maxKeys counters under a flood of distinct keys', () => {
    let now = 1_000_000;
    const store = new MemoryStore(1000, () => now);
    for (let i = 0; i < 50_000; i++) {
      store.hit(`ip:10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, 5, 60_000);
      now += 1;
    }
    expect(store.size).toBe(1000);
  });

  it('keeps a key in use through a flood, evicting the least recently used ones', () => {
    let now = 0;
    const store = new MemoryStore(100, () => now);
    for (let i = 0; i < 3; i++) store.hit('victim', 3, 60_000);
    for (let i = 0; i < 10_000; i++) {
      store.hit(`flood-${i}`, 3, 60_000);
      // The victim keeps coming back, so it stays among the most recently used and keeps its count.
      if (i % 50 === 0) expect(store.hit('victim', 3, 60_000).allowed).toBe(false);
      now += 1;
    }
    expect(store.size).toBe(100);
  });

  it('forgets an evicted key: it starts again from zero (more lenient, never a wrong refusal)', () => {
    const store = new MemoryStore(2, () => 0);
    store.hit('a', 1, 60_000);
    expect(store.hit('a', 1, 60_000).allowed).toBe(false);
    store.hit('b', 1, 60_000);
    store.hit('c', 1, 60_000);
    expect(store.hit('a', 1, 60_000).allowed).toBe(true);
  });

  it('drops counters whose windows are over as new keys come in, without a timer', () => {
    let now = 0;
    const store = new MemoryStore(1000, () => now);
    for (let i = 0; i < 10; i++) store.hit(`old-${i}`, 5, 1000);
    expect(store.size).toBe(10);
    // Two windows later every old counter says nothing; each new key takes up to two of them away.
    now = 2000;
    for (let i = 0; i < 5; i++) store.hit(`new-${i}`, 100, 1000);
    expect(store.size).toBe(5);
    // A counter still in its windows stays.
    store.hit('new-0', 100, 1000);
    store.hit('another', 100, 1000);
    expect(store.size).toBe(6);
  });

  it('carries the count of one window into the next as its previous window, and forgets it after two', () => {
    let now = 0;
    const store = new MemoryStore(10, () => now);
    for (let i = 0; i < 4; i++) store.hit('k', 4, 1000);
    now = 1000;
    expect(store.hit('k', 4, 1000).allowed).toBe(false);
    now = 3000;
    expect(store.hit('k', 4, 1000)).toEqual({ allowed: true, remaining: 3, resetSeconds: 1 });
  });

  it('keeps the counters of different keys and rules apart', () => {
    const store = new MemoryStore(10, () => 0);
    expect(store.hit('federation\nip:1.2.3.4', 1, 1000).allowed).toBe(true);
    expect(store.hit('federation\nip:1.2.3.5', 1, 1000).allowed).toBe(true);
    expect(store.hit('announce\nip:1.2.3.4', 1, 1000).allowed).toBe(true);
    expect(store.hit('federation\nip:1.2.3.4', 1, 1000).allowed).toBe(false);
  });
});
