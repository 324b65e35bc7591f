// The one function used, from its own module: the package index loads all 47 of semver's.
import coerce from 'semver/functions/coerce';
import * as z from 'zod/mini';
import { positiveInteger } from '../validation/numbers';
import { nearMissOf } from './near-miss';

/**
 * The discovery document served at `/.well-known/cryptid`
 * (server-discovery page, "Server Capabilities"). Field names are the protocol's own.
 * Fields this version does not know (a future `websocket` section, say) are kept as given.
 */
export interface DiscoveryDocument {
  /** Cryptid protocol version the server implements (semantic versioning, e.g. `"1.0"`). */
  protocol_version: string;
  /** The server's canonical domain name; must match DNS. */
  server_name: string;
  /** Whether the server accepts federated messages at `/federation/v1/*`. */
  federation_enabled: boolean;
  /** Features the server implements; always contains `mls_messaging`. */
  supported_features: string[];
  /** Rate limits the server enforces; clients SHOULD respect them. */
  rate_limits: RateLimits;
  /** Message size and retention limits. */
  message_limits: MessageLimits;
  /** `sha256:` + 64 lower-case hex of SHA-256 over the DER of the server's TLS leaf certificate. */
  certificate_fingerprint: string;
  /** Future protocol fields, published as given. */
  [extra: string]: unknown;
}

/** `rate_limits` of the discovery document; extra limits (e.g. InfoPackage uploads) are allowed. */
export interface RateLimits {
  federated_messages_per_minute: number;
  announcements_per_hour: number;
  [limit: string]: number;
}

/** `message_limits` of the discovery document. */
export interface MessageLimits {
  /** Maximum message size in bytes. */
  max_message_size: number;
  /** Days an unacknowledged message is kept. */
  max_retention_days: number;
  [limit: string]: number;
}

/** The document's defaults: those of the published example (extended form's features). */
export const DOCUMENT_DEFAULTS = {
  protocol_version: '1.0',
  federation_enabled: true,
  supported_features: ['mls_messaging', 'websocket_streaming', 'offline_queuing'],
  rate_limits: { federated_messages_per_minute: 1000, announcements_per_hour: 24 },
  message_limits: { max_message_size: 10485760, max_retention_days: 30 },
} as const;

export const FINGERPRINT_PATTERN = /^sha256:[0-9a-f]{64}$/;

