import type { HostPort } from './options';

/** One Redis endpoint as a URL or `host:port` names it, with the connection's credentials. */
export interface RedisEndpoint extends HostPort {
  readonly tls: boolean;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
}

/** Redis' own port, when a URL names none. */
export const REDIS_DEFAULT_PORT = 6379;

/**
 * Parses `redis://[[user]:password@]host[:port][/db]` or `rediss://…` (TLS). Returns an
 * error text instead of throwing, so validation lists it with the rest; the text never
 * repeats the URL, which may hold a password. Pure.
 */
export function parseRedisUrl(text: string): RedisEndpoint | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'expected a URL such as "redis://redis:6379" or "rediss://:password@redis:6380/0"';
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return `expected a redis: or rediss: URL, got ${url.protocol}`;
  if (url.hostname === '') return 'expected a host in the URL';
  if (url.search !== '' || url.hash !== '') return 'expected no query or fragment in the URL';
  const path = url.pathname === '' ? '/' : url.pathname;
  if (!/^\/(\d{1,2})?$/.test(path)) return 'expected the path to be empty or a database number ("/0")';
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? REDIS_DEFAULT_PORT : Number(url.port),
    tls: url.protocol === 'rediss:',
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    db: path.length > 1 ? Number(path.slice(1)) : 0,
  };
}

/** A Cluster seed node: `host:port` (no TLS, no password) or a URL without a database. Pure. */
export function parseClusterNode(text: string): RedisEndpoint | string {
  if (/^rediss?:\/\//i.test(text)) {
    const endpoint = parseRedisUrl(text);
    if (typeof endpoint === 'string') return endpoint;
    return endpoint.db === 0 ? endpoint : 'expected no database number: a Cluster has database 0 only';
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:/[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  if (m === null) return 'expected "host:port" or a redis:// or rediss:// URL';
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return 'expected a port between 1 and 65535';
  return { host: (m[1] ?? m[2]) as string, port, tls: false, username: undefined, password: undefined, db: 0 };
}

/** The URL with its password replaced, for messages: a password never reaches an error text or a log. Pure. */
export function redactRedisUrl(text: string): string {
  return text.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}
