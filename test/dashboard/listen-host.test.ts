// `--host [::1]` (the bracketed form a URL uses) is loopback, so it needs no token; the
// dashboard must then listen on ::1, not ask DNS for a host named "[::1]" (getaddrinfo
// ENOTFOUND), and show the URL with the brackets, as `--host ::1` does.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startDashboard } from '../../src/dashboard/dashboard-server.js';
import { isLoopbackHost, unbracketed } from '../../src/dashboard/security.js';
import { TrackSet, close, configure, sqliteStore } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-dashboard-host-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

/** Whether this machine can listen on IPv6 loopback at all (a plain server, nothing of tracks). */
function ipv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}

class Greeting extends TrackSet {
  static override id = 'listen-host-greeting';
  static short_track() {
    return 'hi';
  }
}

/** A store with one run recorded: the CLI opens only a store that holds tracks data. */
async function smallStore(name: string): Promise<string> {
  const path = join(dir, name);
  configure({ store: path, outbox: false, handleSignals: false });
  new Greeting({ key: 'u1' }).run();
  await close();
  return path;
}

test('the address checked is the address listened on: brackets are dropped, and only around something', () => {
  assert.equal(unbracketed('[::1]'), '::1');
  assert.equal(unbracketed('::1'), '::1');
  assert.equal(unbracketed('127.0.0.1'), '127.0.0.1');
  assert.equal(unbracketed('[]'), '[]');
  assert.equal(isLoopbackHost('[::1]'), isLoopbackHost(unbracketed('[::1]')));
});

test('startDashboard and tracks dashboard listen on [::1] as on ::1, with no token, and show the URL bracketed', async () => {
  const db = await smallStore('ipv6.db');
  if (!(await ipv6Loopback())) {
    // No IPv6 loopback here: the bracketed form must still reach listen() unbracketed, so the
    // failure is "no such address" for ::1, not a DNS lookup of the name "[::1]".
    await assert.rejects(startDashboard({ store: sqliteStore(db), host: '[::1]', port: 0 }), (e: Error) => {
      assert.doesNotMatch(e.message, /ENOTFOUND|getaddrinfo|\[::1\]/);
      assert.match(e.message, /::1/);
      return true;
    });
    return;
  }
  for (const host of ['[::1]', '::1']) {
    const dashboard = await startDashboard({ store: sqliteStore(db), host, port: 0 });
    try {
      assert.equal(dashboard.host, '::1');
      assert.equal(dashboard.url, `http://[::1]:${dashboard.port}/`);
      assert.equal(dashboard.openUrl, dashboard.url, 'loopback: no token');
      const page = await fetch(dashboard.url);
      assert.equal(page.status, 200, host);
    } finally {
      await dashboard.close();
    }
  }

  // The CLI end to end: it prints the URL, serves it, and stops on SIGTERM.
  const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
  const child = spawn(process.execPath, [main, 'dashboard', '--store', db, '--host', '[::1]', '--port', '0'], {
    env: { ...process.env, TRACKS_DASHBOARD_TOKEN: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const line = await Promise.race([
      new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve)),
      exited.then((code) => Promise.reject(new Error(`tracks dashboard exited ${code}: ${stderr}`))),
    ]);
    const url = /^tracks dashboard: (http:\/\/\[::1\]:\d+\/) /.exec(line)?.[1];
    assert.ok(url !== undefined, line);
    assert.equal((await fetch(url)).status, 200);
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, stderr);
});
