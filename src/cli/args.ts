import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command-line mistake: printed with the command's usage, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** `parseArgs` with strict checking, turning its errors into `UsageError`. */
export function parseCommandArgs<T extends Options>(
  args: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: true }>> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A flag that takes a value: its long name, the value's placeholder in help text, and its default if it has one. */
export interface ValueFlag {
  readonly name: string;
  readonly value: string;
  readonly default?: string;
}

/** The `parseArgs` options of a list of {@link ValueFlag}s, typed by name. */
export type ValueOptions<F extends readonly ValueFlag[]> = {
  readonly [E in F[number] as E['name']]: E extends { readonly default: string } ? { readonly type: 'string'; readonly default: string } : { readonly type: 'string' };
};

/** Declares each flag of the list as a string option (with its default, if any) for `parseArgs`. */
export function valueOptions<const F extends readonly ValueFlag[]>(flags: F): ValueOptions<F> {
  const entries = flags.map((f) => [f.name, f.default === undefined ? { type: 'string' } : { type: 'string', default: f.default }]);
  return Object.fromEntries(entries) as ValueOptions<F>;
}
