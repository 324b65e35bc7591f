/**
 * Waits for `promise`, failing with a message naming `what` after `ms`: every wait on the
 * network has a deadline, so a behaviour that never happens fails the test instead of
 * hanging it. Not a timed assertion: `ms` is far beyond what the behaviour needs.
 */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
