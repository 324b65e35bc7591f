import { isIP } from 'node:net';
import type { HostPort } from './options';

/**
 * Parses `"host:port"`, `":port"`, `"[v6]:port"` or a bare port number.
 * Returns an error text instead of throwing, so validation can list it with the rest.
 */
export function parseListenAddress(value: string | number, defaultHost = '0.0.0.0'): HostPort | string {
  if (typeof value === 'number') return checkPort(value, defaultHost);
  const text = value.trim();
  if (/^\d+$/.test(text)) return checkPort(Number(text), defaultHost);
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d+)$/.exec(text);
  if (!match) return 'expected "host:port", ":port", "[ipv6]:port" or a port number';
  const host = match[1] ?? (match[2] === '' ? defaultHost : match[2]!);
  if (match[1] !== undefined && isIP(host) !== 6) return 'expected an IPv6 address inside the brackets';
  return checkPort(Number(match[3]), host);
}

function checkPort(port: number, host: string): HostPort | string {
  if (!Number.isInteger(port) || port < 0 || port > 65535) return 'expected a port between 0 and 65535';
  return { host, port };
}