// RFC 1123 labels, lower case only: the document's name is compared byte for byte with DNS names.
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const FQDN_PATTERN = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})+$`);

/** True for a lower-case fully qualified domain name without port or trailing dot. */
export function isFqdn(name: string): boolean {
  return FQDN_PATTERN.test(name);
}

export const protocolVersionField = z
  .string({ error: 'expected a version string such as "1.0"' })
  .check(z.refine((v) => coerce(v) !== null, { error: 'expected a semantic version such as "1.0" or "1.2.3"' }));

/** What a missing or non-string `server_name` is told. */
export const SERVER_NAME_EXPECTED = 'expected the server\'s domain name, e.g. "chat.example.com"';

export const serverNameField = z
  .string({ error: SERVER_NAME_EXPECTED })
  .check(z.refine(isFqdn, { error: 'expected a fully qualified domain name in lower case, without port or trailing dot (e.g. chat.example.com)' }));

export const featuresField = z
  .array(z.string({ error: 'expected feature names as strings' }), { error: 'expected an array of feature names' })
  .check(z.refine((f) => f.includes('mls_messaging'), { error: 'must contain "mls_messaging" (required by the protocol)' }));

export const fingerprintField = z
  .string({ error: 'expected a string "sha256:<64 lower-case hex>"' })
  .check(z.regex(FINGERPRINT_PATTERN, 'expected "sha256:" followed by 64 lower-case hex characters'));

const limitsError = { error: 'expected an object of positive integer limits' };

const rateLimitsField = z.catchall(z.object({ federated_messages_per_minute: positiveInteger, announcements_per_hour: positiveInteger }, limitsError), positiveInteger);
const messageLimitsField = z.catchall(z.object({ max_message_size: positiveInteger, max_retention_days: positiveInteger }, limitsError), positiveInteger);

const rd = DOCUMENT_DEFAULTS.rate_limits;
const md = DOCUMENT_DEFAULTS.message_limits;
const rateLimitsWithDefaults = z.catchall(
  z.object(
    {
      federated_messages_per_minute: z._default(positiveInteger, rd.federated_messages_per_minute),
      announcements_per_hour: z._default(positiveInteger, rd.announcements_per_hour),
    },
    limitsError,
  ),
  positiveInteger,
);
const messageLimitsWithDefaults = z.catchall(
  z.object({ max_message_size: z._default(positiveInteger, md.max_message_size), max_retention_days: z._default(positiveInteger, md.max_retention_days) }, limitsError),
  positiveInteger,
);

/**
 * The document as a server must publish it, every field present: what a client accepts
 * (the same rules as the server side).
 */
export const publishedDocumentSchema = z.looseObject({
  protocol_version: protocolVersionField,
  server_name: serverNameField,
  federation_enabled: z.boolean({ error: 'expected true or false' }),
  supported_features: featuresField,
  rate_limits: rateLimitsField,
  message_limits: messageLimitsField,
  certificate_fingerprint: fingerprintField,
});

/**
 * The `discovery.document` block of the configuration: defaults filled in,
 * `server_name` required, the fingerprint optional (computed from `tls.cert` otherwise).
 */
export const configuredDocumentSchema = z.looseObject({
  protocol_version: z._default(protocolVersionField, DOCUMENT_DEFAULTS.protocol_version),
  server_name: serverNameField,
  federation_enabled: z._default(z.boolean({ error: 'expected true or false' }), DOCUMENT_DEFAULTS.federation_enabled),
  supported_features: z._default(featuresField, () => [...DOCUMENT_DEFAULTS.supported_features]),
  rate_limits: z._default(rateLimitsWithDefaults, () => ({ ...rd })),
  message_limits: z._default(messageLimitsWithDefaults, () => ({ ...md })),
  certificate_fingerprint: z.optional(fingerprintField),
});

const rateLimitOverrides = z.catchall(
  z.object({ federated_messages_per_minute: z.optional(positiveInteger), announcements_per_hour: z.optional(positiveInteger) }, limitsError),
  positiveInteger,
);
const messageLimitOverrides = z.catchall(
  z.object({ max_message_size: z.optional(positiveInteger), max_retention_days: z.optional(positiveInteger) }, limitsError),
  positiveInteger,
);

/**
 * The `discovery.document` block when the document comes from the upstream: every field
 * optional and no defaults filled in, since only the fields given override the upstream's.
 * The same rules as a configured document for each field that is there.
 */
export const documentOverridesSchema = z.looseObject({
  protocol_version: z.optional(protocolVersionField),
  server_name: z.optional(serverNameField),
  federation_enabled: z.optional(z.boolean({ error: 'expected true or false' })),
  supported_features: z.optional(featuresField),
  rate_limits: z.optional(rateLimitOverrides),
  message_limits: z.optional(messageLimitOverrides),
  certificate_fingerprint: z.optional(fingerprintField),
});

/** The fields the protocol defines, at the top of the document and inside its two limit objects. */
export const DOCUMENT_FIELDS = {
  document: Object.keys(configuredDocumentSchema.shape),
  rate_limits: ['federated_messages_per_minute', 'announcements_per_hour'],
  message_limits: ['max_message_size', 'max_retention_days'],
} as const satisfies Record<string, readonly string[]>;

/** A key of a configured document that looks like a misspelt protocol field. */
export interface NearMiss {
  /** Where the key is, relative to the document: `["federation_enable"]`, `["message_limits", "max_mesage_size"]`. */
  readonly path: readonly string[];
  /** The protocol field it resembles. */
  readonly resembles: string;
}

/**
 * Every key of a configured document (raw input, before defaults) that is a near miss of a
 * protocol field. Extra fields are published as given, so a typo would otherwise leave the
 * default in force (`federation_enable: false` keeps federation on and its guard off). Pure.
 */
export function documentNearMisses(raw: unknown): NearMiss[] {
  const found: NearMiss[] = [];
  if (!isPlainObject(raw)) return found;
  for (const key of Object.keys(raw)) {
    const resembles = nearMissOf(key, DOCUMENT_FIELDS.document);
    if (resembles !== undefined) found.push({ path: [key], resembles });
  }
  for (const block of ['rate_limits', 'message_limits'] as const) {
    const limits = raw[block];
    if (!isPlainObject(limits)) continue;
    for (const key of Object.keys(limits)) {
      const resembles = nearMissOf(key, DOCUMENT_FIELDS[block]);
      if (resembles !== undefined) found.push({ path: [block, key], resembles });
    }
  }
  return found;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The configured document before the fingerprint is known. */
export type DocumentTemplate = Omit<DiscoveryDocument, 'certificate_fingerprint'> & { certificate_fingerprint?: string };

/** Input form of the `discovery.document` block: only `server_name` is required. */
export interface DiscoveryDocumentOptions {
  /** @default "1.0" */
  protocol_version?: string;
  /** The server's public DNS name, e.g. `chat.example.com`. Required. */
  server_name: string;
  /** @default true */
  federation_enabled?: boolean;
  /** @default ["mls_messaging", "websocket_streaming", "offline_queuing"] */
  supported_features?: string[];
  /** @default { federated_messages_per_minute: 1000, announcements_per_hour: 24 } */
  rate_limits?: Partial<RateLimits>;
  /** @default { max_message_size: 10485760, max_retention_days: 30 } */
  message_limits?: Partial<MessageLimits>;
  /** Given literally instead of computed from `tls.cert`. */
  certificate_fingerprint?: string;
  /** Future protocol fields, published as given. */
  [extra: string]: unknown;
}

/**
 * The `discovery.document` block with `discovery.source: upstream`: the fields given
 * override the upstream's (the two limit objects field by field); none is required.
 */
export type DocumentOverrides = Partial<DiscoveryDocumentOptions>;
