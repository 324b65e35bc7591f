import { EventEmitter, once } from 'node:events';
import type { OutgoingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { GatewayOptions } from '../config/options';
import { resolveConfig, type LoadedConfig } from '../config/resolve';
import { ConfigError, type ConfigProblem } from '../errors';
import type { ReloadResultLabel } from '../metrics/metrics';
import { ConfigFileWatcher, type ConfigSource } from './config-reload';
import { GatewayCore, wrapGateway, type Gateway } from '../gateway';
import { listenError } from '../config/listen-error';
import { adoptLogger, createLogger, type Logger } from '../logger';
import { certificateWarnings, serverTlsOptions, type TlsMaterial } from '../tls/material';
import { gracefulShutdown } from './shutdown';
import { writeSocketError } from '../http/json-error';
import type { FailureKind } from '../http/error-status';
import { CertificateWatcher } from './tls-reload';
import { HSTS_NAME, HSTS_VALUE, HstsResponse } from './hsts-response';

/** How one `reload()` ended (also emitted as `'reload'`). */
export interface ReloadOutcome {
  /** `applied`, `unchanged`, `partial` (restart-only keys kept at their running value) or `rejected` (nothing applied). */
  readonly result: ReloadResultLabel;
  /** Dotted keys now in force with a new value. */
  readonly changed: readonly string[];
  /** Restart-only keys that changed and were kept at their running value (`listen`, `tls.cert`, …). */
  readonly kept: readonly string[];
  /** Why it was rejected: every problem. Empty unless `rejected`. */
  readonly problems: readonly ConfigProblem[];
}

/**
 * A running sidecar: the HTTPS listener and the gateway behind it.
 * Emits `'certificate'` (TlsMaterial) after a rotation was applied,
 * `'certificateError'` (Error) when a changed pair was refused, and
 * `'reload'` (ReloadOutcome) after every configuration reload.
 */
export interface RunningServer extends EventEmitter {
  /** `https://host:port` of the public listener. */
  readonly url: string;
  readonly port: number;
  /** Port of the private metrics listener, when it is on. */
  readonly metricsPort: number | undefined;
  readonly server: Server;
  readonly gateway: Gateway;
  /** The pair being served now (changes on rotation). */
  readonly certificate: TlsMaterial;
  /**
   * The graceful stop: shutting-down at once, traffic for `drainDelayMs`,
   * then no new connections, in-flight requests get up to `timeoutMs`, tunnels close.
   */
  shutdown(): Promise<void>;
  /** Stops at once: closes every connection and frees every timer. */
  close(): Promise<void>;
  /**
   * Reads the configuration again (what `serve` does on SIGHUP and when its `--config` file
   * changes) and applies what can change live. Restart-only keys that changed are kept at
   * their running value with a warning naming each; an invalid configuration is refused
   * whole, every problem logged. Never throws. With `options` (`startServer` users), those
   * are the configuration read, instead of the one given at start (or the CLI's layers).
   */
  reload(options?: StartServerOptions): ReloadOutcome;
}

/** Options of `startServer`: the gateway's options plus an optional logger. */
export type StartServerOptions = GatewayOptions;

/**
 * Starts what `cryptid-gateway serve` runs: an HTTPS-only (TLS 1.3) listener in front of
 * the gateway, reloading its certificate when the files change. Throws `ConfigError`
 * listing every problem; never reads the environment or installs signal handlers.
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError([{ path: '(root)', message: 'expected an options object' }]);
  }
  const { logger: givenLogger, registry } = options;
  const rest = withoutLibraryFields(options);
  const loaded = resolveConfig(rest, 'serve');
  const logger = givenLogger ? adoptLogger(givenLogger) : createLogger(loaded.config.logLevel);
  return startResolved(loaded, logger, registry, { read: () => rest });
}

/** The options as the resolver takes them: `logger` and `registry` are fixed at start. */
function withoutLibraryFields(options: StartServerOptions): unknown {
  if (options === null || typeof options !== 'object') return options;
  const { logger: _logger, registry: _registry, ...rest } = options;
  return rest;
}

/**
 * Starts the sidecar from an already resolved configuration (the CLI resolves first to
 * report problems). `source` is where `reload()` reads the configuration again; with a
 * `file`, a change to that file on disk reloads too.
 */
export async function startResolved(loaded: LoadedConfig, logger: Logger, registry: Registry | undefined, source: ConfigSource): Promise<RunningServer> {
  const { config } = loaded;
  const material = loaded.tls;
  if (!material?.keyPem || !config.tls.cert || !config.tls.key) throw new Error('serve needs tls.cert and tls.key');
  const core = new GatewayCore(loaded, { logger, registry, answerHeaders: HSTS, mode: 'serve' });
  const events = new EventEmitter();
  const server = createHttpsFront(core, material);
  let current = material;
  warnAbout(material, logger);
  const watcher = new CertificateWatcher({
    certPath: config.tls.cert,
    keyPath: config.tls.key,
    current: material,
    logger,
    onError: (err) => events.emit('certificateError', err),
    onChange: (next) => {
      // The context and the published fingerprint change together; open connections keep theirs.
      server.setSecureContext(serverTlsOptions(next));
      core.certificateChanged(next);
      current = next;
      logger.info({ event: 'tls_reloaded', fingerprint: next.fingerprint, notAfter: next.leaf.validTo }, 'certificate reloaded');
      warnAbout(next, logger);
      events.emit('certificate', next);
    },
  });

  const reload = (options?: StartServerOptions): ReloadOutcome => {
    let outcome: ReloadOutcome;
    try {
      const read = options === undefined ? () => source.read() : () => withoutLibraryFields(options);
      const { changed, kept } = core.reconfigure(() => resolveConfig(read(), 'serve'), 'keep');
      const result = kept.length > 0 ? 'partial' : changed.length > 0 ? 'applied' : 'unchanged';
      outcome = { result, changed, kept, problems: [] };
    } catch (err) {
      // Counted and logged by the gateway; the running configuration stays.
      const problems = err instanceof ConfigError ? err.problems : [{ path: '(root)', message: (err as Error).message }];
      if (!(err instanceof ConfigError))
        logger.error({ event: 'config_reload_failed', err: (err as Error).message }, 'configuration reload failed; still running the previous configuration');
      outcome = { result: 'rejected', changed: [], kept: [], problems };
    }
    events.emit('reload', outcome);
    return outcome;
  };
  const configWatcher = source.file === undefined ? undefined : new ConfigFileWatcher({ file: source.file, reload: () => reload(), logger });

  const metricsPort = await listenAll(server, core);
  watcher.start();
  configWatcher?.start();
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `https://${host}:${address.port}`;
  logger.info({ event: 'listening', url, upstream: config.upstream.origin, fingerprint: current.fingerprint }, 'cryptid-gateway listening');

  let stopping: Promise<void> | undefined;
  const stop = (graceful: boolean): Promise<void> => {
    stopping ??= (async () => {
      watcher.stop();
      configWatcher?.stop();
      // The shutdown settings in force now: they may have been reloaded since the start.
      if (graceful) await gracefulShutdown(server, core, core.config.shutdown, logger);
      else await closeAtOnce(server, core);
    })();
    return stopping;
  };

  return Object.defineProperties(events, {
    url: { value: url, enumerable: true },
    port: { value: address.port, enumerable: true },
    metricsPort: { value: metricsPort, enumerable: true },
    server: { value: server },
    gateway: { value: wrapGateway(core) },
    certificate: { get: () => current },
    shutdown: { value: () => stop(true) },
    close: { value: () => stop(false) },
    reload: { value: reload },
  }) as RunningServer;
}

/**
 * `serve` is HTTPS-only, so browsers may be told to come back over HTTPS alone (RFC 6797).
 * It goes on every answer of the public listener: those the gateway makes itself, and
 * proxied ones that carry no policy of their own (the upstream's is relayed unchanged).
 */
const HSTS: OutgoingHttpHeaders = Object.freeze({ [HSTS_NAME]: HSTS_VALUE });

/** The HTTPS-only (TLS 1.3) listener in front of the gateway, not yet listening. */
function createHttpsFront(core: GatewayCore, material: TlsMaterial): Server {
  // Every answer's head gets the policy as it is written (a proxied answer's own one wins).
  const server = createServer({ ...serverTlsOptions(material), ServerResponse: HstsResponse }, (req, res) => core.handle(req, res));
  server.on('upgrade', (req, socket, head) => core.upgrade(req, socket, head));
  // Node would close a CONNECT socket without a word; the gateway's checks answer it 405.
  server.on('connect', (req, socket, head) => core.upgrade(req, socket, head));
  // A client that fails the handshake (TLS 1.2 only, garbage) must not leave a socket behind.
  server.on('tlsClientError', (_err, socket) => socket.destroy());
  // Malformed or too slow requests get a status that says why (never the parser's text).
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => writeSocketError(socket, clientErrorKind(err), HSTS));
  return server;
}

