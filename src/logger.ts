import type pino from 'pino';

/** pino's levels, `silent` included. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** One level method, called pino's way: the structured fields first, then the message. */
export type LogMethod = (fields: Record<string, unknown>, message?: string) => void;

/**
 * What a library user passes as `logger`: a pino logger, or any object with the level
 * methods the gateway calls (`error`, `warn`, `info`, `debug`) taking pino's arguments.
 * With `isLevelEnabled` (pino has it), lines below the level are not even built.
 */
export interface GatewayLogger {
  error: LogMethod;
  warn: LogMethod;
  info: LogMethod;
  debug: LogMethod;
  isLevelEnabled?(level: string): boolean;
}

/** The logger inner modules take: a {@link GatewayLogger} that always says which levels are on. */
export interface Logger extends GatewayLogger {
  isLevelEnabled(level: LogLevel): boolean;
}

/**
 * The gateway's JSON-lines logger (what `serve` writes to stdout). Request logs carry route
 * templates only, and `authorization` / `cookie` are redacted wherever they appear
 * (privacy: a path segment or a token is a secret). pino is loaded here, on first use: a
 * library-mode gateway without a logger of its own never loads it (about 2 MiB of heap, and
 * the pages of the `node` binary its compile touches).
 */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand
  const { pino: createPino } = require('pino') as { pino: typeof pino };
  const options: pino.LoggerOptions = {
    level,
    base: { name: 'cryptid-gateway' },
    redact: { paths: ['*.authorization', '*.cookie', '*.headers.authorization', '*.headers.cookie'], censor: '[redacted]' },
  };
  return destination ? createPino(options, destination) : createPino(options);
}

function quiet(): void {}

/** A library is quiet unless given a logger: this one writes nothing and builds no line. */
export const SILENT_LOGGER: Logger = {
  error: quiet,
  warn: quiet,
  info: quiet,
  debug: quiet,
  isLevelEnabled: () => false,
};

/** A user's logger as the inner modules take it: one without `isLevelEnabled` gets every line and decides itself. */
export function adoptLogger(given: GatewayLogger): Logger {
  if (typeof given.isLevelEnabled === 'function') return given as Logger;
  return {
    error: (fields, message) => given.error(fields, message),
    warn: (fields, message) => given.warn(fields, message),
    info: (fields, message) => given.info(fields, message),
    debug: (fields, message) => given.debug(fields, message),
    isLevelEnabled: () => true,
  };
}
