import { ConfigError } from '../errors';
import type { HostPort } from './options';

/**
 * A failure to listen, as a configuration problem of the key that named the address
 * (`listen`, `metrics.listen`): the operator's fix is in the configuration. Errors that are
 * not about the address are returned as they are.
 */
export function listenError(err: unknown, key: 'listen' | 'metrics.listen', address: HostPort): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const where = `${address.host}:${address.port}`;
  if (code === 'EADDRINUSE') return new ConfigError([{ path: key, message: `${where} is already in use` }], { cause: err });
  if (code === 'EACCES') return new ConfigError([{ path: key, message: `no permission to listen on ${where}` }], { cause: err });
  if (code === 'EADDRNOTAVAIL') return new ConfigError([{ path: key, message: `${address.host} is not an address of this machine` }], { cause: err });
  return err instanceof Error ? err : new Error(String(err));
}
