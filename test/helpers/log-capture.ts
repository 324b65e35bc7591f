import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/logger';

/** A pino logger whose JSON lines the test can read back. */
export interface CapturedLog {
  readonly logger: Logger;
  readonly lines: Record<string, unknown>[];
}

export function captureLog(): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('debug', sink), lines };
}
