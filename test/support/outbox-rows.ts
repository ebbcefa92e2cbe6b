import BetterSqlite3 from 'better-sqlite3';

/** Rows still waiting in an outbox file, read straight from it. */
export function outboxRows(path: string): number {
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM tracks_outbox').get() as { n: number }).n;
  } finally {
    db.close();
  }
}
