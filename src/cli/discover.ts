import { readFile } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import {
  checkHealth,
  CLIENT_PROTOCOL_VERSION,
  CONNECTION_DEFAULTS,
  discover,
  DiscoveryError,
  FileTofuStore,
  isCompatible,
  normalizeDomain,
  type ConnectionOptions,
  type DiscoveryResult,
  type HealthReport,
} from '../client';
import { FINGERPRINT_PATTERN } from '../protocol/document';
import { printable } from '../client/printable';
import { EXIT, type CliIo } from './io';

const USAGE = `Usage: cryptid-gateway discover DOMAIN [options]

Discovers a Cryptid server: fetches https://DOMAIN/.well-known/cryptid, validates it,
checks protocol compatibility, pins the TLS certificate on first use, asks /v1/health.

Options:
  --url URL                 connect here instead of https://DOMAIN (the certificate is still
                            verified for DOMAIN)
  --ca FILE                 trust these CA certificates (PEM) instead of the system store
  --known-servers FILE      pinned fingerprints (default: $XDG_CONFIG_HOME or ~/.config,
                            then cryptid-gateway/known_servers.json)
  --accept-fingerprint FP   accept a changed certificate, only if its fingerprint is FP
  --accept-new-fingerprint  accept a changed certificate, whatever it is
  --protocol-version V      the client protocol version to check against (default ${CLIENT_PROTOCOL_VERSION})
  --timeout MS              per request (default ${CONNECTION_DEFAULTS.timeoutMs})
  --json                    print one JSON object instead of the report
  -h, --help                this help

Exit codes: 0 usable, 1 reachable but unusable (incompatible or unhealthy),
            2 error (arguments, network, invalid document), 3 certificate fingerprint changed.
`;

/** Everything the command needs, once the arguments are checked. */
interface Plan {
  readonly domain: string;
  readonly json: boolean;
  readonly knownServers: string;
  readonly clientVersion: string;
  readonly accept: boolean | string;
  readonly connection: ConnectionOptions;
}

/** A failure reported as `{code, message}`. */
interface Problem {
  readonly code: string;
  readonly message: string;
}

/** What the health check gave: a report, or the problem that kept it from one. */
interface HealthOutcome {
  readonly health: HealthReport | undefined;
  readonly problem: Problem | undefined;
}

/** Whether the server can be used by this client, and if not, why. */
interface Verdict {
  readonly compatible: boolean;
  readonly reasons: readonly string[];
  readonly exitCode: number;
}

/**
 * `cryptid-gateway discover DOMAIN`: a readable report or JSON, and an exit code a
 * monitoring check can use — 0 usable, 1 reachable but unusable, 2 error, 3 fingerprint
 * mismatch. Never exits the process and reads the environment only through `io`.
 */
