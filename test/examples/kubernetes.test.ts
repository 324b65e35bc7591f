import { SERVE_FLAGS } from '../../src/config/flags';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { DEFAULTS } from '../../src/config/defaults';

const DIR = join(__dirname, '..', '..', 'examples', 'kubernetes');
const ROOT = join(__dirname, '..', '..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** The user `npm run image` bakes into the image (`UID_GID=` in the build script). */
const IMAGE_UID = Number(/^UID_GID=(\d+)$/m.exec(readFileSync(join(ROOT, 'scripts', 'build-image.sh'), 'utf8'))?.[1]);

/** The subset of Kubernetes objects these checks read. */
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    runAsGroup?: number;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
  ports?: { name: string; containerPort: number }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}
interface Deployment extends K8sObject {
  spec: {
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
      spec: {
        terminationGracePeriodSeconds: number;
        containers: Container[];
        volumes: { name: string; secret?: { secretName: string } }[];
      };
    };
  };
}
interface Service extends K8sObject {
  spec: {
    selector: Record<string, string>;
    publishNotReadyAddresses?: boolean;
    ports: { name: string; port: number; targetPort: string | number }[];
  };
}
interface ServiceMonitor extends K8sObject {
  spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] };
}

function load(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as K8sObject;
  });
}

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

/** The value after a flag in an argument list (`--flag value`). */
function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
}

function matches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

const [deployment] = load('deployment.yaml') as [Deployment];
const services = load('service.yaml') as Service[];
const [serviceMonitor] = load('servicemonitor.yaml') as [ServiceMonitor];
const pod = deployment.spec.template;
const gateway = pod.spec.containers.find((c) => c.name === 'gateway') as Container;
const server = pod.spec.containers.find((c) => c.name === 'cryptid-server') as Container;
const args = gateway.args ?? [];
const namedPort = (name: string | number): number => (typeof name === 'number' ? name : (gateway.ports?.find((p) => p.name === name)?.containerPort ?? NaN));

