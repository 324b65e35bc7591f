import { CHECK_CONFIG_USAGE, checkConfigCommand } from '../../../src/cli/check-config';
import { DEMO_USAGE, startDemo } from '../../../src/cli/demo';
import { discoverCommand } from '../../../src/cli/discover';
import { FINGERPRINT_USAGE, fingerprintCommand } from '../../../src/cli/fingerprint';
import { SERVE_USAGE, startServeCommand } from '../../../src/cli/serve';
import { captureIo } from '../../helpers/cli-io';

// Each command in-process with an injected CliIo. The bin's own `--help` (the program's
// usage, which main.ts prints) is the one spawned smoke test in test/e2e/cli.test.ts.

describe('command help', () => {
  it.each([
    ['check-config', checkConfigCommand, CHECK_CONFIG_USAGE],
    ['fingerprint', fingerprintCommand, FINGERPRINT_USAGE],
    ['discover', discoverCommand, undefined],
  ] as const)('%s prints its usage for --help and -h, exit 0, and nothing on stderr', async (name, command, usage) => {
    const results = [];
    for (const flag of ['--help', '-h']) {
      const { io, out, err } = captureIo();
      results.push({ code: await command([flag], io), out: out(), err: err() });
    }
    const expected = { code: 0, out: usage ?? expect.stringMatching(new RegExp(`^Usage: cryptid-gateway ${name} `)), err: '' };
    expect(results).toEqual([expected, expected]);
  });

  // serve and demo return 'help' instead of starting anything; main.ts prints their usage.
  it.each([
    ['serve', startServeCommand, SERVE_USAGE],
    ['demo', startDemo, DEMO_USAGE],
  ] as const)('%s answers --help and -h with "help" before starting anything, and has a usage text naming it', async (name, command, usage) => {
    const results = [];
    for (const flag of ['--help', '-h']) {
      const { io, out, err } = captureIo();
      results.push({ result: await command([flag], io), out: out(), err: err() });
    }
    expect(results).toEqual([
      { result: 'help', out: '', err: '' },
      { result: 'help', out: '', err: '' },
    ]);
    expect(usage).toMatch(new RegExp(`^Usage: cryptid-gateway ${name} `));
  });
});
