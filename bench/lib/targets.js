'use strict';
// Starting the target processes of bench/targets/ on the targets' core.

const path = require('node:path');
const { NodeChild } = require('./processes');

const DIR = path.join(__dirname, '..', 'targets');

/** Starts `bench/targets/<file>.js` with its JSON configuration; resolves once it listens. */
async function startTarget(ctx, name, file, config = {}, { nodeArgs = [], nofile, dist = ctx.dist } = {}) {
  const child = new NodeChild(name, path.join(DIR, `${file}.js`), {
    args: [JSON.stringify(config)],
    nodeArgs,
    nofile,
    core: ctx.cores.targets,
    env: dist ? { BENCH_DIST: dist } : {},
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

/** Stops every child given, in parallel, ignoring the ones that never started. */
async function stopAll(children) {
  await Promise.all(children.filter(Boolean).map((c) => c.stop()));
}

module.exports = { startTarget, stopAll };
