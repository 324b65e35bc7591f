/**
 * cryptid-gateway: a gateway in front of a Cryptid messaging server.
 * The public surface, re-exported by name.
 */
export { createGateway } from './gateway';
export type { Gateway, GatewayEvents, NextFunction } from './gateway';
export type { HealthState, StatusChange } from './health/states';
export type { HealthStatus as UpstreamHealthStatus, HealthBody } from './protocol/health';
export { DISCOVERY_PATH, HEALTH_PATH } from './protocol/paths';
export type { MetricsHandler } from './metrics/handler';
export { GatewayMetrics } from './metrics/metrics';
export { routeOf } from './protocol/routes';
export type { RouteLabel } from './protocol/routes';
export { startServer } from './server/sidecar';
export type { RunningServer, StartServerOptions, ReloadOutcome } from './server/sidecar';
export type { ReconfigureResult } from './config/reload-plan';
export { ConfigError } from './errors';
export type { ConfigProblem } from './errors';
export { DEFAULTS } from './config/defaults';
export type { GatewayOptions, ResolvedConfig, ProbeOptions, PassiveOptions, ListenAddress, HostPort, ParsedBodyMode } from './config/options';
export type { LogLevel, GatewayLogger, LogMethod } from './logger';
export type { RateLimitOptions, RateLimitRuleOptions, RateLimitRedisOptions, RateLimitKey } from './config/options';
export type { DiscoveryFromConfig, DiscoveryFromUpstream, ResolvedDiscovery } from './config/options';
export type { DiscoveryDocument, DiscoveryDocumentOptions, DocumentOverrides, RateLimits, MessageLimits } from './protocol/document';
export { DOCUMENT_DEFAULTS } from './protocol/document';
export { fingerprintOfDer, fingerprintOfPem } from './protocol/fingerprint';

// The client side of discovery, also reachable as `cryptid-gateway/client`.
export {
  discover,
  checkHealth,
  DiscoveryClient,
  CLIENT_DEFAULTS,
  isCompatible,
  DiscoveryError,
  isDiscoveryError,
  MemoryTofuStore,
  FileTofuStore,
  checkPin,
  TokenBucket,
  ServerRateLimiter,
  pinnedServerIdentity,
} from './client';
export type {
  DiscoverOptions,
  DiscoveryResult,
  CacheInfo,
  HealthReport,
  HealthOptions,
  DiscoveryClientOptions,
  Capabilities,
  ServerChoice,
  ServerRequirements,
  RejectedCandidate,
  DiscoveryErrorCode,
  TofuStore,
  KnownServer,
  PinStatus,
} from './client';
