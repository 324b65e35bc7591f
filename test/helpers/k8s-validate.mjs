// Validates Kubernetes objects against the API schemas with kubernetes-models (and
// @kubernetes-models/prometheus-operator for monitoring.coreos.com). Those packages are ESM
// only, which jest's CommonJS runtime cannot load, so test/helpers/k8s-schema.ts runs this
// file in a child `node`. Input on stdin: a JSON array of objects. Output on stdout: a JSON
// array, one entry per object, `{ "ok": true }` or `{ "ok": false, "error": "..." }`.
import process from 'node:process';

/** Where the model classes of an apiVersion live: first-party groups, then the Prometheus Operator's. */
const MODULES = [(apiVersion) => `kubernetes-models/${apiVersion}`, (apiVersion) => `@kubernetes-models/prometheus-operator/${apiVersion}`];

async function modelFor(apiVersion, kind) {
  for (const moduleOf of MODULES) {
    let exports;
    try {
      exports = await import(moduleOf(apiVersion));
    } catch (error) {
      if (error.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED' || error.code === 'ERR_MODULE_NOT_FOUND') continue;
      throw error;
    }
    const model = exports[kind];
    if (typeof model === 'function' && model.kind === kind && model.apiVersion === apiVersion) return model;
  }
  return undefined;
}

async function check(object) {
  if (object === null || typeof object !== 'object' || typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') {
    return { ok: false, error: 'not a Kubernetes object: no apiVersion and kind' };
  }
  const Model = await modelFor(object.apiVersion, object.kind);
  if (Model === undefined) return { ok: false, error: `unknown kind ${object.kind} in ${object.apiVersion}` };
  try {
    new Model(object).validate();
    return { ok: true };
  } catch (error) {
    return { ok: false, error: error.message };
  }
}

let input = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const object of JSON.parse(input)) results.push(await check(object));
process.stdout.write(JSON.stringify(results));
