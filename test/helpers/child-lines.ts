import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { waitFor, WAIT_MS } from './deadline';

/** The lines a child process writes to stdout, with a way to wait for one. */
export interface ChildLines {
  /** Every line so far. */
  readonly lines: string[];
  /**
   * Resolves with the first line (already seen or still to come) that `match` accepts.
   * Rejects if the child exits first, or after `ms`, quoting the lines it did write.
   */
  until(match: (line: string) => boolean, what: string, ms?: number): Promise<string>;
}

/** Follows `child.stdout` line by line (start it with `stdio[1]` set to `'pipe'`). */
export function followLines(child: ChildProcess): ChildLines {
  if (!child.stdout) throw new Error('followLines needs the child started with stdout: pipe');
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const listener of listeners) listener(line);
  });
  const seen = (): string => (lines.length === 0 ? '(no output)' : `output so far:\n${lines.join('\n')}`);
  return {
    lines,
    until: (match, what, ms = WAIT_MS) =>
      waitFor<string>(
        () => `${what}; ${seen()}`,
        (done, fail) => {
          const earlier = lines.find(match);
          if (earlier !== undefined) return done(earlier);
          const onLine = (line: string): void => {
            if (match(line)) done(line);
          };
          const onExit = (code: number | null, signal: string | null): void => fail(new Error(`the process exited (${signal ?? code}) before ${what}; ${seen()}`));
          listeners.add(onLine);
          child.once('exit', onExit);
          return () => {
            listeners.delete(onLine);
            child.off('exit', onExit);
          };
        },
        ms,
      ),
  };
}
