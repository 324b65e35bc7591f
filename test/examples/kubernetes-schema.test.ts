import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { validateK8s } from '../helpers/k8s-schema';

const DIR = join(__dirname, '..', '..', 'examples', 'kubernetes');

interface Found {
  readonly file: string;
  readonly object: { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } } & Record<string, unknown>;
}

/** Every document of every YAML file in the example, empty ones aside. */
function manifests(): Found[] {
  const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).flatMap((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const object = doc.toJS() as Found['object'] | null;
      return object === null ? [] : [{ file, object }];
    }),
  );
}

const found = manifests();
const deployment = found.find((f) => f.object.kind === 'Deployment')?.object ?? {};

describe('the Kubernetes example against the Kubernetes API schemas', () => {
  it('has documents in every YAML file', () => {
    const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    expect(files.filter((f) => !found.some((m) => m.file === f))).toEqual([]);
  });

  it('holds only objects that validate against the schema of their apiVersion and kind', () => {
    const results = validateK8s(found.map((f) => f.object));
    const described = found.map((f, i) => ({ where: `${f.file}: ${String(f.object.kind)} ${String(f.object.metadata?.name)}`, ...results[i] }));
    expect(described).toEqual(found.map((f) => ({ where: `${f.file}: ${String(f.object.kind)} ${String(f.object.metadata?.name)}`, ok: true })));
    expect(found.map((f) => f.object.kind).sort()).toEqual(['Deployment', 'Service', 'Service', 'ServiceMonitor']);
  });

  // The check can fail: the same objects with one wrong field each, and a kind no schema knows.
  it('rejects a wrong type, a broken ServiceMonitor and an unknown kind', () => {
    const spec = deployment.spec as Record<string, unknown>;
    const serviceMonitor = found.find((f) => f.object.kind === 'ServiceMonitor')?.object ?? {};
    const results = validateK8s([
      { ...deployment, spec: { ...spec, replicas: 'two' } },
      { ...serviceMonitor, spec: { ...(serviceMonitor.spec as object), endpoints: 'metrics' } },
      { apiVersion: 'v1', kind: 'ServiceMonkey', metadata: { name: 'x' } },
      { apiVersion: 'example.com/v1', kind: 'Deployment', metadata: { name: 'x' } },
    ]);
    expect(results).toEqual([
      { ok: false, error: expect.stringMatching(/spec\/replicas must be integer/) },
      { ok: false, error: expect.stringMatching(/spec\/endpoints must be array/) },
      { ok: false, error: 'unknown kind ServiceMonkey in v1' },
      { ok: false, error: 'unknown kind Deployment in example.com/v1' },
    ]);
  });
});
