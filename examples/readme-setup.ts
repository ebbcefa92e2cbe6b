// What the README's examples share: the coconut store's catalog, a user, and a database with
// the seed's test_runs table. Every README example imports from here, so each runs as written.
import Database from 'better-sqlite3';
import { renderCoconutCatalog } from './coconut-store/catalog.js';
import type { CatalogResponse, User } from './coconut-store/catalog.js';

export { renderCoconutCatalog };
export type { CatalogResponse, User };

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const userId = 'user-42';
export const user: User = { id: userId, isVip: false };
export const vipUser: User = { id: 'user-7', isVip: true };

const sqlite = new Database(':memory:');
sqlite.exec('CREATE TABLE test_runs (user_id TEXT, test TEXT, variant TEXT)');

/** The hand-rolled bookkeeping of the seed, in pg's query style ($1, $2 placeholders). */
export const db = {
  async query(sql: string, params: readonly unknown[] = []): Promise<unknown[]> {
    const statement = sqlite.prepare(sql.replace(/\$\d+/g, '?'));
    if (statement.reader) return statement.all(...params);
    statement.run(...params);
    return [];
  },
};
