/**
 * The base of every error the package throws or answers with: a stable `code` to match
 * on, the HTTP `status` where the failure has one, and the underlying `cause`.
 */
export class GatewayError extends Error {
  override readonly name: string = 'GatewayError';
  /** Stable, UPPER_SNAKE: the field to match on in code. */
  readonly code: string;
  /** The HTTP status this failure is answered with, or was answered with; undefined where none applies. */
  readonly status: number | undefined;

  constructor(code: string, message: string, options: { status?: number | undefined; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
  }
}

/** One problem found in a configuration: where, what is wrong, and what came. */
export interface ConfigProblem {
  /** Dotted path of the field, e.g. `discovery.document.server_name`; `(root)` for the whole object. */
  readonly path: string;
  /** What is wrong and what was expected. */
  readonly message: string;
}

/**
 * Thrown by `createGateway()`, `startServer()` and the configuration loader when the
 * configuration is invalid. `problems` lists every problem found, not only the first.
 */
export class ConfigError extends GatewayError {
  override readonly name = 'ConfigError';
  override readonly code = 'INVALID_CONFIG';
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], options?: { cause?: unknown }) {
    super('INVALID_CONFIG', ConfigError.format(problems), options);
    this.problems = problems;
  }

  /** The human-readable message: a headline and one line per problem. */
  static format(problems: readonly ConfigProblem[]): string {
    const n = problems.length;
    const lines = problems.map((p) => `  - ${p.path}: ${p.message}`);
    return [`invalid configuration (${n} problem${n === 1 ? '' : 's'}):`, ...lines].join('\n');
  }
}
