import { createSecureContext } from 'node:tls';

/**
 * The key-exchange groups the public listener offers, best first: the hybrid
 * post-quantum X25519MLKEM768 where the runtime's OpenSSL has it (3.5 and later), then
 * X25519, P-256 and P-384. OpenSSL's default list also holds the finite-field groups
 * (ffdhe2048 and up, RFC 7919): every TLS 1.3 client also offers an elliptic-curve group,
 * and ffdhe2048 is both weaker (about 112-bit security) and far slower to compute, so a
 * client offering nothing else is better refused than served.
 */
export const KEY_EXCHANGE_GROUPS: string = pick(['X25519MLKEM768:X25519:P-256:P-384', 'X25519:P-256:P-384']);

/** The first list this runtime's OpenSSL accepts. */
function pick(lists: readonly string[]): string {
  for (const list of lists) {
    try {
      createSecureContext({ ecdhCurve: list });
      return list;
    } catch {
      // An OpenSSL without one of these groups: try the next list.
    }
  }
  return lists[lists.length - 1] as string;
}
