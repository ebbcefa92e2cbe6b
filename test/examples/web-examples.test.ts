// examples/express, examples/fastify and examples/hono run as written: each starts, serves the
// catalog to real HTTP requests on 127.0.0.1, credits a checkout to the shopper's track, and
// stops on SIGTERM with every event in its SQLite store.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sqliteStore } from '../../src/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const dir = mkdtempSync(join(tmpdir(), 'tracks-web-examples-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

for (const framework of ['express', 'fastify', 'hono']) {
  test(`examples/${framework} serves the coconut store and records what its shoppers did`, async () => {
    const storePath = join(dir, `${framework}.db`);
    const child = spawn(process.execPath, ['--import', TSX, join(ROOT, `examples/${framework}/server.ts`)], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', TRACKS_STORE: storePath, TRACKS_FORCE_SECRET: 'example-secret-0123456789' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const found = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (found) resolve(found[1]!);
      });
      void exited.then(() => reject(new Error(`examples/${framework} exited before listening:\n${errors}`)));
    });
    const shoppers = ['alice', 'bob', 'carol', 'dave', 'erin'];
    for (const shopper of shoppers) {
      const page = await fetch(`${url}/catalog`, { headers: { 'x-user-id': shopper } });
      assert.equal(page.status, 200);
      assert.ok(['control', 'short', 'long'].includes(((await page.json()) as { track: string }).track));
      const checkout = await fetch(`${url}/checkout`, { method: 'POST', headers: { 'x-user-id': shopper, 'content-type': 'application/json' }, body: JSON.stringify({ total: 12 }) });
      assert.equal(checkout.status, 200);
    }
    const forced = await fetch(`${url}/catalog`, { headers: { 'x-user-id': 'qa', 'x-tracks-force': 'web-catalog-delay=long', 'x-tracks-force-secret': 'example-secret-0123456789' } });
    assert.equal(((await forced.json()) as { track: string }).track, 'long');
    const anonymous = await fetch(`${url}/catalog`);
    assert.match(anonymous.headers.get('set-cookie') ?? '', /tracks_visitor=/);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, errors);
    assert.match(output, /catalog served, tracks \{"web-catalog-delay":"(control|short|long)"\}/);
    const store = sqliteStore(storePath);
    try {
      const [sums] = await store.summarize({ trackSetId: 'web-catalog-delay' });
      assert.equal(sums!.tracks.reduce((n, t) => n + t.users, 0), shoppers.length + 1, 'the shoppers and the anonymous visitor (QA was forced, not exposed)');
      assert.equal(sums!.tracks.reduce((n, t) => n + (t.metrics.get('purchase')?.converted ?? 0), 0), shoppers.length, "each checkout credited to its shopper's track");
    } finally {
      await store.close();
    }
  });
}
