'use strict';
// Starting the target processes of bench/targets/ on the targets' core.

const path = require('node:path');
const { NodeChild } = require('./processes');

const DIR = path.join(__dirname, '..', 'targets');

/** The targets that run with the gateway's Node/V8 flags: the gateway's own, and its floors. */
const SAME_FLAGS = new Set(['gateway', 'serve', 'undici-floor', 'lean-floor', 'tcp-pipe']);

/** Starts `bench/targets/<file>.js` with its JSON configuration; resolves once it listens. */
async function startTarget(
  ctx,
  name,
  file,
  config = {},
  {
    nodeArgs = [],
    nofile,
    dist = ctx.dist,
    gatewayNodeArgs = ctx.opts?.gatewayNodeArgs,
    gatewayEnv = ctx.opts?.gatewayEnv,
    gatewayFlags = SAME_FLAGS.has(file),
    env = {},
  } = {},
) {
  // --gateway-node-args (--compare-node-args for the compared gateway): Node/V8 flags for the
  // gateway's processes, and for the floors, which are the gateway's design with nothing of
  // its own: measured with other flags they would mix the flags' cost into the gateway's.
  // `gatewayFlags: true` gives them to another target too (a floor of one-process's after-start RSS).
  const extra = gatewayFlags && gatewayNodeArgs ? gatewayNodeArgs : [];
  const child = new NodeChild(name, path.join(DIR, `${file}.js`), {
    args: [JSON.stringify(config)],
    nodeArgs: [...extra, ...nodeArgs],
    nofile,
    core: ctx.cores.targets,
    // --node: every target runs on that Node; the harness and its load clients stay on their own.
    node: ctx.node,
    // --gateway-env the same way: the environment the gateway's launchers give it (scripts/node-env.txt).
    env: { ...(gatewayFlags && gatewayEnv ? gatewayEnv : {}), ...env, ...(dist ? { BENCH_DIST: dist } : {}) },
  });
  try {
    const ready = await child.ready;
    child.url = ready.url;
    child.port = ready.port;
    return child;
  } catch (err) {
    child.kill();
    throw err;
  }
}

/**
 * Makes `target` renewable: `target.renew()` starts the same target file with the same
 * configuration in a new process, stops the old one and points the target at the new one.
 * Processes of one build differ from each other (JIT, memory placement) by more than the
 * rounds of one process do, so the harness starts each target afresh right before each
 * of its runs (see `interleave`). Every child started is pushed onto `children` for the
 * final cleanup.
 */
function renewable(ctx, target, children, name, file, config = {}, options = {}) {
  target.renew = async () => {
    const next = await startTarget(ctx, name, file, config, options);
    children.push(next);
    await target.child.stop();
    target.child = next;
    target.url = next.url;
  };
  return target;
}

/** Stops every child given, in parallel, ignoring the ones that never started. */
async function stopAll(children) {
  await Promise.all(children.filter(Boolean).map((c) => c.stop()));
}

/**
 * A file for `bare-bytes` in `dir`: a gateway (`file`, from `dist`) started once with
 * `config`, its exact answer to `urlPath` saved, the gateway stopped again. Returns the path.
 */
async function replayedAnswer(ctx, file, dist, config, urlPath, dir) {
  const { saveAnswer } = require('./http-check');
  const child = await startTarget(ctx, 'answer', file, config, { dist });
  try {
    const out = path.join(dir, 'answer.json');
    await saveAnswer(`${child.url}${urlPath}`, out);
    return out;
  } finally {
    await child.stop();
  }
}

module.exports = { startTarget, stopAll, renewable, replayedAnswer };
