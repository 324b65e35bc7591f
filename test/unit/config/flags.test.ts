import { SERVE_FLAGS } from '../../../src/config/flags';
import { loadRawConfig } from '../../../src/config/load';
import { schemaAt } from '../../../src/config/schema-at';

describe('the serve flag table', () => {
  it('gives every flag and every environment variable once', () => {
    const names = SERVE_FLAGS.map((f) => f.name);
    const envs = SERVE_FLAGS.map((f) => f.env);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(envs).size).toBe(envs.length);
  });

  it.each(SERVE_FLAGS.filter((f) => f.key !== undefined).map((f) => [f.key!]))('points at a real configuration key: %s', (key) => {
    expect(schemaAt(key.split('.'))).toBeDefined();
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
