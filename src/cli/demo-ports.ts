import { DEFAULTS } from '../config/defaults';
import { parseListenAddress } from '../config/listen-address';

/** The port of a listen address in the defaults. */
function portOf(address: string): number {
  const parsed = parseListenAddress(address);
  if (typeof parsed === 'string') throw new Error(`${address}: ${parsed}`);
  return parsed.port;
}

/** The demo listens where `serve` does by default, but on 127.0.0.1 only. */
export const DEMO_PORT = portOf(DEFAULTS.listen);
/** The demo's metrics listener: the default metrics port. */
export const DEMO_METRICS_PORT = portOf(DEFAULTS.metrics.listen);
