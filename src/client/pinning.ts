import { DiscoveryError } from './errors';
import type { TofuStore } from './tofu-store';

/**
 * What trust on first use made of a discovery:
 * - `first-use`: the domain was new, its fingerprint is now pinned;
 * - `match`: the presented certificate is the pinned one;
 * - `accepted`: it differed, and the caller explicitly accepted the new one (now pinned);
 * - `unpinned`: no store was given, nothing was checked.
 */
export type PinStatus = 'first-use' | 'match' | 'accepted' | 'unpinned';

/** The outcome of a pin check, with the previous pin when one was replaced. */
export interface PinResult {
  readonly status: PinStatus;
  /** The fingerprint pinned before an `accepted` change. */
  readonly previous?: string;
}

/**
 * Trust on first use (server-discovery page, "Certificate Fingerprint Validation"): the
 * first fingerprint seen is recorded; a later different one fails with
 * `FINGERPRINT_MISMATCH` naming both, unless `accept` is `true` or that very fingerprint.
 * Accepting a specific fingerprint is the safer habit: it cannot accept a third
 * certificate that appeared between checking the new one out of band and accepting it.
 */
export async function checkPin(store: TofuStore | undefined, domain: string, presented: string, accept: boolean | string = false): Promise<PinResult> {
  if (store === undefined) return { status: 'unpinned' };
  const pinned = await store.get(domain);
  if (pinned === undefined) {
    await store.set(domain, presented);
    return { status: 'first-use' };
  }
  if (pinned === presented) return { status: 'match' };
  if (accept === true || accept === presented) {
    await store.set(domain, presented);
    return { status: 'accepted', previous: pinned };
  }
  throw new DiscoveryError(
    'FINGERPRINT_MISMATCH',
    `${domain}: certificate changed since first use — pinned ${pinned}, presented ${presented}. ` +
      'This is a certificate rotation or a man-in-the-middle; verify the new fingerprint out of band before accepting it.',
    { domain, expectedFingerprint: pinned, presentedFingerprint: presented, fingerprintSource: 'pin' },
  );
}
