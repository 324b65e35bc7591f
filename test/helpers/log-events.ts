import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/logger';

/** A pino logger whose lines the test reads back, and can wait for. */
export interface WatchedLog {
  readonly logger: Logger;
  readonly lines: Record<string, unknown>[];
  /** Resolves with the first line (from index `from` on) whose `event` is `event`; rejects after `ms`. */
  until(event: string, ms: number, from?: number): Promise<Record<string, unknown>>;
}

export function watchLog(): WatchedLog {
  const lines: Record<string, unknown>[] = [];
  let waiters: (() => void)[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      const woken = waiters;
      waiters = [];
      for (const w of woken) w();
      done();
    },
  });
  const find = (event: string, from: number): Record<string, unknown> | undefined => lines.slice(from).find((l) => l.event === event);
  return {
    logger: createLogger('debug', sink),
    lines,
    until: (event, ms, from = 0) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`log event ${event}: not seen within ${ms} ms`)), ms);
        const check = (): void => {
          const line = find(event, from);
          if (line === undefined) return void waiters.push(check);
          clearTimeout(timer);
          resolve(line);
        };
        check();
      }),
  };
}
