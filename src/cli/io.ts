/**
 * What a CLI command may touch of the outside world, injected so that commands are
 * tested in-process and only `main.ts` reads `process`.
 */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Working directory for relative paths. */
  readonly cwd: string;
}

/** Exit codes shared by every command. */
export const EXIT = {
  ok: 0,
  /** Reachable but unusable (discover), or a general failure. */
  unusable: 1,
  /** Bad input: configuration, arguments, an error talking to a server. */
  error: 2,
  /** `discover`: the certificate fingerprint changed since first use. */
  fingerprintMismatch: 3,
} as const;
