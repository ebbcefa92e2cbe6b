import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Store } from '../model/store.js';

/**
 * Where a store's outbox lives unless `outbox` says otherwise, so that it survives a restart of
 * the service (never the temporary directory, which a reboot or a cleaner may empty):
 *
 * - a SQLite store's beside its file: `tracks.db` spills to `tracks.db.outbox`;
 * - any other store's in the state directory, `$TRACKS_STATE_DIR`, else `$XDG_STATE_HOME/tracks`,
 *   else `~/.local/state/tracks`, as `outbox-<hash>.db` named for the store (a URL names one
 *   database; a pool or callback is named with the application, so two applications on one
 *   machine keep theirs apart);
 * - the memory store has none (a test's events need no disk).
 *
 * In a container, point `outbox` (or `TRACKS_STATE_DIR`) at a volume: a container's own
 * filesystem does not survive it.
 */
export function defaultOutboxPath(store: Store, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const description = store.description;
  if (description === 'memory') return undefined;
  if (description.startsWith('sqlite:')) {
    const file = description.slice('sqlite:'.length);
    return join(dirname(file), `${file.slice(dirname(file).length + 1)}.outbox`);
  }
  const unique = /^postgres(ql)?:\/\//.test(description);
  const identity = unique ? description : `${description}\u0000${process.cwd()}\u0000${process.argv[1] ?? ''}`;
  const name = createHash('sha256').update(identity).digest('hex').slice(0, 16);
  return join(stateDirectory(env), `outbox-${name}.db`);
}

/** The directory for tracks' state on this machine; see {@link defaultOutboxPath}. */
export function stateDirectory(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TRACKS_STATE_DIR) return env.TRACKS_STATE_DIR;
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'tracks');
  return join(homedir(), '.local', 'state', 'tracks');
}
