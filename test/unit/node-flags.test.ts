import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the project's own CommonJS script
const { nodeFlags, nodeEnv, assignments } = require('../../scripts/node-flags.js') as {
  nodeFlags: () => string[];
  nodeEnv: () => Record<string, string>;
  assignments: (list: string[], source: string) => Record<string, string>;
};

describe('the Node flags the gateway ships with (scripts/node-flags.txt)', () => {
  it('are flags, comments dropped', () => {
    const flags = nodeFlags();
    expect(flags.length).toBeGreaterThan(0);
    for (const flag of flags) expect(flag).toMatch(/^--[a-z][a-z0-9-]*(=\S+)?$/);
  });

  it('are what `npm start` runs node with', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const env = Object.entries(nodeEnv()).map(([name, value]) => `${name}=${value} `);
    expect(pkg.scripts.start).toBe(`${env.join('')}node ${nodeFlags().join(' ')} dist/cryptid-gateway.js demo`);
  });

  it('are accepted by this node, and bound the young generation', () => {
    // Short-lived objects by the million, as a proxy under load makes: V8 grows its young
    // generation (Node 20: to 32 MiB, Node 24: to 128 MiB) unless the flag bounds it.
    const script =
      "let keep = []; for (let i = 0; i < 3e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 200000) keep = []; }" +
      "console.log(require('v8').getHeapSpaceStatistics().find((x) => x.space_name === 'new_space').space_size)";
    const newSpace = (flags: string[]): number => Number(execFileSync(process.execPath, [...flags, '-e', script]).toString());
    const semi = nodeFlags().find((f) => f.startsWith('--max-semi-space-size='));
    expect(semi).toBeDefined();
    // Two semi-spaces and some slack: Node 24 reports a few pages more at times (6.25 MiB for 2 MiB
    // semi-spaces seen), against the 32 or 128 MiB it grows to without the flag.
    const bound = 4 * Number(semi?.split('=')[1]) * 1024 * 1024;
    expect(newSpace(nodeFlags())).toBeLessThanOrEqual(bound);
    expect(newSpace([])).toBeGreaterThan(bound);
  });

  it('cap the heap below the size at which V8 lets the old generation grow fourfold', () => {
    // V8's --trace-gc-verbose names the factor it grows the old generation by after a full
    // collection ([HeapController]; Node 24 prints one for its global limit as well): 4 for
    // the largest heap limits (Node's default with 4 GiB of memory or more), 1.6 with the
    // image's 1 GiB. Old objects kept and young garbage made, for a few full collections.
    const script =
      'const keep = []; let junk = []; for (let i = 0; i < 4e6; i++) { junk.push({ i, s: "x" + i });' +
      ' if (junk.length > 1000) { keep.push(junk[0]); junk = []; } if (keep.length > 3000 && i % 2e5 === 0) keep.splice(0, 1000); }' +
      ' console.log("heap limit", require("v8").getHeapStatistics().heap_size_limit)';
    const old = nodeFlags().find((f) => f.startsWith('--max-old-space-size='));
    expect(old).toBeDefined();
    const capMiB = Number(old?.split('=')[1]);
    const out = execFileSync(process.execPath, [...nodeFlags(), '--trace-gc-verbose', '-e', script]).toString();
    const factors = [...out.matchAll(/\[HeapController\] factor (\d+(?:\.\d+)?)/g)].map((m) => Number(m[1]));
    expect(factors.length).toBeGreaterThan(0);
    expect(Math.max(...factors)).toBeLessThanOrEqual(2);
    // The limit V8 reports is the old generation's plus the young generation's.
    const limitMiB = Number(/heap limit (\d+)/.exec(out)?.[1]) / 2 ** 20;
    expect(limitMiB).toBeGreaterThanOrEqual(capMiB);
    expect(limitMiB).toBeLessThan(capMiB + 256);
  });

  it('leave hot code to TurboFan alone, without Maglev (which Node 24 would use)', () => {
    const script = 'function f(x) { let s = 0; for (let i = 0; i < 100; i++) s += x * i; return s; } let t = 0; for (let i = 0; i < 2e5; i++) t += f(i); console.log(t > 0)';
    const targets = (flags: string[]): string[] =>
      [
        ...execFileSync(process.execPath, [...flags, '--trace-opt', '-e', script])
          .toString()
          .matchAll(/target (\w+)/g),
      ].map((m) => m[1] ?? '');
    const shipped = targets(nodeFlags());
    expect(shipped.some((t) => t.startsWith('TURBOFAN'))).toBe(true);
    expect(shipped.filter((t) => t === 'MAGLEV')).toEqual([]);
    // Without the flag Node 24 compiles the same function with Maglev first: the flag is what stops it.
    if (Number(process.versions.node.split('.')[0]) >= 24) expect(targets([])).toContain('MAGLEV');
  });

  it('are the image entrypoint’s', () => {
    const entrypoint = JSON.parse(execFileSync(process.execPath, [join(root, 'scripts', 'node-flags.js'), '--entrypoint', '/app/main.js']).toString()) as string[];
    expect(entrypoint).toEqual(['/usr/local/bin/node', ...nodeFlags(), '/app/main.js']);
  });
});

describe('the environment the gateway ships with (scripts/node-env.txt)', () => {
  it('is NAME=VALUE assignments, comments dropped, as `--env` prints them for the image build', () => {
    const env = nodeEnv();
    expect(Object.keys(env).length).toBeGreaterThan(0);
    for (const [name, value] of Object.entries(env)) {
      expect(name).toMatch(/^[A-Z_][A-Z0-9_]*$/);
      expect(value).toMatch(/^\S+$/);
    }
    const printed = execFileSync(process.execPath, [join(root, 'scripts', 'node-flags.js'), '--env']).toString();
    expect(assignments(printed.trim().split('\n'), '--env')).toEqual(env);
  });

  it('refuses an entry that is not NAME=VALUE, naming where it came from', () => {
    expect(assignments(['A=1', 'B_2=x=y'], 'test')).toEqual({ A: '1', B_2: 'x=y' });
    expect(() => assignments(['BAD'], '--gateway-env')).toThrow('--gateway-env: BAD is not NAME=VALUE');
    expect(() => assignments(['=1'], 'test')).toThrow('not NAME=VALUE');
  });
});
