import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SILENT_LOGGER } from '../../../src/logger';
import { ConfigFileWatcher } from '../../../src/server/config-reload';

describe('ConfigFileWatcher.check', () => {
  let dir: string;
  let file: string;
  let reloads: number;
  let watcher: ConfigFileWatcher;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cryptid-config-watch-'));
    file = join(dir, 'config.yaml');
    writeFileSync(file, 'upstream: http://127.0.0.1:1\n');
    reloads = 0;
    watcher = new ConfigFileWatcher({ file, reload: () => void reloads++, logger: SILENT_LOGGER });
  });
  afterEach(() => {
    watcher.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('does not reload for the content it started with', () => {
    expect(watcher.check()).toBe(false);
    expect(reloads).toBe(0);
  });

  it('reloads once per distinct content, so a broken file seen again by the poll is not refused (and logged) again', () => {
    writeFileSync(file, 'upstream: [\n');
    expect([watcher.check(), watcher.check(), watcher.check()]).toEqual([true, false, false]);
    writeFileSync(file, 'upstream: http://127.0.0.1:2\n');
    expect(watcher.check()).toBe(true);
    expect(reloads).toBe(2);
  });

  it('takes a file that went missing as a content of its own, and its return as another', () => {
    unlinkSync(file);
    expect([watcher.check(), watcher.check()]).toEqual([true, false]);
    writeFileSync(file, 'upstream: http://127.0.0.1:1\n');
    expect(watcher.check()).toBe(true);
    expect(reloads).toBe(2);
  });
});
