/**
 * Where trust-on-first-use pins live (server-discovery page, "Certificate Fingerprint
 * Validation"): one certificate fingerprint per domain. Implement it over any storage
 * (a file, a database, the OS keychain); `discover` only needs `get` and `set`.
 */
export interface TofuStore {
  /** The fingerprint pinned for `domain`, or undefined if the domain was never seen. */
  get(domain: string): Promise<string | undefined>;
  /** Pins `fingerprint` for `domain`, replacing any earlier pin. */
  set(domain: string, fingerprint: string): Promise<void>;
}

/** A `TofuStore` in memory: for tests and for processes whose pins need not outlive them. */
export class MemoryTofuStore implements TofuStore {
  private readonly pins: Map<string, string>;

  /** @param initial pins to start with, domain → fingerprint */
  constructor(initial: Readonly<Record<string, string>> = {}) {
    this.pins = new Map(Object.entries(initial));
  }

  async get(domain: string): Promise<string | undefined> {
    return this.pins.get(domain);
  }

  async set(domain: string, fingerprint: string): Promise<void> {
    this.pins.set(domain, fingerprint);
  }

  /** Forgets the pin of `domain`. */
  async delete(domain: string): Promise<void> {
    this.pins.delete(domain);
  }
}
