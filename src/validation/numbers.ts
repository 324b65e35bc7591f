import * as z from 'zod/mini';

/**
 * A number that is a whole number ≥ `min` (and a safe integer), every failure told
 * `message` unless `notNumber` or `notWhole` words that case. One check, and one that lets
 * the parse go on: zod's own integer check (`z.int()`) marks its issue as an explicit
 * abort, which skips every check of the objects above it, even those asked to run
 * regardless (`when`): a `discovery.refreshMs` of 1000.5 hid a missing `server_name`.
 */
export function integerAtLeast(
  min: number,
  message: string,
  { notNumber = message, notWhole = message }: { notNumber?: string; notWhole?: string } = {},
): z.ZodMiniNumber<number> {
  return z
    .number({ error: notNumber })
    .check(z.refine((value) => Number.isSafeInteger(value) && value >= min, { error: (issue) => (Number.isSafeInteger(issue.input) ? message : notWhole) }));
}

/** A whole number ≥ 1: counts, limits and milliseconds throughout the configuration and the document. */
export const positiveInteger = integerAtLeast(1, 'expected a positive integer');
