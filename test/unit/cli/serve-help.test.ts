import { DEFAULTS } from '../../../src/config/defaults';
import { SERVE_FLAGS } from '../../../src/config/flags';
import { SERVE_USAGE } from '../../../src/cli/serve';

describe('serve --help', () => {
  const lines = SERVE_USAGE.split('\n');

  it.each(SERVE_FLAGS.map((f) => [f.name, f] as const))('has a line for --%s that ends with its environment variable', (_name, flag) => {
    const line = lines.find((l) => l.startsWith(`  --${flag.name} ${flag.value} `));
    expect(line).toBeDefined();
    expect(line).toContain(flag.help);
    expect(line?.endsWith(`  ${flag.env}`)).toBe(true);
  });

  it('lists the flags in table order, then -h, --help', () => {
    const flagLines = lines.filter((l) => /^ {2}-/.test(l));
    expect(flagLines.map((l) => l.trim().split(/\s+/)[0])).toEqual([...SERVE_FLAGS.map((f) => `--${f.name}`), '-h,']);
  });

  it('quotes the real default listen address', () => {
    expect(SERVE_USAGE).toContain(`public HTTPS listener (${DEFAULTS.listen})`);
  });
});
