import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The absolute path of an executable on PATH, or undefined. */
export function findExecutable(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Whether tests needing `name` should be skipped: only when it is absent and we are not
 * in CI. In CI (`CI` set) a missing tool is a failure, reported by `requireExecutable`.
 */
export function skipWithout(name: string): boolean {
  return findExecutable(name) === undefined && !process.env.CI;
}

/** The path of `name`, or an error saying how to install it. */
export function requireExecutable(name: string, debianPackage: string): string {
  const path = findExecutable(name);
  if (path === undefined) {
    throw new Error(`${name} is not on PATH; CI must install it: apt-get install -y ${debianPackage}`);
  }
  return path;
}
