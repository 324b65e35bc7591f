'use strict';
// `npm run build`, after tsc: the CLI as one file, dist/cryptid-gateway.js, which the bin,
// `npm start` and the image run. Library mode (dist/index.js) stays tsc's modules, so an app
// shares zod, prom-client and the rest with its own copies.
//
// Why one file: a sidecar that loads ~290 modules at start has Node's module resolution
// (path.resolve, normalizeString, Module._nodeModulePaths) called often enough that V8
// optimizes it, and the optimizing compiler's code and memory stay for the life of the
// process. One file, resolved once: about 5 MiB less idle RSS (docs/operations.md, Memory).
// Whitespace is removed but names are kept (readable stack traces); esbuild's full minify
// wraps modules in forms V8 compiles eagerly, and measured 4 MiB *more* than tsc's output.
// undici and ioredis stay outside: the sidecar requires them only with the undici engine or
// a Redis store, and as source inside the bundle they would cost 1 MiB of RSS unused.

const path = require('node:path');
const esbuild = require('esbuild');

const dist = path.join(__dirname, '..', 'dist');

/** Bundles `dist/cli/main.js` into `dist/cryptid-gateway.js` (with a linked source map). */
function bundleCli() {
  return esbuild.buildSync({
    entryPoints: [path.join(dist, 'cli', 'main.js')],
    outfile: path.join(dist, 'cryptid-gateway.js'),
    bundle: true,
    platform: 'node',
    // The oldest Node of package.json's engines: nothing is transformed for the others.
    target: 'node20',
    format: 'cjs',
    minifyWhitespace: true,
    external: ['undici', 'ioredis'],
    // tsc's maps (sources embedded) are read in: the bundle's map points at the TypeScript.
    sourcemap: 'linked',
    sourcesContent: true,
    legalComments: 'eof',
    logLevel: 'warning',
  });
}

if (require.main === module) bundleCli();

module.exports = { bundleCli };
