import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVE_FLAGS } from '../../../src/config/flags';

/** One row of a README table that has a `flag` and an `environment` column. */
interface FlagRow {
  readonly flag: string | undefined;
  readonly env: string | undefined;
  /** Undefined when the table has no `key` column; null when the row's key cell names no key. */
  readonly key: string | null | undefined;
  readonly line: string;
}

/** Cells of a markdown table line, split on the pipes that are not escaped (`\|`). */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** Every markdown table of the text, as its lines (header, separator, rows). */
function tables(markdown: string): string[][] {
  const found: string[][] = [];
  let current: string[] = [];
  for (const line of [...markdown.split('\n'), '']) {
    if (line.trim().startsWith('|')) current.push(line);
    else if (current.length > 0) {
      found.push(current);
      current = [];
    }
  }
  return found.filter((t) => t.length >= 2 && /^\|?\s*:?-{3,}/.test(t[1]!.trim()));
}

const heading = (cell: string): string => cell.replace(/[`*_]/g, '').trim().toLowerCase();
const backticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

/** The rows of every table whose header has a `flag` column and an `environment` (or `env`) column. */
function readmeFlagRows(markdown: string): FlagRow[] {
  const rows: FlagRow[] = [];
  for (const table of tables(markdown)) {
    const header = cells(table[0]!).map(heading);
    const flagColumn = header.findIndex((h) => h === 'flag' || h === 'flags');
    const envColumn = header.findIndex((h) => /^env(ironment)?( variables?| vars?)?$/.test(h));
    if (flagColumn < 0 || envColumn < 0) continue;
    const keyColumn = header.findIndex((h) => /^(config(uration)? )?key$/.test(h));
    for (const line of table.slice(2)) {
      const row = cells(line);
      const flagText = backticked(row[flagColumn] ?? '').find((t) => t.startsWith('--'));
      rows.push({
        flag: flagText === undefined ? undefined : /^--([a-z0-9-]+)/.exec(flagText)?.[1],
        env: backticked(row[envColumn] ?? '').find((t) => /^[A-Z][A-Z0-9_]*$/.test(t)),
        key: keyColumn < 0 ? undefined : (backticked(row[keyColumn] ?? '')[0] ?? null),
        line,
      });
    }
  }
  return rows;
}

describe("the README's flag and environment table", () => {
  const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  const rows = readmeFlagRows(readme);

  it('exists: a markdown table with a `flag` column and an `environment` column', () => {
    expect(rows.length).toBeGreaterThan(0);
  });

  it('names a flag and an environment variable on every row', () => {
    expect(rows.filter((r) => r.flag === undefined || r.env === undefined).map((r) => r.line)).toEqual([]);
  });

  it('lists exactly the flags of serve, once each', () => {
    expect(rows.map((r) => r.flag).sort()).toEqual(SERVE_FLAGS.map((f) => f.name).sort());
  });

  it('lists exactly their environment variables, once each', () => {
    expect(rows.map((r) => r.env).sort()).toEqual(SERVE_FLAGS.map((f) => f.env).sort());
  });

  it.each(SERVE_FLAGS.map((f) => [f.name, f] as const))('pairs --%s with its environment variable and configuration key', (name, flag) => {
    const row = rows.find((r) => r.flag === name);
    expect(row?.env).toBe(flag.env);
    // A table without a key column says nothing about keys; with one, it must be right.
    if (row?.key !== undefined) expect(row.key).toBe(flag.key ?? null);
  });
});
