import { FEDERATION_PREFIX } from '../protocol/paths';
import { firstSegments } from '../http/path-readings';

/** `federation`, the first segment every federation route starts with. */
const FEDERATION_SEGMENT = FEDERATION_PREFIX.slice(1, -1);

/**
 * True when a request must be refused with 403 `FEDERATION_DISABLED` because the
 * published document says `federation_enabled: false`: the gateway enforces what it
 * advertises, and the upstream never sees the request. The path is judged as an upstream
 * might read it (see `firstSegments`): `/federation;x/…`, `/%66ederation/…`,
 * `/FEDERATION%20/…` and `/v1/../federation/…` are all refused. Pure.
 *
 * @param path the request path without the query, as received
 */
export function federationRefused(path: string, federationEnabled: boolean): boolean {
  if (federationEnabled) return false;
  return firstSegments(path).has(FEDERATION_SEGMENT);
}
