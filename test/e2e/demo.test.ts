import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { followLines } from '../helpers/child-lines';
import { BIN } from '../helpers/bin';

describe('cryptid-gateway demo (what npm start runs)', () => {
  it('runs the example upstream behind the gateway, shows a message travelling through it, and stops on SIGINT', async () => {
    const child = spawn(process.execPath, [BIN, 'demo', '--port', '0', '--metrics-port', '0', '--log-level', 'error'], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    const out = followLines(child);
    // The demo makes a certificate, starts two servers and sends a message: more than a loopback event.
    await out.until((line) => line.startsWith('Ctrl-C stops the demo.'), 'the demo saying "Ctrl-C stops the demo."', 15_000);
    const text = out.lines.join('\n');
    expect(text).toMatch(/gateway {6}https:\/\/localhost:\d+/);
    expect(text).toMatch(/fingerprint {2}sha256:[0-9a-f]{64}/);
    expect(text).toContain("A message travelled through the gateway; Bob's stream received:");
    expect(text).toMatch(/"type":"message".*"ciphertext":"aGVsbG8gQm9i"/);
    child.kill('SIGINT');
    expect(await exited).toEqual([0, null]);
  });
});
