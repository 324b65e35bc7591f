import * as z from 'zod/mini';
import { SERVE_FLAGS } from '../../../src/config/flags';
import { loadRawConfig } from '../../../src/config/load';
import { configSchema } from '../../../src/config/schema';

/** The schema at a dotted key, or undefined when the configuration has no such key. */
function schemaAt(key: string): z.ZodMiniType | undefined {
  let schema: z.ZodMiniType | undefined = configSchema;
  for (const part of key.split('.')) {
    // Through the wrappers (default, prefault, optional, nullable) to the object inside.
    while (schema !== undefined && !(schema instanceof z.ZodMiniObject) && 'innerType' in schema._zod.def) {
      schema = (schema._zod.def as { innerType: z.ZodMiniType }).innerType;
    }
    if (!(schema instanceof z.ZodMiniObject)) return undefined;
    schema = (schema.shape as Record<string, z.ZodMiniType | undefined>)[part];
  }
  return schema;
}

describe('the serve flag table', () => {
  it('gives every flag and every environment variable once', () => {
    const names = SERVE_FLAGS.map((f) => f.name);
    const envs = SERVE_FLAGS.map((f) => f.env);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(envs).size).toBe(envs.length);
  });

  it.each(SERVE_FLAGS.filter((f) => f.key !== undefined).map((f) => [f.key!]))('points at a real configuration key: %s', (key) => {
    expect(schemaAt(key)).toBeDefined();
  });

  it('fills each key from its flag and from its environment variable', () => {
    for (const flag of SERVE_FLAGS) {
      if (flag.key === undefined) continue;
      const path = flag.key.split('.');
      const fromFlag = loadRawConfig({ cwd: '/', env: {}, flags: { [flag.name]: 'from-flag' } });
      const fromEnv = loadRawConfig({ cwd: '/', env: { [flag.env]: 'from-env' }, flags: {} });
      expect(path.reduce<unknown>((node, k) => (node as Record<string, unknown>)[k], fromFlag)).toBe('from-flag');
      expect(path.reduce<unknown>((node, k) => (node as Record<string, unknown>)[k], fromEnv)).toBe('from-env');
    }
  });
});
