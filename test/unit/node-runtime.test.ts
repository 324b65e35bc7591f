import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';

// .ci/run runs this suite once per supported Node.js major, with that runtime's bin
// directory first on PATH, and names the version it means in CRYPTID_TEST_NODE_VERSION.
// A run that silently fell back to the machine's default node would test nothing new,
// so the suite checks from the inside that it is where CI put it.
const expected = process.env.CRYPTID_TEST_NODE_VERSION;
const whenAsked = expected === undefined ? describe.skip : describe;

whenAsked(`the Node.js running the suite${expected === undefined ? ' (SKIPPED: CRYPTID_TEST_NODE_VERSION is not set; .ci/run sets it)' : ''}`, () => {
  test('is the version the CI run asked for', () => {
    expect(process.version).toBe(expected);
  });

  test('is the node found on PATH, the one npm scripts and `#!/usr/bin/env node` children start', () => {
    const onPath = execFileSync('node', ['-p', 'process.execPath'], { encoding: 'utf8', timeout: 15_000 }).trim();
    expect(realpathSync(onPath)).toBe(realpathSync(process.execPath));
  });
});
