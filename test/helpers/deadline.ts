/**
 * Awaits `work`, or rejects once `ms` have passed, naming what was awaited. Bounds of the
 * contract ("within 1 s") are asserted this way: by waiting for the condition with a
 * deadline, never by measuring how long something took.
 */
export async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves once `condition()` holds, checked on every turn of the event loop, or rejects
 * after `ms`: for state that changes without an event of its own (a pool's counters).
 */
export async function until(condition: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() >= end) throw new Error(`${what}: still not true after ${ms} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
