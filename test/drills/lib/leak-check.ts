import type { GatewayProcess } from './gateway-process';
import type { GatewayStats } from './gateway-protocol';
import type { Recorder } from './report';

/**
 * Once every client and upstream connection of a drill has ended, the gateway process
 * holds no more descriptors and sockets than before the load, and its listener no connection.
 */
export async function leakCheck(r: Recorder, gw: GatewayProcess, before: GatewayStats): Promise<GatewayStats> {
  const after = await gw.statsUntil((s) => s.connections === 0 && s.fds <= before.fds && s.sockets <= before.sockets, 10_000);
  r.check(
    'no leaked sockets',
    after.connections === 0 && after.fds <= before.fds && after.sockets <= before.sockets,
    `gateway process fds ${before.fds} → ${after.fds}, TCP sockets ${before.sockets} → ${after.sockets}, listener connections ${after.connections}`,
  );
  return after;
}
