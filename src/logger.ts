import pino, { type Logger } from 'pino';

/** pino's levels, `silent` included. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * The gateway's JSON-lines logger. Request logs carry route templates only, and
 * `authorization` / `cookie` are redacted wherever they appear (privacy: a path segment or a token is a secret).
 */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { name: 'cryptid-gateway' },
    redact: { paths: ['*.authorization', '*.cookie', '*.headers.authorization', '*.headers.cookie'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