describe('the Kubernetes example', () => {
  it('holds one Deployment, two Services and one ServiceMonitor', () => {
    expect(deployment.kind).toBe('Deployment');
    expect(services.map((s) => s.kind)).toEqual(['Service', 'Service']);
    expect(serviceMonitor.kind).toBe('ServiceMonitor');
    expect(serviceMonitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(matches(deployment.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
  });

  it('runs the gateway as `serve` with only the flags the CLI defines', () => {
    expect(args[0]).toBe('serve');
    const known = SERVE_FLAGS.map((f) => `--${f.name}`);
    const flags = args.filter((a) => a.startsWith('--'));
    expect(flags.filter((f) => !known.includes(f))).toEqual([]);
    for (const f of flags) expect(args[args.indexOf(f) + 1]).not.toMatch(/^--/);
  });

  it('runs the image `npm run image` builds, of this version, through its own entrypoint', () => {
    expect(gateway.image).toMatch(new RegExp(`(^|/)cryptid-gateway:${VERSION.replace(/\./g, '\\.')}$`));
    // `command` would replace the image's entrypoint (node and the CLI); `args` replace its `serve`.
    expect(gateway.command).toBeUndefined();
  });

  it('runs the gateway as the image’s non-root user, read-only, unprivileged', () => {
    expect(IMAGE_UID).toBeGreaterThan(0);
    expect(gateway.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: IMAGE_UID,
      runAsGroup: IMAGE_UID,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('sends upstream traffic to the Cryptid server over loopback only', () => {
    const upstream = new URL(flag(args, '--upstream') ?? '');
    expect(upstream.hostname).toBe('127.0.0.1');
    expect(upstream.protocol).toBe('http:');
    expect(server).toBeDefined();
  });

  it('listens where the gateway listens by default, with named container ports', () => {
    expect(portOf(flag(args, '--listen') ?? '')).toBe(portOf(DEFAULTS.listen));
    expect(portOf(flag(args, '--metrics-listen') ?? '')).toBe(portOf(DEFAULTS.metrics.listen));
    expect(namedPort('https')).toBe(portOf(DEFAULTS.listen));
    expect(namedPort('metrics')).toBe(portOf(DEFAULTS.metrics.listen));
  });

  it('probes readiness at /readyz and liveness at /livez on the metrics port', () => {
    expect(gateway.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(gateway.livenessProbe?.httpGet?.path).toBe('/livez');
    expect(namedPort(gateway.readinessProbe?.httpGet?.port ?? '')).toBe(portOf(DEFAULTS.metrics.listen));
    expect(namedPort(gateway.livenessProbe?.httpGet?.port ?? '')).toBe(portOf(DEFAULTS.metrics.listen));
  });

  it('mounts the TLS Secret as a whole directory, so that renewals reach the gateway', () => {
    const certPath = flag(args, '--tls-cert') ?? '';
    const keyPath = flag(args, '--tls-key') ?? '';
    const mount = gateway.volumeMounts?.find((m) => certPath.startsWith(`${m.mountPath}/`));
    expect(mount).toBeDefined();
    expect(keyPath.startsWith(`${mount?.mountPath}/`)).toBe(true);
    // A subPath mount never sees the kubelet's `..data` symlink swap.
    expect(mount?.subPath).toBeUndefined();
    expect(mount?.readOnly).toBe(true);
    const volume = pod.spec.volumes.find((v) => v.name === mount?.name);
    expect(volume?.secret?.secretName).toBeTruthy();
    // kubernetes.io/tls Secrets hold tls.crt and tls.key.
    expect([certPath.slice(certPath.lastIndexOf('/') + 1), keyPath.slice(keyPath.lastIndexOf('/') + 1)]).toEqual(['tls.crt', 'tls.key']);
  });

  it('gives the pod longer to terminate than the gateway’s drain and shutdown timeout, with a margin', () => {
    const shutdownSeconds = (DEFAULTS.shutdown.drainDelayMs + DEFAULTS.shutdown.timeoutMs) / 1000;
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(shutdownSeconds + 5);
  });

  it('keeps the Cryptid server up while the gateway drains, and within the grace period', () => {
    const shutdownSeconds = (DEFAULTS.shutdown.drainDelayMs + DEFAULTS.shutdown.timeoutMs) / 1000;
    const sleep = server.lifecycle?.preStop?.sleep?.seconds ?? 0;
    expect(sleep).toBeGreaterThanOrEqual(shutdownSeconds);
    expect(sleep).toBeLessThan(pod.spec.terminationGracePeriodSeconds);
  });

  it('annotates the pod for Prometheus pod discovery on the metrics port', () => {
    expect(pod.metadata.annotations['prometheus.io/scrape']).toBe('true');
    expect(Number(pod.metadata.annotations['prometheus.io/port'])).toBe(portOf(DEFAULTS.metrics.listen));
    expect(pod.metadata.annotations['prometheus.io/path']).toBe('/metrics');
  });

  it('exposes the public port publicly and the metrics port only through a separate internal Service', () => {
    const [publicService, metricsService] = services as [Service, Service];
    for (const service of services) expect(matches(service.spec.selector, pod.metadata.labels)).toBe(true);
    expect(publicService.spec.ports.map((p) => namedPort(p.targetPort))).toEqual([portOf(DEFAULTS.listen)]);
    expect(metricsService.spec.ports.map((p) => namedPort(p.targetPort))).toEqual([portOf(DEFAULTS.metrics.listen)]);
    expect((metricsService.spec as { type?: string }).type).toBe('ClusterIP');
    // Unready pods are the ones whose metrics matter.
    expect(metricsService.spec.publishNotReadyAddresses).toBe(true);
  });

  it('has the ServiceMonitor select the metrics Service and scrape /metrics on its port', () => {
    const metricsService = services[1] as Service;
    expect(matches(serviceMonitor.spec.selector.matchLabels, metricsService.metadata.labels)).toBe(true);
    expect(matches(serviceMonitor.spec.selector.matchLabels, services[0]?.metadata.labels)).toBe(false);
    expect(serviceMonitor.spec.endpoints).toEqual([expect.objectContaining({ port: metricsService.spec.ports[0]?.name, path: '/metrics' })]);
    // The alert rules match jobs named cryptid-gateway*; a ServiceMonitor's job is the Service name.
    expect(metricsService.metadata.name).toMatch(/^cryptid-gateway/);
  });
});
