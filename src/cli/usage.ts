import type { ValueFlag } from './args';

/** One entry of an options list in a command's `--help`. */
export interface OptionLine {
  /** The flag as typed, with its value (`--listen HOST:PORT`, `-h, --help`). */
  readonly flag: string;
  readonly help: string;
  /** The environment variable for the same setting, if there is one. */
  readonly env?: string;
}

const FLAG_WIDTH = 21;
const HELP_WIDTH = 36;

/** Two-space indented, aligned lines: flag, help, then the environment variable. */
export function optionLines(lines: readonly OptionLine[]): string {
  return lines
    .map(({ flag, help, env }) => {
      const left = `  ${flag.padEnd(FLAG_WIDTH)}  ${help}`;
      return env === undefined ? left : `${left.padEnd(2 + FLAG_WIDTH + 2 + HELP_WIDTH)}  ${env}`;
    })
    .map((line) => `${line}\n`)
    .join('');
}

/** `[--port PORT] [--log-level LEVEL]`: the flags of a one-line synopsis. */
export function synopsis(flags: readonly ValueFlag[]): string {
  return flags.map((f) => `[--${f.name} ${f.value}]`).join(' ');
}

/** `--listen HOST:PORT`. */
export function flagWithValue(flag: ValueFlag): string {
  return `--${flag.name} ${flag.value}`;
}