export async function discoverCommand(args: string[], io: CliIo): Promise<number> {
  let plan: Plan | 'help';
  try {
    plan = await makePlan(args, io);
  } catch (error) {
    io.stderr.write(`cryptid-gateway discover: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return EXIT.error;
  }
  if (plan === 'help') {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  const store = new FileTofuStore(plan.knownServers);
  let result: DiscoveryResult;
  try {
    result = await discover(plan.domain, { ...plan.connection, tofuStore: store, acceptNewFingerprint: plan.accept });
  } catch (error) {
    return reportFailure(plan, error, io);
  }
  const health = await askHealth(plan);
  const verdict = judge(plan, result, health);
  io.stdout.write(plan.json ? jsonReport(plan, result, health, verdict) : textReport(plan, result, health, verdict));
  return verdict.exitCode;
}

async function askHealth(plan: Plan): Promise<HealthOutcome> {
  try {
    return { health: await checkHealth(plan.domain, plan.connection), problem: undefined };
  } catch (error) {
    return { health: undefined, problem: problemOf(error) };
  }
}

function judge(plan: Plan, result: DiscoveryResult, { health, problem }: HealthOutcome): Verdict {
  const compatible = isCompatible(result.document.protocol_version, plan.clientVersion);
  const reasons: string[] = [];
  if (!compatible) reasons.push(`protocol ${printable(result.document.protocol_version)} is not compatible with ${plan.clientVersion}`);
  if (health?.status === 'unhealthy') reasons.push(`the server reports itself unhealthy${health.details === undefined ? '' : `: ${printable(health.details)}`}`);
  // A server without /v1/health is not thereby unusable; one whose health check fails otherwise is.
  if (problem !== undefined && problem.code !== 'ENDPOINT_NOT_FOUND') reasons.push(`health check failed: ${problem.message}`);
  return { compatible, reasons, exitCode: reasons.length === 0 ? EXIT.ok : EXIT.unusable };
}

function jsonReport(plan: Plan, result: DiscoveryResult, { health, problem }: HealthOutcome, verdict: Verdict): string {
  return `${JSON.stringify({
    domain: plan.domain,
    usable: verdict.exitCode === EXIT.ok,
    exitCode: verdict.exitCode,
    reasons: verdict.reasons,
    compatible: verdict.compatible,
    clientProtocolVersion: plan.clientVersion,
    fingerprint: result.fingerprint,
    pin: { ...result.pin, knownServers: plan.knownServers },
    document: result.document,
    health: health ?? null,
    healthError: problem ?? null,
    error: null,
  })}\n`;
}

async function makePlan(args: string[], io: CliIo): Promise<Plan | 'help'> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      url: { type: 'string' },
      ca: { type: 'string' },
      'known-servers': { type: 'string' },
      'accept-fingerprint': { type: 'string' },
      'accept-new-fingerprint': { type: 'boolean', default: false },
      'protocol-version': { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  if (positionals.length !== 1) throw new Error(positionals.length === 0 ? 'DOMAIN is required' : 'exactly one DOMAIN, please');
  const domain = normalizeDomain(positionals[0] ?? '');
  const timeoutMs = timeoutOf(values.timeout);
  const url = values.url === undefined ? undefined : httpsUrl(values.url);
  const ca = values.ca === undefined ? undefined : await readCa(resolvePath(io.cwd, values.ca));
  const acceptFingerprint = acceptedFingerprint(values['accept-fingerprint']);
  return {
    domain,
    json: values.json,
    knownServers: values['known-servers'] === undefined ? defaultKnownServers(io) : resolvePath(io.cwd, values['known-servers']),
    clientVersion: values['protocol-version'] ?? CLIENT_PROTOCOL_VERSION,
    accept: acceptFingerprint ?? values['accept-new-fingerprint'],
    connection: {
      ...(ca !== undefined && { ca }),
      ...(url !== undefined && { resolve: resolveTo(url) }),
      ...(timeoutMs !== undefined && { timeoutMs }),
    },
  };
}

function timeoutOf(text: string | undefined): number | undefined {
  const timeoutMs = text === undefined ? undefined : Number(text);
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
    throw new Error(`--timeout expects a positive number of milliseconds, got ${JSON.stringify(text)}`);
  }
  return timeoutMs;
}

function httpsUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--url is not a URL: ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'https:') throw new Error('--url must be https:// (discovery is never done over plain HTTP)');
  return url;
}

async function readCa(caPath: string): Promise<string> {
  try {
    return await readFile(caPath, 'utf8');
  } catch (error) {
    throw new Error(`--ca ${caPath} could not be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function acceptedFingerprint(text: string | undefined): string | undefined {
  if (text !== undefined && !FINGERPRINT_PATTERN.test(text)) {
    throw new Error('--accept-fingerprint expects "sha256:" followed by 64 lower-case hex characters');
  }
  return text;
}

function resolveTo(url: URL): () => URL {
  return () => url;
}

/** `$XDG_CONFIG_HOME/cryptid-gateway/known_servers.json`, else under `~/.config` (XDG Base Directory spec). */
function defaultKnownServers(io: CliIo): string {
  const xdg = io.env.XDG_CONFIG_HOME;
  if (xdg !== undefined && xdg.startsWith('/')) return join(xdg, 'cryptid-gateway', 'known_servers.json');
  const home = io.env.HOME ?? io.env.USERPROFILE;
  if (home === undefined || home === '') throw new Error('no HOME to keep known servers in; pass --known-servers FILE');
  return join(home, '.config', 'cryptid-gateway', 'known_servers.json');
}

function problemOf(error: unknown): Problem {
  if (error instanceof DiscoveryError) return { code: error.code, message: error.message };
  return { code: 'ERROR', message: error instanceof Error ? error.message : String(error) };
}

function reportFailure(plan: Plan, error: unknown, io: CliIo): number {
  const mismatch = error instanceof DiscoveryError && error.code === 'FINGERPRINT_MISMATCH';
  const exitCode = mismatch ? EXIT.fingerprintMismatch : EXIT.error;
  const problem = problemOf(error);
  if (plan.json) {
    const e = error instanceof DiscoveryError ? error : undefined;
    io.stdout.write(
      `${JSON.stringify({
        domain: plan.domain,
        usable: false,
        exitCode,
        error: {
          ...problem,
          ...(e?.status !== undefined && { status: e.status }),
          ...(e?.problems.length ? { problems: e.problems } : {}),
          ...(e?.expectedFingerprint !== undefined && { expectedFingerprint: e.expectedFingerprint }),
          ...(e?.presentedFingerprint !== undefined && { presentedFingerprint: e.presentedFingerprint }),
          ...(e?.fingerprintSource !== undefined && { fingerprintSource: e.fingerprintSource }),
        },
      })}\n`,
    );
    return exitCode;
  }
  io.stderr.write(`${plan.domain}: ${problem.code}: ${problem.message}\n`);
  if (mismatch && error.fingerprintSource === 'pin') {
    io.stderr.write(
      `If this change is expected, confirm ${error.presentedFingerprint ?? ''} with the server's operator, then run again with\n` +
        `  --accept-fingerprint ${error.presentedFingerprint ?? ''}\n` +
        `(pins are kept in ${plan.knownServers})\n`,
    );
  }
  return exitCode;
}

const PIN_TEXT = {
  'first-use': 'pinned now (first use)',
  match: 'matches the pinned certificate',
  accepted: 'changed certificate accepted and pinned',
  unpinned: 'not pinned',
} as const;

function textReport(plan: Plan, result: DiscoveryResult, { health, problem }: HealthOutcome, { compatible, reasons }: Verdict): string {
  const d = result.document;
  const list = (limits: Record<string, number>): string =>
    Object.entries(limits)
      .map(([k, v]) => `${printable(k)} ${v}`)
      .join(', ');
  const lines = [
    `${plan.domain}: ${reasons.length === 0 ? 'usable' : `UNUSABLE (${reasons.join('; ')})`}`,
    `  protocol      ${printable(d.protocol_version)} (${compatible ? 'compatible with' : 'NOT compatible with'} client ${plan.clientVersion})`,
    `  federation    ${d.federation_enabled ? 'enabled' : 'disabled'}`,
    `  features      ${d.supported_features.map((f) => printable(f)).join(', ')}`,
    `  rate limits   ${list(d.rate_limits)}`,
    `  messages      ${list(d.message_limits)}`,
    `  fingerprint   ${result.fingerprint}`,
    `  pin           ${PIN_TEXT[result.pin.status]}${result.pin.previous === undefined ? '' : ` (was ${result.pin.previous})`} in ${plan.knownServers}`,
    `  health        ${healthText(health, problem)}`,
  ];
  return `${lines.join('\n')}\n`;
}

function healthText(health: HealthReport | undefined, problem: Problem | undefined): string {
  if (health === undefined) {
    return problem?.code === 'ENDPOINT_NOT_FOUND' ? 'unknown (no /v1/health endpoint)' : `check failed: ${problem?.message ?? 'unknown'}`;
  }
  const skew = `${health.clockSkewSeconds >= 0 ? '+' : ''}${health.clockSkewSeconds} s`;
  const details = health.details === undefined ? '' : ` (${printable(health.details)})`;
  return `${health.status}${details}, version ${printable(health.version, 40)}, up ${duration(health.uptime)}, clock skew ${skew}`;
}

function duration(seconds: number): string {
  const s = Math.floor(seconds);
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  return `${minutes}m ${s % 60}s`;
}
