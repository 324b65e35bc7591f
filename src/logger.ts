import pino, { type Logger } from 'pino';
import type { LogLevel } from './config/options';

/**
 * The gateway's JSON-lines logger. Request logs carry route templates only, and
 * `authorization` / `cookie` are redacted wherever they appear (SPEC §5, privacy).
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
