import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The package's own version, read once from its package.json (two levels up from both
 * `src/` and `dist/`), so that no build step has to stamp it.
 */
export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
