import type { DiscoveryDocument } from '../protocol/document';
import { isCompatible } from './compat';
import type { DiscoveryError } from './errors';
import type { HealthReport } from './health';
import { printableValue } from './printable';

/** What a server must offer to be chosen (the page's "Client Server Selection"). */
export interface ServerRequirements {
  /** Features that must all be in `supported_features`, e.g. `["websocket_streaming"]`. @default [] */
  requiredFeatures?: readonly string[];
  /** The client's protocol version; the server's major must match. @default the client's `protocolVersion` */
  protocolVersion?: string;
  /** Only servers with `federation_enabled`. @default false */
  requireFederation?: boolean;
  /** Ask `/v1/health` and skip unhealthy servers, preferring healthy over degraded. @default true */
  checkHealth?: boolean;
}

/** Why a candidate was not usable. */
export type RejectionReason = 'discovery_failed' | 'incompatible_version' | 'missing_features' | 'federation_disabled' | 'unhealthy' | 'health_check_failed';

/** A candidate that did not qualify, and why, in words a log line or a user can take. */
export interface RejectedCandidate {
  readonly domain: string;
  readonly reason: RejectionReason;
  readonly message: string;
  /** The failure behind `discovery_failed` / `health_check_failed`. */
  readonly error?: DiscoveryError | Error;
}

/**
 * Checks a document against requirements: the reason and message of the first unmet
 * requirement, or undefined when all are met.
 */
export function unmetRequirement(
  document: DiscoveryDocument,
  requirements: ServerRequirements,
  clientVersion: string,
): Pick<RejectedCandidate, 'reason' | 'message'> | undefined {
  const version = requirements.protocolVersion ?? clientVersion;
  if (!isCompatible(document.protocol_version, version)) {
    return {
      reason: 'incompatible_version',
      message: `protocol ${printableValue(document.protocol_version)} is not compatible with ${printableValue(version)}`,
    };
  }
  const missing = (requirements.requiredFeatures ?? []).filter((f) => !document.supported_features.includes(f));
  if (missing.length > 0) return { reason: 'missing_features', message: `lacks ${missing.join(', ')}` };
  if (requirements.requireFederation === true && !document.federation_enabled) {
    return { reason: 'federation_disabled', message: 'federation is disabled' };
  }
  return undefined;
}

/** Preference by health: healthy, then degraded, then servers without a health endpoint. */
export function healthRank(health: HealthReport | undefined): number {
  if (health === undefined) return 2;
  return health.status === 'healthy' ? 0 : 1;
}
