import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Store } from '../model/store.js';

/**
 * Where a store's outbox lives unless `outbox` says otherwise, so that it survives a restart of
 * the service and a deploy of a new version (never the temporary directory, which a reboot or
 * a cleaner may empty):
 *
 * - a SQLite store's beside its file: `tracks.db` spills to `tracks.db.outbox`;
 * - any other store's in the state directory, `$TRACKS_STATE_DIR`, else `$XDG_STATE_HOME/tracks`,
 *   else `~/.local/state/tracks`, as `outbox-<hash>.db`. The hash is of the store's `identity`
 *   (a PostgreSQL URL's host, port, database and schema), or, for a pool or a callback store, of
 *   its description and the application's package name (the nearest package.json above the main
 *   script), so two applications on one machine keep theirs apart and a new release of one
 *   finds what the old one spilled;
 * - the memory store has none (a test's events need no disk).
 *
 * In a container, point `outbox` (or `TRACKS_STATE_DIR`) at a volume: a container's own
 * filesystem does not survive it.
 *
 * @example
 * ```ts
 * defaultOutboxPath(sqliteStore('/srv/app/tracks.db')); // '/srv/app/tracks.db.outbox'
 * ```
 */
export function defaultOutboxPath(store: Store, env: NodeJS.ProcessEnv = process.env, main: string | undefined = process.argv[1]): string | undefined {
  const description = store.description;
  if (description === 'memory') return undefined;
  if (description.startsWith('sqlite:')) {
    const file = description.slice('sqlite:'.length);
    return join(dirname(file), `${basename(file)}.outbox`);
  }
  const identity = store.identity ?? `${description}\u0000${applicationOf(main)}`;
  const name = createHash('sha256').update(identity).digest('hex').slice(0, 16);
  return join(stateDirectory(env), `outbox-${name}.db`);
}

/** The directory for tracks' state on this machine; see {@link defaultOutboxPath}. */
function stateDirectory(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TRACKS_STATE_DIR) return env.TRACKS_STATE_DIR;
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'tracks');
  return join(homedir(), '.local', 'state', 'tracks');
}

/** The application's name: the nearest package.json with a name above its main script, else the working directory. */
function applicationOf(main: string | undefined): string {
  for (let folder = main === undefined ? process.cwd() : dirname(main); ; folder = dirname(folder)) {
    const manifest = join(folder, 'package.json');
    if (existsSync(manifest)) {
      try {
        const name = (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name;
        if (typeof name === 'string' && name !== '') return `package:${name}`;
      } catch {
        // an unreadable manifest names nothing; look further up
      }
    }
    if (dirname(folder) === folder) return `cwd:${process.cwd()}`;
  }
}
