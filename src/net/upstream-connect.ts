import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { sniOf } from './upstream-sni';

/** How long connecting may take (undici's default connect timeout). */
export const CONNECT_TIMEOUT_MS = 10_000;
/** TCP keep-alive probes after this long idle: a pooled connection the network dropped is found. */
const TCP_KEEPALIVE_MS = 60_000;

/** Where and how to connect to the upstream, worked out once from its URL. */
export interface UpstreamAddress {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly servername: string | undefined;
}

/** The address of `upstream` (`http:` or `https:`). */
export function upstreamAddress(upstream: URL): UpstreamAddress {
  const tls = upstream.protocol === 'https:';
  return {
    // URL keeps the brackets of an IPv6 literal; connect() wants the address alone.
    host: upstream.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: upstream.port === '' ? (tls ? 443 : 80) : Number(upstream.port),
    tls,
    servername: sniOf(upstream)?.servername,
  };
}

/**
 * A new connection to the upstream: TCP, or TLS with SNI and the certificate checked
 * against the upstream's own name (Node's trust store, `NODE_EXTRA_CA_CERTS` included).
 * Nagle off (a request head goes out at once), TCP keep-alive on; a host that never accepts
 * is given up after `CONNECT_TIMEOUT_MS` with `ETIMEDOUT` (`unreachable`, not a slow answer).
 * Every upstream socket is set up here and nowhere else, the health probe's as the pool's:
 * Node 24 adds properties to a socket the first time `setKeepAlive` is called on it, and
 * sockets of two shapes make Node's stream code, which serves them all, compile again.
 */
export function connectUpstream(address: UpstreamAddress): Socket {
  const { host, port, servername } = address;
  const socket = address.tls ? tlsConnect({ host, port, servername, ALPNProtocols: ['http/1.1'] }) : netConnect({ host, port });
  socket.setNoDelay(true);
  socket.setKeepAlive(true, TCP_KEEPALIVE_MS);
  socket.setTimeout(CONNECT_TIMEOUT_MS, onConnectTimeout);
  socket.once(address.tls ? 'secureConnect' : 'connect', onConnected);
  return socket;
}

function onConnectTimeout(this: Socket): void {
  this.destroy(Object.assign(new Error('connecting to the upstream timed out'), { code: 'ETIMEDOUT' }));
}

function onConnected(this: Socket): void {
  this.setTimeout(0);
}
