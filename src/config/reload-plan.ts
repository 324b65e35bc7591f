import { ConfigError } from '../errors';
import { changedKeys } from './diff';
import type { ResolvedConfig } from './options';
import { keepRunning, restartOnlyKeys } from './restart-only';

/**
 * What a reload does with a change to a key that needs a restart: `refuse` the whole new
 * configuration (`gateway.reconfigure()`: all or nothing), or `keep` that key at its running
 * value and apply the rest (`serve`: a reload of a shared file should not be lost because
 * of one key, and the warning names it).
 */
export type RestartOnlyPolicy = 'refuse' | 'keep';

/** What a reconfiguration did (or, when planned, will do). */
export interface ReconfigureResult {
  /** Dotted keys whose new value is in force, sorted (`proxy.timeoutMs`); empty when nothing changed. */
  readonly changed: readonly string[];
  /** Restart-only keys that changed but were kept at their running value (`serve` reload only; `reconfigure()` refuses instead). */
  readonly kept: readonly string[];
}

/** A reload worked out before anything is touched: the configuration to apply and what it changes. */
export interface ReloadPlan extends ReconfigureResult {
  readonly config: ResolvedConfig;
}

/**
 * Works out a reload (pure). With `refuse`, a change to a restart-only key throws a
 * `ConfigError` naming every such key and nothing is applied.
 */
export function planReload(running: ResolvedConfig, next: ResolvedConfig, policy: RestartOnlyPolicy): ReloadPlan {
  const restart = restartOnlyKeys(changedKeys(running, next));
  if (restart.length === 0) return { config: next, changed: changedKeys(running, next), kept: [] };
  if (policy === 'refuse') {
    throw new ConfigError(restart.map((path) => ({ path, message: 'cannot change while the gateway runs: it needs a restart (nothing was applied)' })));
  }
  const config = keepRunning(running, next);
  return { config, changed: changedKeys(running, config), kept: restart };
}
