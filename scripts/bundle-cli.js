'use strict';
// `npm run build`, after tsc: the CLI as one file, dist/cryptid-gateway.js, which the bin,
// `npm start` and the image run. Library mode (dist/index.js) stays tsc's modules, so an app
// shares zod, prom-client and the rest with its own copies.
//
// Why one file: a sidecar that loads ~290 modules at start has Node's module resolution
// (path.resolve, normalizeString, Module._nodeModulePaths) called often enough that V8
// optimizes it, and the optimizing compiler's code and memory stay for the life of the
// process. One file, resolved once: about 5 MiB less idle RSS (docs/operations.md, Memory).
//
// Bundled from the TypeScript (esbuild compiles it; tsc has type-checked it and built the
// library): ES modules are what lets esbuild leave out what is never imported, and zod/mini
// is built for that: of zod, ~50 KiB instead of ~600 KiB (with its lighter schemas, about
// 2.7 MiB less idle RSS).
// Whitespace is removed but names are kept (readable stack traces); minified identifiers,
// or esbuild's full minify, measured 1 MiB *more* idle RSS for a file a third smaller.
//
// Outside the file, required from node_modules only when used: undici (the undici engine),
// ioredis (a Redis store), yaml (a YAML configuration file), ws (the demo's clients). Inside
// it, each would be source the process holds and never runs: 0.6 MiB of RSS for yaml alone.

const path = require('node:path');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');

/**
 * prom-client requires @opentelemetry/api at load, for exemplars only (`enableExemplars`,
 * which the gateway does not set). In the bundle it is a stand-in that requires the real
 * package the first time any of it is read, as prom-client would (from prom-client's own
 * folder: npm may nest it there): 0.4 MiB of idle RSS.
 */
const lazyOpenTelemetry = {
  name: 'lazy-opentelemetry-api',
  setup(build) {
    build.onResolve({ filter: /^@opentelemetry\/api$/ }, (args) => ({ path: args.path, namespace: 'lazy' }));
    build.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => ({
      contents: [
        "const { createRequire } = require('node:module');",
        'let api;',
        `const load = () => (api ??= createRequire(createRequire(__filename).resolve('prom-client'))(${JSON.stringify(args.path)}));`,
        'module.exports = new Proxy({}, { get: (_, key) => load()[key] });',
      ].join('\n'),
      loader: 'js',
      resolveDir: root,
    }));
  },
};

/** Bundles `src/cli/main.ts` into `dist/cryptid-gateway.js` (with a linked source map). */
function bundleCli() {
  return esbuild.build({
    entryPoints: [path.join(root, 'src', 'cli', 'main.ts')],
    tsconfig: path.join(root, 'tsconfig.build.json'),
    outfile: path.join(root, 'dist', 'cryptid-gateway.js'),
    bundle: true,
    platform: 'node',
    // The oldest Node of package.json's engines: nothing is transformed for the others.
    target: 'node20',
    format: 'cjs',
    minifyWhitespace: true,
    external: ['undici', 'ioredis', 'yaml', 'ws'],
    plugins: [lazyOpenTelemetry],
    sourcemap: 'linked',
    sourcesContent: true,
    legalComments: 'eof',
    logLevel: 'warning',
  });
}

if (require.main === module) {
  bundleCli().catch(() => {
    // esbuild has printed the errors.
    process.exitCode = 1;
  });
}

module.exports = { bundleCli, lazyOpenTelemetry };