/** Opens the public listener, then the metrics listener; a failure closes what was opened. Resolves to the metrics port. */
async function listenAll(server: Server, core: GatewayCore): Promise<number | undefined> {
  const { config } = core;
  try {
    server.listen(config.listen.port, config.listen.host);
    await once(server, 'listening');
  } catch (err) {
    await core.close();
    throw listenError(err, 'listen', config.listen);
  }
  try {
    return (await core.startMetricsListener())?.port;
  } catch (err) {
    // Already a ConfigError naming metrics.listen, from the gateway.
    server.close();
    await core.close();
    throw err;
  }
}

/** The hard stop: every connection closed now, the gateway closed. */
async function closeAtOnce(server: Server, core: GatewayCore): Promise<void> {
  core.beginShutdown();
  server.close();
  server.closeAllConnections();
  await core.close();
}

/** What the parser's complaint is answered with (never the parser's own text). */
function clientErrorKind(err: NodeJS.ErrnoException): FailureKind {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'headersTooLarge';
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'requestTimeout';
  return 'badRequest';
}

function warnAbout(material: TlsMaterial, logger: Logger): void {
  for (const warning of certificateWarnings(material, Date.now())) {
    logger.warn({ event: 'tls_warning', notAfter: material.leaf.validTo }, warning);
  }
}
