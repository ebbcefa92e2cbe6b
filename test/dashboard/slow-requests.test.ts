/**
 * Someone who can connect (anyone, once the dashboard listens beyond loopback with a token)
 * must not hold its sockets open for minutes by sending a request a byte at a time, or by
 * declaring a large body it then trickles: Node's defaults allowed 60 s for headers and 300 s
 * for a whole request, and a refused request's body was drained to its end.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { startDashboard } from '../../src/dashboard/dashboard-server.js';
import type { DashboardServer } from '../../src/dashboard/dashboard-server.js';
import { memoryStore } from '../../src/index.js';

const TOKEN = 'a-long-enough-test-token';
const LIMIT_MS = 1_500;
let dashboard: DashboardServer;

before(async () => {
  // The server's limit, shortened from its 10 s default so that the test does not wait it out.
  dashboard = await startDashboard({ store: memoryStore(), port: 0, token: TOKEN, requestTimeoutMs: LIMIT_MS });
});

after(async () => {
  await dashboard?.close();
});

/**
 * Sends `head`, then `drip` every 500 ms until the server closes the connection (or `limitMs`
 * passes); returns when it closed (null if it did not) and the status line it answered with.
 */
function trickle(head: string, drip: string, limitMs: number): Promise<{ closedAfterMs: number | null; status: string }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(dashboard.port, '127.0.0.1');
    let answer = '';
    const timer = setInterval(() => socket.writable && socket.write(drip), 500);
    const done = (closedAfterMs: number | null) => {
      clearInterval(timer);
      clearTimeout(limit);
      socket.destroy();
      resolve({ closedAfterMs, status: answer.split('\r\n')[0] ?? '' });
    };
    const limit = setTimeout(() => done(null), limitMs);
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('close', () => done(Date.now() - started));
    socket.on('error', () => {});
    socket.write(head);
  });
}

test('slow requests are cut off: headers or a body sent a byte at a time, a refused request with a large body', async () => {
  const host = `Host: 127.0.0.1:${dashboard.port}\r\n`;
  const page = await (await fetch(dashboard.url, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  const csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(page)![1]!;
  const limit = LIMIT_MS + 4_000;
  const [headers, body, refused] = await Promise.all([
    trickle(`GET / HTTP/1.1\r\n${host}`, 'X-Padding: a\r\n', limit),
    trickle(
      `POST /api/stop HTTP/1.1\r\n${host}Authorization: Bearer ${TOKEN}\r\nX-CSRF-Token: ${csrf}\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{`,
      ' ',
      limit,
    ),
    // No token: refused at once, and the connection with it, not once 100 MB have come in.
    trickle(`POST /api/stop HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n`, 'x'.repeat(1000), limit),
  ]);
  // Behaviour, not speed: each connection is closed by the server within the bounded wait
  // (Node's defaults would hold the first two for 60 and 300 s, and read the third's 100 MB).
  assert.notEqual(headers.closedAfterMs, null, 'slow headers held the connection past the request timeout');
  assert.notEqual(body.closedAfterMs, null, 'a slow body held the connection past the request timeout');
  assert.match(refused.status, /^HTTP\/1\.1 401 /);
  assert.notEqual(refused.closedAfterMs, null, "a refused request's body was read on");
});

test('a request sent at once is answered as before, on a connection kept alive', async () => {
  const first = await fetch(new URL('/api/report', dashboard.url), { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.notEqual(first.headers.get('connection'), 'close');
  await first.text();
});
