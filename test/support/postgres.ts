// What the PostgreSQL tests share: the server's URL (tests skip without it), one-off queries,
// and schemas of their own that are dropped when the test file ends, so parallel runs never
// clash and the server is left as it was.
import { after } from 'node:test';
import pg from 'pg';

/** The test server (`TRACKS_TEST_POSTGRES_URL`); undefined when PostgreSQL tests are off. */
export const postgresUrl = process.env.TRACKS_TEST_POSTGRES_URL;

/** Why a PostgreSQL test is skipped. */
export const POSTGRES_SKIP = 'TRACKS_TEST_POSTGRES_URL is not set';

/** Runs one statement on a connection of its own; the rows. */
export async function sql<T extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * A function that names a fresh schema for this file's run (`tracks_<prefix><pid>_<time>_<name>`);
 * every schema it named is dropped when the file's tests end.
 */
export function schemasFor(prefix: string): (name: string) => string {
  const run = `${prefix}${process.pid}_${Date.now().toString(36)}`;
  const named: string[] = [];
  after(async () => {
    if (postgresUrl === undefined) return;
    for (const schema of named) await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });
  return (name) => {
    const schema = `tracks_${run}_${name}`;
    named.push(schema);
    return schema;
  };
}
