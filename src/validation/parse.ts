import type * as z from 'zod/mini';
import { en } from 'zod/v4/locales';

// zod/mini has no messages of its own ("Invalid input"); classic zod sets its English ones
// globally when it loads. Given per parse, ours read the same whatever locale or error map
// the app around a mounted gateway sets for its own schemas.
const english = en().localeError;

/** `schema.safeParse(input)` with zod's English messages. */
export function safeParse<S extends z.ZodMiniType>(schema: S, input: unknown, options: { reportInput?: boolean } = {}): z.core.util.SafeParseResult<z.output<S>> {
  return schema.safeParse(input, { error: english, ...options });
}
