import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** What the Kubernetes API schemas say of one object. */
export type SchemaResult = { readonly ok: true } | { readonly ok: false; readonly error: string };

const SCRIPT = join(__dirname, 'k8s-validate.mjs');

/**
 * Validates each object against the Kubernetes API schema of its apiVersion and kind
 * (kubernetes-models, @kubernetes-models/prometheus-operator); an unknown kind is a failure.
 * Runs k8s-validate.mjs in a child node, since those packages are ESM only.
 */
export function validateK8s(objects: readonly unknown[]): SchemaResult[] {
  const child = spawnSync(process.execPath, [SCRIPT], { input: JSON.stringify(objects), encoding: 'utf8', timeout: 30_000 });
  if (child.status !== 0) throw new Error(`k8s-validate.mjs: ${child.signal ?? `exit ${child.status}`}\n${child.stderr}`);
  const results = JSON.parse(child.stdout) as SchemaResult[];
  if (results.length !== objects.length) throw new Error(`k8s-validate.mjs answered ${results.length} results for ${objects.length} objects`);
  return results;
}
