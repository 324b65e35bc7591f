/**
 * The paths the Cryptid protocol fixes (server-discovery page; protocol reference §9.1).
 * Server side and client side both take them from here.
 */

/** Server discovery, an RFC 8615 well-known URI. */
export const DISCOVERY_PATH = '/.well-known/cryptid';

/** The server's health status (server-discovery page, "Health Check"). */
export const HEALTH_PATH = '/v1/health';

/** Server-to-server federation lives under this prefix. */
export const FEDERATION_PREFIX = '/federation/';

/** The WebSocket message stream. */
export const STREAM_PATH = '/v1/stream';

/** Device announcement: unauthenticated, so the address is the only key a gateway has for it. */
export const ANNOUNCE_PATH = '/v1/announce';
