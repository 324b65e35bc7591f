/**
 * Deadlines for everything a test waits on. A wait that never ends would otherwise show as
 * jest's bare "Exceeded timeout of 20000 ms"; these fail first, well inside that, saying
 * what was awaited and what was seen instead.
 */

/** How long a test waits for an event on loopback before calling it lost. */
export const WAIT_MS = 5_000;

type Describe = string | (() => string);

function describe(what: Describe): string {
  return typeof what === 'function' ? what() : what;
}

/**
 * Waits for an event. `subscribe` gets `done`/`fail` and returns how to unsubscribe, which
 * runs however the wait ends (event, failure or deadline), so no listener outlives it.
 * Past `ms` it rejects with "`what`: not within `ms` ms" (`what` is read at that moment, so
 * it can report the state the test was stuck in).
 */
export function waitFor<T = void>(what: Describe, subscribe: (done: (value: T) => void, fail: (error: Error) => void) => (() => void) | void, ms = WAIT_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let unsubscribe: (() => void) | void = undefined;
    const finish = (settle: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unsubscribe?.();
      settle();
    };
    const timer = setTimeout(() => {
      // Described before unsubscribing, so the message shows the state the wait was stuck in.
      const error = new Error(`${describe(what)}: not within ${ms} ms`);
      finish(() => reject(error));
    }, ms);
    unsubscribe = subscribe(
      (value) => finish(() => resolve(value)),
      (error) => finish(() => reject(error)),
    );
    // subscribe may have settled synchronously, before `unsubscribe` was known.
    if (settled) unsubscribe?.();
  });
}

/** `promise`, or a rejection naming `what` once `ms` have passed. */
export function withDeadline<T>(promise: Promise<T>, what: Describe, ms = WAIT_MS): Promise<T> {
  return waitFor<T>(what, (done, fail) => void promise.then(done, fail), ms);
}

/**
 * Re-checks `check` (which may do I/O, such as a scrape) until it holds, yielding to the
 * event loop between tries; rejects naming `what` once `ms` have passed.
 */
export async function pollUntil(check: () => boolean | Promise<boolean>, what: Describe, ms = WAIT_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${describe(what)}: not within ${ms} ms`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
