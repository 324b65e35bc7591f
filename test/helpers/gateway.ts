import { createServer, type Server } from 'node:http';
import { createGateway, type Gateway, type GatewayOptions } from '../../src';
import { resolveConfig } from '../../src/config/resolve';
import { GatewayCore, wrapGateway, type GatewayInternals } from '../../src/gateway';
import type { ProxyObserver, RequestOutcome, UpgradeFailure } from '../../src/proxy/observer';
import { waitFor, WAIT_MS } from './deadline';
import { closeServer, listenLocal } from './listen';
import { PROBE_PATH } from './upstream';

/** The library-mode gateway the proxy tests run: `http.createServer(gateway)` plus the upgrade hook. */
export interface TestGateway {
  readonly gateway: Gateway;
  readonly server: Server;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** Closes the server (and its connections), then the gateway. */
  close(): Promise<void>;
}

/** Extra options on top of the minimal ones (upstream, server name, fingerprint, silent logs). */
export type GatewayOverrides = Omit<Partial<GatewayOptions>, 'discovery'> & {
  document?: Partial<GatewayOptions['discovery']['document']>;
};

/**
 * Options typed as users write them. The gateway probes its upstream from creation on: the
 * tests' probes go to {@link PROBE_PATH}, which the upstream helpers answer healthy without
 * recording it, once at creation and then only every minute (no test lasts that long), unless
 * `overrides.health.probe` says otherwise.
 */
export function gatewayOptions(upstream: string, overrides: GatewayOverrides = {}): GatewayOptions {
  const { document, health, ...rest } = overrides;
  return {
    upstream,
    discovery: {
      document: { server_name: 'chat.example.test', certificate_fingerprint: `sha256:${'0'.repeat(64)}`, ...document },
    },
    logLevel: 'silent',
    health: { ...health, probe: { path: PROBE_PATH, intervalMs: 60_000, ...health?.probe } },
    ...rest,
  };
}

/**
 * Starts a gateway in front of `upstream` on 127.0.0.1:0: through the public
 * `createGateway`, or with `internals` (observer, fail-fast seam) the way the sidecar builds it.
 */
export async function startGateway(upstream: string, overrides: GatewayOverrides = {}, internals?: GatewayInternals): Promise<TestGateway> {
  const options = gatewayOptions(upstream, overrides);
  const gateway = internals ? wrapGateway(new GatewayCore(resolveConfig(options, 'library'), internals)) : createGateway(options);
  const server = createServer(gateway);
  server.on('upgrade', gateway.upgrade);
  const port = await listenLocal(server);
  return {
    gateway,
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await closeServer(server);
      await gateway.close();
    },
  };
}

/** A `ProxyObserver` that records every call, with a way to await the next one. */
export class RecordingObserver implements ProxyObserver {
  readonly outcomes: RequestOutcome[] = [];
  readonly upgradeFailures: UpgradeFailure[] = [];
  opened = 0;
  closed = 0;
  private waiters: (() => void)[] = [];

  requestFinished(outcome: RequestOutcome): void {
    this.outcomes.push(outcome);
    this.wake();
  }
  tunnelOpened(): void {
    this.opened++;
    this.wake();
  }
  tunnelClosed(): void {
    this.closed++;
    this.wake();
  }
  upgradeFailed(reason: UpgradeFailure): void {
    this.upgradeFailures.push(reason);
    this.wake();
  }

  /** Resolves once `predicate` holds (checked after every call); rejects after `ms`, showing what was recorded. */
  until(predicate: (o: this) => boolean, ms = WAIT_MS): Promise<void> {
    return waitFor(
      () => `observer state ${predicate.toString()} (recorded: ${this.summary()})`,
      (done) => {
        const check = (): void => {
          if (predicate(this)) done();
          else this.waiters.push(check);
        };
        check();
        return () => {
          this.waiters = this.waiters.filter((w) => w !== check);
        };
      },
      ms,
    );
  }

  private summary(): string {
    const outcomes = this.outcomes.map(
      (o) => `${o.method} ${o.path} ${o.status}${o.failure ? ` ${o.failure}` : ''}${o.rejected ? ` rejected:${o.rejected}` : ''}${o.clientAborted ? ' clientAborted' : ''}`,
    );
    return `${outcomes.length} outcomes [${outcomes.join(', ')}], upgrade failures [${this.upgradeFailures.join(', ')}], ${this.opened} tunnels opened, ${this.closed} closed`;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
