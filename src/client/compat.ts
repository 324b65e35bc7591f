// The one function used, from its own module: the package index loads all 47 of semver's.
import coerce from 'semver/functions/coerce';

/** The protocol version this client speaks (server-discovery page, "Protocol Version Compatibility"). */
export const CLIENT_PROTOCOL_VERSION = '1.0';

// A version and nothing else: "1", "1.0", "v1.2.3", "1.0.0-rc.1". `semver.coerce` alone
// would find "1.0.0" inside "garbage 1", and a server publishing that is not one we understand.
const VERSION_SHAPE = /^v?(0|[1-9]\d*)(\.(0|[1-9]\d*)){0,2}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

/** The semver major of a version string, or undefined when it is not a version. */
export function majorOf(version: string): number | undefined {
  const trimmed = version.trim();
  if (!VERSION_SHAPE.test(trimmed)) return undefined;
  return coerce(trimmed)?.major;
}

/**
 * Whether a server's `protocol_version` is compatible with the client's: the same major
 * version; minor and patch are ignored (the page: clients MUST check the major, SHOULD
 * ignore the patch). Short forms like `"1.0"` are coerced; anything that is not a version is
 * not compatible.
 */
export function isCompatible(serverVersion: string, clientVersion: string = CLIENT_PROTOCOL_VERSION): boolean {
  const server = majorOf(serverVersion);
  const client = majorOf(clientVersion);
  return server !== undefined && client !== undefined && server === client;
}
