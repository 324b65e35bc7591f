import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULTS } from '../../../src/config/defaults';
import { DOCUMENT_DEFAULTS } from '../../../src/protocol/document';

/** The README's configuration table, as key → default cell. */
function readmeDefaults(): Map<string, string> {
  const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Configuration'));
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const cells = line.split(' | ').map((c) => c.trim());
    const key = /^\| `([A-Za-z0-9_.]+)`$/.exec(cells[0] ?? '')?.[1];
    if (key && cells.length >= 4 && !rows.has(key)) rows.set(key, cells[2]!);
  }
  return rows;
}

/** Every leaf of an object as dotted path → value. */
function leaves(value: unknown, prefix: string, out: Map<string, unknown>): Map<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !prefix.endsWith('_limits')) {
    for (const [k, v] of Object.entries(value)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, value);
  return out;
}

describe('the README options table', () => {
  const table = readmeDefaults();
  const defaults = leaves(DEFAULTS, '', new Map());
  leaves(DOCUMENT_DEFAULTS, 'discovery.document', defaults);

  it.each([...defaults.entries()])('states the real default of %s', (key, value) => {
    expect(table.has(key)).toBe(true);
    expect(table.get(key)).toBe(`\`${JSON.stringify(value)}\``);
  });

  it('has a row for every required key', () => {
    expect(table.get('upstream')).toBe('required');
    expect(table.get('discovery.document.server_name')).toBe('required');
  });
});
