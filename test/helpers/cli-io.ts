import type { CliIo } from '../../src/cli/io';

/** A `CliIo` that keeps what a command writes, for running commands in-process. */
export interface CapturedIo {
  readonly io: CliIo;
  /** Everything written to stdout so far. */
  out(): string;
  /** Everything written to stderr so far. */
  err(): string;
}

export function captureIo(options: { cwd?: string; env?: Record<string, string> } = {}): CapturedIo {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
  };
  return { io, out: () => out, err: () => err };
}
