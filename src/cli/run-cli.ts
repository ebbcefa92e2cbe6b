import { readFileSync } from 'node:fs';
import { escapeControl } from '../text.js';
import { TracksError, messageOf } from '../errors.js';
import { StoreError } from '../model/store-error.js';
import type { CliIo, Command } from './command.js';
import { UsageError } from './command.js';
import { commands } from './commands.js';

/** Runs the `tracks` command line; returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    io.stdout(version());
    return 0;
  }
  // `tracks help ramp` is `tracks ramp --help`; `tracks help nope` is as wrong as `tracks nope`.
  if (name === 'help' && rest[0] !== undefined) {
    if (!Object.hasOwn(commands, rest[0])) {
      io.stderr(`tracks: unknown command '${escapeControl(rest[0])}'; run 'tracks --help' for the list`);
      return 2;
    }
    io.stdout(commands[rest[0]]!.usage);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(help());
    return name === undefined ? 2 : 0;
  }
  const command: Command | undefined = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) {
    io.stderr(`tracks: unknown command '${escapeControl(name)}'; run 'tracks --help' for the list`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    // A store with no tracks data, of another version, or a PostgreSQL database that does not
    // exist (3D000) is the user's to fix, like a typo (a missing SQLite file is, too).
    const usage = error instanceof StoreError && (error.code === 'TRACKS_NO_DATA' || error.code === 'TRACKS_SCHEMA' || error.code === '3D000');
    // Store errors start with 'tracks: ' already; the command's name says it.
    const message = messageOf(error).replace(/^tracks: /, '');
    io.stderr(`tracks ${name}: ${escapeControl(message)}`);
    return error instanceof UsageError || error instanceof TracksError || usage ? 2 : 1;
  }
}

/** This package's version, from its package.json (two folders up, from src/cli and from dist/cli alike). */
function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `tracks ${manifest.version}`;
}

function help(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  const lines = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: tracks <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    "Run 'tracks <command> --help' for a command's options, 'tracks --version' for the version.",
  ].join('\n');
}

