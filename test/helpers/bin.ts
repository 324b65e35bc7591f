import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };

/** The built CLI the package's `bin` names (the single-file bundle): what `npx cryptid-gateway` runs. */
export const BIN = join(root, pkg.bin['cryptid-gateway'] ?? 'missing-bin');
