import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { fingerprintOfDer } from '../protocol/fingerprint';

/**
 * A `checkServerIdentity` for `node:tls`, `node:https` agents and WebSocket clients that
 * enforces a pin on every later connection (the page's "Certificate Pinning"): the usual
 * host-name check first, then the certificate's fingerprint must be one of `fingerprints`
 * (pass two during a planned rotation). Discovery tells you the fingerprint; this keeps
 * the connections that follow honest.
 */
export function pinnedServerIdentity(fingerprints: string | readonly string[]): (hostname: string, cert: PeerCertificate) => Error | undefined {
  const allowed = new Set(typeof fingerprints === 'string' ? [fingerprints] : fingerprints);
  return (hostname, cert) => {
    const nameError = checkServerIdentity(hostname, cert);
    if (nameError !== undefined) return nameError;
    const presented = fingerprintOfDer(cert.raw);
    if (allowed.has(presented)) return undefined;
    return Object.assign(new Error(`certificate of ${hostname} is not the pinned one (presented ${presented})`), {
      code: 'ERR_CERTIFICATE_PIN_MISMATCH',
    });
  };
}
