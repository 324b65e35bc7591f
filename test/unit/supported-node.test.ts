import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';

// The supported Node.js majors are written down in several places: the pins CI tests on
// (scripts/node-versions.txt), package.json's engines, the @types/node the code is
// type-checked against, and the operations guide. They must tell one story.
const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const pins = readFileSync(join(root, 'scripts/node-versions.txt'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '' && !line.startsWith('#'))
  .map((line) => {
    const [major, version] = line.trim().split(/\s+/);
    return { major: Number(major), version: version ?? '' };
  });
const pinnedMajors = pins.map((p) => p.major);
const oldest = Math.min(...pinnedMajors);
const newest = Math.max(...pinnedMajors);

describe('the supported Node.js versions', () => {
  test('each pin is a release of its major that engines.node admits', () => {
    expect(pins.length).toBeGreaterThan(0);
    for (const pin of pins) {
      expect(semver.valid(pin.version)).toBe(pin.version);
      expect(semver.major(pin.version)).toBe(pin.major);
      expect({ pin: pin.version, admitted: semver.satisfies(pin.version, pkg.engines.node) }).toEqual({ pin: pin.version, admitted: true });
    }
  });

  test('engines.node admits no major up to the newest pin that CI does not test', () => {
    const admitted: number[] = [];
    for (let major = 1; major <= newest; major++) if (semver.intersects(pkg.engines.node, `${major}.x`)) admitted.push(major);
    expect(admitted).toEqual([...pinnedMajors].sort((a, b) => a - b));
  });

  test('engines.node asks no less than each runtime dependency does', () => {
    for (const name of Object.keys(pkg.dependencies)) {
      const theirs = (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { engines?: { node?: string } }).engines?.node;
      if (theirs === undefined) continue;
      expect({ name, theirs, subset: semver.subset(pkg.engines.node, theirs) }).toEqual({ name, theirs, subset: true });
    }
  });

  test('@types/node is the oldest supported major, so the code uses no API that major lacks', () => {
    const range = pkg.devDependencies['@types/node'] ?? '';
    expect(semver.minVersion(range)?.major).toBe(oldest);
    const installed = (JSON.parse(readFileSync(join(root, 'node_modules/@types/node/package.json'), 'utf8')) as { version: string }).version;
    expect(semver.major(installed)).toBe(oldest);
  });

  test('the operations guide names every pin', () => {
    const guide = readFileSync(join(root, 'docs/operations.md'), 'utf8');
    expect(pins.map((p) => p.version).filter((version) => !guide.includes(version))).toEqual([]);
  });
});
