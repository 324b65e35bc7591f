import { Script } from 'node:vm';

/**
 * How often the process allocates on V8's C++ heap to keep the memory reducer working:
 * well inside the ~110 s after which V8's decaying allocation rate reaches exactly zero again.
 */
const INTERVAL_MS = 30_000;

/**
 * Whether this V8 needs the nudge: 13.1 and later (Node 24 onwards). Since V8 13.1 the
 * allocation rate of the C++ heap (cppgc) decays to exactly 0 in a process that never
 * allocates there, and V8 reads a rate of 0 as the highest possible, so its memory reducer,
 * which only runs while every allocation rate is low, never returns an idle process's memory
 * (until a watchdog 100 s after its last full collection, which traffic keeps pushing back).
 * V8 12 and older floor the rate at 1 byte/ms: their reducer runs.
 */
export function v8NeedsReducerNudge(v8Version: string): boolean {
  const [major = 0, minor = 0] = v8Version.split('.').map(Number);
  return major > 13 || (major === 13 && minor >= 1);
}

/**
 * Keeps V8's memory reducer able to run in a long-lived process on V8 13.1 and later: a
 * `vm.Script` is one of the few objects Node allocates on the C++ heap, so compiling a
 * trivial one now and then makes that heap's allocation rate tiny instead of zero. The idle
 * sidecar on Node 24 then returns its young generation and pooled pages a few seconds after
 * start or after its last traffic (docs/operations.md, Memory). Does nothing on older V8.
 * For the life of the process: the timer never keeps it alive.
 */
export function keepMemoryReducerWorking(): void {
  if (!v8NeedsReducerNudge(process.versions.v8)) return;
  const allocate = (): void => void new Script('0');
  allocate();
  setInterval(allocate, INTERVAL_MS).unref();
}
