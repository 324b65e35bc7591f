import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

/** An OCI content descriptor (image-spec descriptor.md). */
export interface OciDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Record<string, string>;
}

/** The parts of an OCI image configuration (image-spec config.md) the tests read. */
export interface OciImageConfig {
  readonly architecture: string;
  readonly os: string;
  readonly config: {
    readonly User?: string;
    readonly Entrypoint?: string[];
    readonly Cmd?: string[];
    readonly Env?: string[];
    readonly WorkingDir?: string;
    readonly ExposedPorts?: Record<string, object>;
    readonly Labels?: Record<string, string>;
  };
  readonly rootfs: { readonly type: string; readonly diff_ids: string[] };
  readonly history?: { readonly created_by?: string; readonly empty_layer?: boolean }[];
}

/** An OCI archive unpacked: its one image's manifest and config, and the root filesystem its layers make. */
export interface UnpackedImage {
  readonly refName: string | undefined;
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly layers: OciDescriptor[];
  readonly config: OciImageConfig;
  /** The directory holding the extracted layers. */
  readonly rootfs: string;
}

function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  return pipeline(createReadStream(path), hash).then(() => `sha256:${hash.digest('hex')}`);
}

async function sha256Gunzipped(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), createGunzip(), hash);
  return `sha256:${hash.digest('hex')}`;
}

/**
 * Unpacks an `oci-archive` (what `buildah push oci-archive:` writes) under `dir`: checks
 * every blob against its digest and every layer against the config's diff_ids, then
 * extracts the layers in order into `dir/rootfs` with their numeric owners, as a
 * container runtime would. Whiteout files are refused: images built here have none.
 */
export async function unpackOciArchive(archive: string, dir: string): Promise<UnpackedImage> {
  const layout = join(dir, 'layout');
  const rootfs = join(dir, 'rootfs');
  mkdirSync(layout, { recursive: true });
  mkdirSync(rootfs, { recursive: true });
  execFileSync('tar', ['-xf', archive, '-C', layout]);
  const blob = (digest: string): string => join(layout, 'blobs', ...digest.split(':'));
  const verified = async (d: OciDescriptor): Promise<string> => {
    const actual = await sha256File(blob(d.digest));
    if (actual !== d.digest) throw new Error(`blob ${d.digest} hashes to ${actual}`);
    return blob(d.digest);
  };
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: OciDescriptor[] };
  if (index.manifests.length !== 1) throw new Error(`expected one manifest in the archive, got ${index.manifests.length}`);
  const [top] = index.manifests as [OciDescriptor];
  const manifest = JSON.parse(readFileSync(await verified(top), 'utf8')) as { config: OciDescriptor; layers: OciDescriptor[] };
  const config = JSON.parse(readFileSync(await verified(manifest.config), 'utf8')) as OciImageConfig;
  if (config.rootfs.diff_ids.length !== manifest.layers.length) throw new Error('the config and the manifest list different numbers of layers');
  for (const [i, layer] of manifest.layers.entries()) {
    const path = await verified(layer);
    const gzip = layer.mediaType.endsWith('+gzip');
    if (!gzip && !layer.mediaType.endsWith('.tar')) throw new Error(`layer ${layer.digest}: unsupported media type ${layer.mediaType}`);
    const diffId = gzip ? await sha256Gunzipped(path) : await sha256File(path);
    if (diffId !== config.rootfs.diff_ids[i]) throw new Error(`layer ${i}: uncompressed ${diffId}, the config says ${config.rootfs.diff_ids[i]}`);
    const names = execFileSync('tar', [gzip ? '-tzf' : '-tf', path], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).split('\n');
    const whiteouts = names.filter((n) => /(^|\/)\.wh\./.test(n));
    if (whiteouts.length > 0) throw new Error(`layer ${i} has whiteouts: ${whiteouts.slice(0, 5).join(', ')}`);
    execFileSync('tar', [gzip ? '-xzf' : '-xf', path, '-C', rootfs, '--numeric-owner', '--same-permissions', '--same-owner']);
  }
  return {
    refName: top.annotations?.['org.opencontainers.image.ref.name'],
    manifestDigest: top.digest,
    configDigest: manifest.config.digest,
    layers: manifest.layers,
    config,
    rootfs,
  };
}
