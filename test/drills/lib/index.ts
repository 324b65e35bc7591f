/** The fault drills of issue 7, in the order they run. */
import { certRotation } from './cert-rotation';
import { hostileClients } from './hostile-clients';
import { rateLimitFleet } from './rate-limit-fleet';
import type { Drill } from './report';
import { rollingRestart } from './rolling-restart';
import { soak } from './soak';
import { upstreamHangs } from './upstream-hangs';
import { upstreamKilled } from './upstream-killed';

export const DRILLS: readonly Drill[] = [upstreamKilled, upstreamHangs, rollingRestart, hostileClients, certRotation, soak, rateLimitFleet];

export type { Drill, DrillReport, DrillSize } from './report';
export { failures } from './report';
