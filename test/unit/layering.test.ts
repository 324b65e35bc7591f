import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, normalize } from 'node:path';

const SRC = join(__dirname, '..', '..', 'src');

/**
 * The layers of src/, lowest first. A module may import from its own folder and from
 * lower layers only: protocol facts at the bottom, the CLI at the top. Folders in one
 * layer do not import each other (metrics does not know proxy types, say).
 */
const LAYERS: readonly (readonly string[])[] = [
  ['validation'],
  ['protocol', 'version.ts'],
  ['errors.ts', 'net', 'http', 'tls', 'logger.ts'],
  ['config', 'client'],
  ['discovery', 'health', 'proxy', 'metrics', 'rate-limit', 'example-upstream'],
  ['traffic-observer.ts', 'rate-limit-metrics.ts'],
  ['gateway.ts'],
  ['server'],
  ['cli', 'index.ts'],
];

/** The unit a file belongs to: its top folder under src/, or the file itself at the top level. */
function unitOf(file: string): string {
  return relative(SRC, file).split('/')[0] as string;
}

function layerOf(unit: string): number {
  const layer = LAYERS.findIndex((units) => units.includes(unit));
  if (layer === -1) throw new Error(`src/${unit} is in no layer: add it to LAYERS`);
  return layer;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every relative import of a file, resolved to the unit it lands in. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/\bfrom '(\.[^']+)'/g)].map((m) => m[1] as string);
  return specs.map((spec) => {
    const [top = '', ...rest] = relative(SRC, normalize(join(dirname(file), spec))).split('/');
    // `../errors` is the top-level file errors.ts; `../client` (a folder) is the folder.
    return rest.length === 0 && !isDirectory(join(SRC, top)) ? `${top}.ts` : top;
  });
}

describe('the layering of src/', () => {
  const files = sources(SRC);

  it('puts every folder and top-level file in a layer', () => {
    for (const file of files) expect(() => layerOf(unitOf(file))).not.toThrow();
  });

  it('has no import that runs sideways or up a layer', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = unitOf(file);
      for (const to of importsOf(file)) {
        if (to === from) continue;
        const [a, b] = [layerOf(from), layerOf(to)];
        if (b >= a) wrong.push(`${relative(SRC, file)} imports ${to}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
