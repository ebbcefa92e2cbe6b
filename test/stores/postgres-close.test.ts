// close() of a PostgreSQL store whose server stopped answering: it ends, and the script that
// awaits it goes on. A probe of issue 9 saw `tracks stop` against a blackholed server end after
// 30 s with no word and exit code 13 (a top-level await that never settled): the read timed out,
// then close() waited for a connection still connecting, on a socket that does not hold the
// process open, so Node ran out of work mid-await.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./fixtures/close-after-timeout.ts', import.meta.url));
let blackhole: Server;
const held: Socket[] = [];

before(async () => {
  // Accepts, reads, never answers.
  blackhole = createServer((socket) => {
    held.push(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
});
after(() => {
  for (const socket of held) socket.destroy();
  blackhole.close();
});

function runScript(env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const port = (blackhole.address() as { port: number }).port;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, BLACKHOLE_PORT: String(port), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

for (const timeoutMs of [300, 3_000]) {
  test(`a read that timed out connecting (deadline ${timeoutMs} ms), then close(): close() resolves and the script ends normally`, async () => {
    const ran = await runScript({ TIMEOUT_MS: String(timeoutMs) });
    assert.deepEqual(ran.out.trim().split('\n'), [`rejected: tracks: postgres://postgres@127.0.0.1:${(blackhole.address() as { port: number }).port}/test did not answer in time`, 'closed'], ran.err);
    assert.equal(ran.code, 0, ran.err);
  });
}
