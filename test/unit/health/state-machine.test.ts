import { HealthStateMachine } from '../../../src/health/state-machine';
import type { ProbeVerdict } from '../../../src/health/probe';
import type { PassiveVerdict } from '../../../src/health/passive-window';
import { DEGRADED, HEALTHY, UNHEALTHY } from '../../../src/protocol/health';
import type { StatusChange } from '../../../src/health/states';

const ok: ProbeVerdict = { result: 'success' };
const fail = (reason = 'upstream answered 500'): ProbeVerdict => ({ result: 'failure', reason });
const upstreamDegraded = (details?: string): ProbeVerdict => (details === undefined ? { result: 'degraded' } : { result: 'degraded', details });
const trafficBad: PassiveVerdict = { status: DEGRADED, reason: '12 % of upstream requests failed in the last 60 s' };
const trafficFine: PassiveVerdict = { status: HEALTHY };

/** A machine with a clock the test moves by hand. */
function setup(unhealthyThreshold = 3, healthyThreshold = 2) {
  const clock = { t: 1_000 };
  const machine = new HealthStateMachine({ unhealthyThreshold, healthyThreshold }, () => clock.t);
  return { clock, machine };
}

/** A machine that has seen one successful probe (healthy). */
function healthy(unhealthyThreshold = 3, healthyThreshold = 2) {
  const s = setup(unhealthyThreshold, healthyThreshold);
  s.machine.recordProbe(ok);
  return s;
}

/** A machine driven to unhealthy by `unhealthyThreshold` failures after a success. */
function unhealthy(unhealthyThreshold = 3, healthyThreshold = 2) {
  const s = healthy(unhealthyThreshold, healthyThreshold);
  for (let i = 0; i < unhealthyThreshold; i++) s.machine.recordProbe(fail());
  expect(s.machine.current.status).toBe(UNHEALTHY);
  return s;
}

