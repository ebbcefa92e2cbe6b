/** What a CLI command gets: its arguments and where to write. Returns the exit code. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface Command {
  /** One line for `tracks --help`. */
  readonly summary: string;
  /** Full usage text for `tracks <command> --help`. */
  readonly usage: string;
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/** A user mistake on the command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
