import { ConnectionFailureRun } from '../../../src/health/connection-failure-run';

describe('ConnectionFailureRun', () => {
  it('calls for a probe on the third connection failure in a row', () => {
    const run = new ConnectionFailureRun(3, 1_000);
    expect([run.record(true, 0), run.record(true, 1), run.record(true, 2)]).toEqual([false, false, true]);
    expect(run.length).toBe(0);
  });

  it('starts again after any answer from the upstream', () => {
    const run = new ConnectionFailureRun(3, 1_000);
    run.record(true, 0);
    run.record(true, 1);
    expect(run.record(false, 2)).toBe(false);
    expect(run.record(true, 3)).toBe(false);
    expect(run.length).toBe(1);
  });

  it('holds back a second trigger within the cooldown and fires at the first failure after it', () => {
    const run = new ConnectionFailureRun(3, 1_000);
    for (let t = 0; t < 3; t++) run.record(true, t);
    const during = [3, 4, 5, 6, 500, 999].map((t) => run.record(true, t));
    expect(during.every((fired) => !fired)).toBe(true);
    expect(run.record(true, 1_002)).toBe(true);
  });
});
