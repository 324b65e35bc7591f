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
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], options?: { cause?: unknown }) {
    super(ConfigError.format(problems), options);
    this.problems = problems;
  }

  /** The human-readable message: a headline and one line per problem. */
  static format(problems: readonly ConfigProblem[]): string {
    const n = problems.length;
    const lines = problems.map((p) => `  - ${p.path}: ${p.message}`);
    return [`invalid configuration (${n} problem${n === 1 ? '' : 's'}):`, ...lines].join('\n');
  }
}
