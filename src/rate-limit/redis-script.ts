import type { Cluster, Redis } from 'ioredis';

/** The name the script is defined under on the client (`defineCommand`); unlikely to meet a user's own. */
export const SCRIPT_COMMAND = 'cryptidGatewaySlidingWindow';

/**
 * The check-and-count, atomic in Redis and on Redis' clock (every replica then cuts windows
 * at the same instants, whatever its own clock says). KEYS[1] is the key's base,
 * `prefix{rule:hash}`; the two windows live at `base:index`. The hash tag `{…}` puts both in
 * the slot of KEYS[1], so the script may build their names itself in a Cluster too.
 * ARGV: window ms, limit. Returns { admitted 0|1, current after the check, previous, ms
 * elapsed in the window }. The admission rule is `admits()` of sliding-window.ts.
 */
export const SLIDING_WINDOW_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local w = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local index = math.floor(now / w)
local elapsed = now - index * w
local current_key = KEYS[1] .. ':' .. string.format('%d', index)
local previous_key = KEYS[1] .. ':' .. string.format('%d', index - 1)
local current = tonumber(redis.call('GET', current_key) or '0')
local previous = tonumber(redis.call('GET', previous_key) or '0')
if previous * (w - elapsed) / w + current < limit then
  current = redis.call('INCR', current_key)
  if current == 1 then
    -- Kept while it can still be the previous window: until the end of the next one.
    redis.call('PEXPIRE', current_key, 2 * w)
  end
  return { 1, current, previous, elapsed }
end
return { 0, current, previous, elapsed }
`;

/** A client with the script defined on it. */
export type ScriptClient = (Redis | Cluster) & {
  [SCRIPT_COMMAND](base: string, windowMs: number, limit: number): Promise<[number, number, number, number]>;
};

/**
 * Defines the script on `client` (EVALSHA, loaded again by ioredis itself when a restarted or
 * failed-over Redis answers NOSCRIPT). Defining it twice is harmless.
 */
export function withScript(client: Redis | Cluster): ScriptClient {
  const scripted = client as ScriptClient;
  if (typeof (scripted as unknown as Record<string, unknown>)[SCRIPT_COMMAND] !== 'function') {
    client.defineCommand(SCRIPT_COMMAND, { numberOfKeys: 1, lua: SLIDING_WINDOW_LUA });
  }
  return scripted;
}
