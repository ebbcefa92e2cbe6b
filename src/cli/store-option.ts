import { existsSync, statSync } from 'node:fs';
import { escapeControl } from '../text.js';
import { isPostgresUrl, sqlitePathOf, storeFrom } from '../stores/open-store.js';
import type { Store } from '../model/store.js';
import type { CliIo } from './command.js';
import { UsageError } from './command.js';

/** Usage text of the option every store-reading command takes. */
export const STORE_USAGE = '  --store <path|url>   SQLite file or postgres:// URL[?schema=name] (default: $TRACKS_STORE)';

/**
 * The store named by `--store` or `$TRACKS_STORE`, for commands that read recorded data or
 * change a test's state: a SQLite path (or `sqlite:<path>`, as a store describes itself) must
 * exist, so that a typo neither creates an empty database nor stops nothing. `missing` says
 * what to do when it does not.
 */
export function openExistingStore(
  flag: string | undefined,
  io: CliIo,
  missing: (spec: string) => string = (spec) => `check the path, or record some runs first (configure({ store: '${spec}' }))`,
): Store {
  const spec = flag ?? io.env.TRACKS_STORE;
  if (spec === undefined || spec === '') {
    throw new UsageError('no store given; pass --store tracks.db (or a postgres:// URL), or set TRACKS_STORE');
  }
  // Another scheme's URL (mysql://) is refused as such, not looked for as a file.
  if (isPostgresUrl(spec) || /^[a-z][a-z0-9+.-]+:\/\//i.test(spec)) return storeFrom(spec);
  const path = sqlitePathOf(spec);
  // A stale $TRACKS_STORE is easy to forget: the message says where the path came from.
  const from = flag === undefined ? ' (from $TRACKS_STORE)' : '';
  if (!existsSync(path)) throw new UsageError(`no store at ${escapeControl(spec)}${from}; ${missing(escapeControl(spec))}`);
  // SQLite reports a folder as a "disk I/O error", which names neither the flag nor the fix.
  if (statSync(path).isDirectory()) {
    const given = flag === undefined ? '$TRACKS_STORE is' : '--store';
    throw new UsageError(`${given} ${escapeControl(spec)} is a folder; give the SQLite file in it, e.g. --store ${escapeControl(spec.replace(/\/+$/, ''))}/tracks.db`);
  }
  return storeFrom(spec);
}
