import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';

// scripts/bundle-cli.js is the build's own script (CommonJS, outside src/).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { lazyOpenTelemetry } = require('../../scripts/bundle-cli.js') as { lazyOpenTelemetry: Plugin };

const ROOT = join(__dirname, '..', '..');

describe("the bin's stand-in for @opentelemetry/api", () => {
  // Inside the project, so that the bundle resolves prom-client as dist/cryptid-gateway.js does.
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'dist', '.standin-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads nothing until read, then the real package, the one prom-client would load', async () => {
    const entry = join(dir, 'entry.js');
    writeFileSync(
      entry,
      [
        "const loaded = () => Object.keys(require.cache).some((f) => f.includes('@opentelemetry'));",
        "const api = require('@opentelemetry/api');",
        'const before = loaded();',
        'const trace = api.trace;',
        'module.exports = { before, after: loaded(), trace };',
      ].join('\n'),
    );
    const outfile = join(dir, 'bundle.js');
    await build({ entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'cjs', plugins: [lazyOpenTelemetry], logLevel: 'silent' });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const seen = require(outfile) as { before: boolean; after: boolean; trace: unknown };
    expect([seen.before, seen.after]).toEqual([false, true]);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const real = require(require.resolve('@opentelemetry/api', { paths: [require.resolve('prom-client')] })) as { trace: unknown };
    expect(seen.trace).toBeDefined();
    expect(seen.trace).toBe(real.trace);
  });
});