describe('HealthStateMachine', () => {
  describe('at start', () => {
    it('is unhealthy and says it is waiting for the first probe', () => {
      const { machine } = setup();
      expect(machine.current).toEqual({ status: UNHEALTHY, reason: 'waiting for the first probe', since: 1_000 });
    });

    it('becomes healthy on the first successful probe, without waiting for the healthy threshold', () => {
      const { clock, machine } = setup(3, 5);
      clock.t = 1_500;
      const change = machine.recordProbe(ok);
      expect(change).toEqual({ status: HEALTHY, previous: UNHEALTHY, reason: 'upstream healthy', at: 1_500 });
      expect(machine.current).toEqual({ status: HEALTHY, reason: 'upstream healthy', since: 1_500 });
    });

    it('becomes degraded when the first successful probe says the upstream is degraded', () => {
      const { machine } = setup();
      const change = machine.recordProbe(upstreamDegraded('replica lagging'));
      expect(change?.status).toBe(DEGRADED);
      expect(change?.reason).toBe('upstream reports degraded: replica lagging');
    });

    it('stays unhealthy on failures before any success, quoting the failure, and emits nothing', () => {
      const { machine } = setup();
      expect(machine.recordProbe(fail('upstream refused the connection'))).toBeUndefined();
      expect(machine.current.status).toBe(UNHEALTHY);
      expect(machine.current.reason).toBe('no successful probe yet: upstream refused the connection');
      expect(machine.current.since).toBe(1_000);
    });

    it('needs the healthy threshold once the failures before any success reached the unhealthy threshold', () => {
      const { machine } = setup(2, 2);
      machine.recordProbe(fail());
      machine.recordProbe(fail());
      expect(machine.current.reason).toBe('2 consecutive probes failed: upstream answered 500');
      expect(machine.recordProbe(ok)).toBeUndefined();
      expect(machine.current.status).toBe(UNHEALTHY);
      expect(machine.recordProbe(ok)?.status).toBe(HEALTHY);
    });

    it('leaves the starting state on one success when only some failures came before it', () => {
      const { machine } = setup(3, 2);
      machine.recordProbe(fail());
      machine.recordProbe(fail());
      expect(machine.recordProbe(ok)?.status).toBe(HEALTHY);
    });
  });

  describe('failures below the unhealthy threshold', () => {
    it('turns healthy into degraded on one failed probe, with the count and the reason', () => {
      const { clock, machine } = healthy();
      clock.t = 2_000;
      const change = machine.recordProbe(fail('upstream did not answer the probe within 2000 ms'));
      expect(change).toEqual({
        status: DEGRADED,
        previous: HEALTHY,
        reason: 'probe failed (1 of 3 before unhealthy): upstream did not answer the probe within 2000 ms',
        at: 2_000,
      });
    });

    it('updates the reason but emits nothing on a second failure below the threshold', () => {
      const { clock, machine } = healthy();
      clock.t = 2_000;
      machine.recordProbe(fail());
      clock.t = 3_000;
      expect(machine.recordProbe(fail('upstream reset the connection'))).toBeUndefined();
      expect(machine.current).toEqual({
        status: DEGRADED,
        reason: 'probe failed (2 of 3 before unhealthy): upstream reset the connection',
        since: 2_000,
      });
    });

    it('returns to healthy on the next success, because the failures never reached the threshold', () => {
      const { machine } = healthy();
      machine.recordProbe(fail());
      machine.recordProbe(fail());
      expect(machine.recordProbe(ok)).toMatchObject({ status: HEALTHY, previous: DEGRADED });
    });

    it('counts only consecutive failures: a success in between starts the count again', () => {
      const { machine } = healthy();
      machine.recordProbe(fail());
      machine.recordProbe(fail());
      machine.recordProbe(ok);
      machine.recordProbe(fail());
      machine.recordProbe(fail());
      expect(machine.current.status).toBe(DEGRADED);
    });
  });

  describe('the unhealthy threshold', () => {
    it('turns degraded into unhealthy on the failure that reaches the threshold', () => {
      const { clock, machine } = healthy();
      machine.recordProbe(fail());
      machine.recordProbe(fail());
      clock.t = 9_000;
      expect(machine.recordProbe(fail())).toEqual({
        status: UNHEALTHY,
        previous: DEGRADED,
        reason: '3 consecutive probes failed: upstream answered 500',
        at: 9_000,
      });
    });

    it('turns healthy into unhealthy at once when the threshold is 1', () => {
      const { machine } = healthy(1, 1);
      expect(machine.recordProbe(fail())).toMatchObject({ status: UNHEALTHY, previous: HEALTHY });
    });

    it('turns unhealthy on one failed probe that confirms failing live traffic, and says so', () => {
      const { machine } = healthy();
      expect(machine.recordProbe(fail('connection refused'), undefined, true)).toMatchObject({
        status: UNHEALTHY,
        previous: HEALTHY,
        reason: 'live traffic could not reach the upstream and a probe confirmed it: connection refused',
      });
    });

    it('still needs the healthy threshold to leave after a traffic-confirmed failure', () => {
      const { machine } = healthy();
      machine.recordProbe(fail(), undefined, true);
      expect(machine.recordProbe(ok)).toBeUndefined();
      expect(machine.recordProbe(ok)).toMatchObject({ status: HEALTHY, previous: UNHEALTHY });
    });

    it('keeps counting further failures without emitting', () => {
      const { machine } = unhealthy();
      expect(machine.recordProbe(fail())).toBeUndefined();
      expect(machine.current.reason).toBe('4 consecutive probes failed: upstream answered 500');
    });
  });

  describe('leaving unhealthy (hysteresis)', () => {
    it('stays unhealthy after fewer successes than the healthy threshold, and says it is recovering', () => {
      const { machine } = unhealthy(3, 3);
      expect(machine.recordProbe(ok)).toBeUndefined();
      expect(machine.recordProbe(ok)).toBeUndefined();
      expect(machine.current.status).toBe(UNHEALTHY);
      expect(machine.current.reason).toBe('probes failed: upstream answered 500 (recovering: 2 of 3 successful probes)');
    });

    it('becomes healthy on the success that reaches the healthy threshold', () => {
      const { clock, machine } = unhealthy(3, 2);
      machine.recordProbe(ok);
      clock.t = 20_000;
      expect(machine.recordProbe(ok)).toEqual({ status: HEALTHY, previous: UNHEALTHY, reason: 'upstream healthy', at: 20_000 });
    });

    it('restarts the count of successes after a failure', () => {
      const { machine } = unhealthy(3, 2);
      machine.recordProbe(ok);
      machine.recordProbe(fail());
      expect(machine.recordProbe(ok)).toBeUndefined();
      expect(machine.current.status).toBe(UNHEALTHY);
      expect(machine.recordProbe(ok)?.status).toBe(HEALTHY);
    });

    it('counts upstream-degraded answers as successes and leaves into degraded', () => {
      const { machine } = unhealthy(3, 2);
      machine.recordProbe(upstreamDegraded('disk 91 % full'));
      const change = machine.recordProbe(upstreamDegraded('disk 91 % full'));
      expect(change).toMatchObject({ status: DEGRADED, previous: UNHEALTHY, reason: 'upstream reports degraded: disk 91 % full' });
    });

    it('leaves on one success when the healthy threshold is 1', () => {
      const { machine } = unhealthy(3, 1);
      expect(machine.recordProbe(ok)?.status).toBe(HEALTHY);
    });
  });

  describe('the upstream reporting degraded', () => {
    it('turns healthy into degraded with the upstream reason', () => {
      const { machine } = healthy();
      expect(machine.recordProbe(upstreamDegraded('high load'))).toMatchObject({
        status: DEGRADED,
        reason: 'upstream reports degraded: high load',
      });
    });

    it('says only that the upstream reports degraded when it gave no details', () => {
      const { machine } = healthy();
      machine.recordProbe(upstreamDegraded());
      expect(machine.current.reason).toBe('upstream reports degraded');
    });

    it('updates the reason without emitting when the upstream details change', () => {
      const { machine } = healthy();
      machine.recordProbe(upstreamDegraded('a'));
      expect(machine.recordProbe(upstreamDegraded('b'))).toBeUndefined();
      expect(machine.current.reason).toBe('upstream reports degraded: b');
    });

    it('returns to healthy when the upstream says healthy again', () => {
      const { machine } = healthy();
      machine.recordProbe(upstreamDegraded('a'));
      expect(machine.recordProbe(ok)).toMatchObject({ status: HEALTHY, previous: DEGRADED });
    });

    it('lets a failed probe take over the reason while the upstream was degraded', () => {
      const { machine } = healthy();
      machine.recordProbe(upstreamDegraded('a'));
      expect(machine.recordProbe(fail())).toBeUndefined();
      expect(machine.current.reason).toBe('probe failed (1 of 3 before unhealthy): upstream answered 500');
    });
  });

  describe('the passive verdict', () => {
    it('turns healthy into degraded with the traffic reason', () => {
      const { machine } = healthy();
      expect(machine.setPassive(trafficBad)).toMatchObject({ status: DEGRADED, previous: HEALTHY, reason: trafficBad.reason });
    });

    it('returns to healthy when the traffic looks fine again', () => {
      const { machine } = healthy();
      machine.setPassive(trafficBad);
      expect(machine.setPassive(trafficFine)).toMatchObject({ status: HEALTHY, previous: DEGRADED });
    });

    it('names both reasons when the probe and the traffic both say degraded', () => {
      const { machine } = healthy();
      machine.recordProbe(upstreamDegraded('high load'));
      expect(machine.setPassive(trafficBad)).toBeUndefined();
      expect(machine.current.reason).toBe(`upstream reports degraded: high load; ${trafficBad.reason}`);
    });

    it('keeps it degraded through a successful probe while the traffic is bad', () => {
      const { machine } = healthy();
      machine.setPassive(trafficBad);
      expect(machine.recordProbe(ok)).toBeUndefined();
      expect(machine.current.status).toBe(DEGRADED);
    });

    it('never makes it unhealthy, and never hides an unhealthy verdict', () => {
      const { machine } = unhealthy();
      expect(machine.setPassive(trafficBad)).toBeUndefined();
      expect(machine.current.status).toBe(UNHEALTHY);
      expect(machine.current.reason).toBe('3 consecutive probes failed: upstream answered 500');
    });

    it('does not end the wait for the first probe', () => {
      const { machine } = setup();
      expect(machine.setPassive(trafficBad)).toBeUndefined();
      expect(machine.current.reason).toBe('waiting for the first probe');
    });

    it('takes a passive verdict together with a probe result in one step, with no intermediate status', () => {
      const { machine } = healthy();
      machine.setPassive(trafficBad);
      // The traffic recovered and the probe failed: degraded throughout, nothing to emit.
      expect(machine.recordProbe(fail(), trafficFine)).toBeUndefined();
      expect(machine.current.reason).toBe('probe failed (1 of 3 before unhealthy): upstream answered 500');
    });

    it('applies the traffic verdict held back until the upstream leaves unhealthy', () => {
      const { machine } = unhealthy(3, 1);
      machine.setPassive(trafficBad);
      expect(machine.recordProbe(ok)).toMatchObject({ status: DEGRADED, previous: UNHEALTHY, reason: trafficBad.reason });
    });
  });

  describe('events', () => {
    it('reports exactly one change per change of status over a whole outage and recovery', () => {
      const { clock, machine } = setup(3, 2);
      const changes: StatusChange[] = [];
      const inputs: ProbeVerdict[] = [ok, ok, fail(), fail(), fail(), fail(), ok, ok, ok, upstreamDegraded('x'), ok];
      for (const input of inputs) {
        clock.t += 1_000;
        const change = machine.recordProbe(input);
        if (change) changes.push(change);
      }
      expect(changes.map((c) => `${c.previous}->${c.status}`)).toEqual([
        'unhealthy->healthy',
        'healthy->degraded',
        'degraded->unhealthy',
        'unhealthy->healthy',
        'healthy->degraded',
        'degraded->healthy',
      ]);
    });

    it('hands out a new state object when the reason changes, and the same one otherwise', () => {
      const { machine } = healthy();
      const before = machine.current;
      machine.recordProbe(ok);
      expect(machine.current).toBe(before);
      machine.recordProbe(fail());
      const degraded = machine.current;
      machine.recordProbe(fail('other'));
      expect(machine.current).not.toBe(degraded);
    });
  });

  it('rejects thresholds below 1', () => {
    expect(() => new HealthStateMachine({ unhealthyThreshold: 0, healthyThreshold: 1 })).toThrow(/unhealthyThreshold/);
    expect(() => new HealthStateMachine({ unhealthyThreshold: 1, healthyThreshold: 1.5 })).toThrow(/healthyThreshold/);
  });
});
