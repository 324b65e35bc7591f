import * as z from 'zod/mini';
import { fr } from 'zod/v4/locales';
import { safeParse } from '../../../src/validation/parse';

// zod's configuration is one object for every copy of zod in the process: an app mounting
// the gateway may set its own locale or error map, and the gateway's messages must not move.
describe('safeParse', () => {
  const global = z.config();
  const saved = { localeError: global.localeError, customError: global.customError };
  afterEach(() => {
    z.config({ localeError: saved.localeError, customError: saved.customError });
  });

  const schema = z.object({ timestamp: z.number().check(z.nonnegative()) });

  it("gives zod's English messages, which zod/mini alone does not have", () => {
    z.config({ localeError: undefined });
    const parsed = safeParse(schema, { timestamp: 'soon' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.message)).toEqual(['Invalid input: expected number, received string']);
    expect(schema.safeParse({ timestamp: 'soon' }).error?.issues[0]?.message).toBe('Invalid input');
  });

  it('keeps them when the app sets another locale or its own error map', () => {
    z.config(fr());
    expect(safeParse(schema, { timestamp: -1 }).error?.issues[0]?.message).toBe('Too small: expected number to be >=0');
    z.config({ customError: () => 'the app’s message' });
    expect(safeParse(schema, { timestamp: -1 }).error?.issues[0]?.message).toBe('Too small: expected number to be >=0');
  });

  it('leaves a schema’s own message first', () => {
    const own = z.number({ error: 'expected a count' });
    expect(safeParse(own, 'x').error?.issues[0]?.message).toBe('expected a count');
  });

  it('reports the input only when asked', () => {
    expect(safeParse(schema, { timestamp: 'soon' }).error?.issues[0]).not.toHaveProperty('input');
    expect(safeParse(schema, { timestamp: 'soon' }, { reportInput: true }).error?.issues[0]).toHaveProperty('input', 'soon');
  });
});
