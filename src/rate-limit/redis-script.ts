import type { Cluster, Redis } from 'ioredis';

/** The name the script is defined under on the client (`defineCommand`); unlikely to meet a user's own. */
export const SCRIPT_COMMAND = 'cryptidGatewaySlidingWindows';

/**
 * The check-and-count of one or more keys, atomic in Redis and on Redis' clock (every replica
 * then cuts windows at the same instants, whatever its own clock says). Each KEYS[i] is a
 * key's base, `prefix{rule:hash}`; its two windows live at `base:index`. The hash tag `{…}`
 * puts both in the slot of KEYS[i], so the script may build their names itself in a Cluster
 * too. ARGV holds, per key, its window in ms and its limit. Returns, per key, { admitted 0|1,
 * current after the check, previous, ms elapsed in the window }: a flat list of 4 × #KEYS.
 * The admission rule is `admits()` of sliding-window.ts. One call checks every request of
 * one turn of the event loop: Redis is asked once, not once per request.
 */
export const SLIDING_WINDOW_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 1, #KEYS do
  local w = tonumber(ARGV[2 * i - 1])
  local limit = tonumber(ARGV[2 * i])
  local index = math.floor(now / w)
  local elapsed = now - index * w
  local current_key = KEYS[i] .. ':' .. string.format('%d', index)
  local current = tonumber(redis.call('GET', current_key) or '0')
  local previous = tonumber(redis.call('GET', KEYS[i] .. ':' .. string.format('%d', index - 1)) or '0')
  local admitted = 0
  if previous * (w - elapsed) / w + current < limit then
    current = redis.call('INCR', current_key)
    if current == 1 then
      -- Kept while it can still be the previous window: until the end of the next one.
      redis.call('PEXPIRE', current_key, 2 * w)
    end
    admitted = 1
  end
  out[#out + 1] = admitted
  out[#out + 1] = current
  out[#out + 1] = previous
  out[#out + 1] = elapsed
end
return out
`;

/** A client with the script defined on it. */
export type ScriptClient = (Redis | Cluster) & {
  [SCRIPT_COMMAND](numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<number[]>;
};

/**
 * Defines the script on `client` (EVALSHA, loaded again by ioredis itself when a restarted or
 * failed-over Redis answers NOSCRIPT). Defining it twice is harmless. The number of keys is
 * given per call: one call carries as many as there are checks to make.
 */
export function withScript(client: Redis | Cluster): ScriptClient {
  const scripted = client as ScriptClient;
  if (typeof (scripted as unknown as Record<string, unknown>)[SCRIPT_COMMAND] !== 'function') {
    client.defineCommand(SCRIPT_COMMAND, { lua: SLIDING_WINDOW_LUA });
  }
  return scripted;
}
