import { BlockList, isIP } from 'node:net';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { connectionListed } from './headers';

/**
 * `proxy.trustedProxies`: the hops in front of the gateway (a load balancer, a TLS
 * ingress) whose word on the original request is taken. From them, `X-Forwarded-Proto`,
 * `X-Forwarded-Host` and `X-Request-Id` are kept; from any other peer they are set from
 * the connection, so a client cannot claim to have come over TLS or from another host.
 */
export class TrustedProxies {
  private readonly list: BlockList | null;
  /** The verdict per connection: a connection keeps its peer, and BlockList.check costs microseconds. */
  private readonly verdicts = new WeakMap<Socket, boolean>();

  /** @param entries addresses and CIDRs, IPv4 or IPv6, already validated by the configuration schema */
  constructor(entries: readonly string[]) {
    if (entries.length === 0) {
      this.list = null;
      return;
    }
    const list = new BlockList();
    for (const entry of entries) {
      const [address = '', prefix] = entry.split('/');
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) list.addAddress(address, family);
      else list.addSubnet(address, Number(prefix), family);
    }
    this.list = list;
  }

  /** True when the request came over a connection from a trusted hop (IPv4-mapped IPv6 peers included). */
  trusts(req: IncomingMessage): boolean {
    const list = this.list;
    if (list === null) return false;
    const socket = req.socket;
    let verdict = this.verdicts.get(socket);
    if (verdict === undefined) {
      const address = socket.remoteAddress;
      const family = address === undefined ? 0 : isIP(address);
      verdict = family !== 0 && list.check(address!, family === 6 ? 'ipv6' : 'ipv4');
      this.verdicts.set(socket, verdict);
    }
    return verdict;
  }

  /**
   * The client's address as far as the trusted hops vouch for it: the socket's peer, or,
   * when that peer is trusted, the right-most `X-Forwarded-For` entry that is not itself a
   * trusted hop (entries left of it were written by the client and prove nothing).
   */
  clientAddress(req: IncomingMessage): string | undefined {
    const peer = req.socket.remoteAddress;
    if (!this.trusts(req)) return peer;
    const header = req.headers['x-forwarded-for'];
    if (header === undefined) return peer;
    const hops = (Array.isArray(header) ? header.join(',') : header).split(',');
    let address = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = (hops[i] as string).trim();
      const family = isIP(hop);
      if (family === 0) break;
      address = hop;
      if (!this.list!.check(hop, family === 6 ? 'ipv6' : 'ipv4')) break;
    }
    return address;
  }
}

/** The forwarded headers a trusted hop's values replace the gateway's own for. */
const KEPT_FROM_TRUSTED = ['x-forwarded-proto', 'x-forwarded-host'] as const;

/**
 * Puts a trusted hop's `X-Forwarded-Proto` and `X-Forwarded-Host` back over the values the
 * gateway set from its own connection (unless the hop named them in `Connection`, which
 * makes them its own hop's business).
 */
export function keepTrustedForwarded(out: OutgoingHttpHeaders, incoming: IncomingHttpHeaders): void {
  let listed: Set<string> | undefined;
  for (const name of KEPT_FROM_TRUSTED) {
    const value = incoming[name];
    if (value === undefined) continue;
    listed ??= connectionListed(incoming.connection);
    if (!listed.has(name)) out[name] = value;
  }
}
