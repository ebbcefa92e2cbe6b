import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import {
  CONTENT_SECURITY_POLICY,
  SECURITY_HEADERS,
  TOKEN_COOKIE,
  checkAccess,
  csrfProblem,
  hostAllowed,
  isLoopbackHost,
  newSecret,
  parseCookies,
  sameSecret,
  tokenCookie,
  tokenCookieName,
  tokenCookieValue,
} from '../../src/dashboard/security.js';

/** Just enough of a request for the checks: method and headers. */
function request(method: string, headers: Record<string, string>): IncomingMessage {
  return { method, headers } as unknown as IncomingMessage;
}

test('loopback hosts: localhost, 127.0.0.0/8 and ::1; every-interface and public addresses are not', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]']) assert.equal(isLoopbackHost(host), true, host);
  for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', '128.0.0.1', '::ffff:8.8.8.8', '']) {
    assert.equal(isLoopbackHost(host), false, host);
  }
});

test('secrets compare equal only when identical, whatever their lengths', () => {
  const secret = newSecret();
  assert.equal(secret.length, 43);
  assert.notEqual(newSecret(), secret);
  assert.equal(sameSecret(secret, secret), true);
  assert.equal(sameSecret(`${secret}x`, secret), false);
  assert.equal(sameSecret(secret.slice(1), secret), false);
  assert.equal(sameSecret('', secret), false);
});

test('cookies are parsed, decoded, and the first of a repeated name wins', () => {
  const cookies = parseCookies(`a=1; ${TOKEN_COOKIE}=s%20t; b; a=2; bad=%E0%A4%A`);
  assert.equal(cookies.get('a'), '1');
  assert.equal(cookies.get(TOKEN_COOKIE), 's t');
  assert.equal(cookies.get('bad'), '%E0%A4%A');
  assert.equal(parseCookies(undefined).size, 0);
});

test('the token cookie is HttpOnly, SameSite=Strict and scoped to the whole site', () => {
  // Not the token: a value derived from it, under a name derived from it (one per token).
  const cookie = tokenCookie('abc def');
  assert.equal(cookie, `${tokenCookieName('abc def')}=${tokenCookieValue('abc def')}; HttpOnly; SameSite=Strict; Path=/`);
  assert.ok(!cookie.includes('abc'), cookie);
  assert.match(tokenCookieName('abc def'), new RegExp(`^${TOKEN_COOKIE}_[A-Za-z0-9_-]{12}$`));
  assert.notEqual(tokenCookieName('abc def'), tokenCookieName('another-token'));
});

test('access: everything is allowed without a token; with one, query, cookie or bearer header must hold it', () => {
  const url = (path: string) => new URL(path, 'http://127.0.0.1:4411');
  assert.deepEqual(checkAccess(request('GET', {}), url('/'), undefined), { kind: 'allowed' });
  const token = 'correct-horse-battery';
  assert.deepEqual(checkAccess(request('GET', {}), url('/'), token), { kind: 'denied' });
  assert.deepEqual(checkAccess(request('GET', {}), url(`/?token=${token}&x=1#/set/a`), token), { kind: 'set-cookie', location: '/?x=1' });
  // The redirect stays on this site whatever the path ('/.//evil.example/x' parses to '//evil.example/x').
  assert.deepEqual(checkAccess(request('GET', {}), url(`/.//evil.example/x?token=${token}`), token), { kind: 'set-cookie', location: '/evil.example/x' });
  assert.deepEqual(checkAccess(request('GET', {}), url('/?token=wrong'), token), { kind: 'denied' });
  const cookie = `${tokenCookieName(token)}=${tokenCookieValue(token)}`;
  assert.deepEqual(checkAccess(request('GET', { cookie }), url('/api/report'), token), { kind: 'allowed' });
  assert.deepEqual(checkAccess(request('GET', { cookie: `${tokenCookieName(token)}=nope` }), url('/api/report'), token), { kind: 'denied' });
  assert.deepEqual(checkAccess(request('GET', { cookie: `${tokenCookieName(token)}=${token}` }), url('/api/report'), token), { kind: 'denied' }, 'the raw token is not the cookie');
  assert.deepEqual(checkAccess(request('GET', { authorization: `Bearer ${token}` }), url('/api/report'), token), { kind: 'allowed' });
  assert.deepEqual(checkAccess(request('GET', { authorization: 'Bearer nope' }), url('/api/report'), token), { kind: 'denied' });
  // A wrong Bearer is not rescued by a right cookie: one credential, checked once.
  assert.deepEqual(checkAccess(request('GET', { authorization: 'Bearer nope', cookie }), url('/'), token), { kind: 'denied' });
  // Another scheme is a proxy's (basic auth in front of the dashboard): the cookie still counts.
  assert.deepEqual(checkAccess(request('GET', { authorization: 'Basic Zm9vOmJhcg==', cookie }), url('/'), token), { kind: 'allowed' });
  assert.deepEqual(checkAccess(request('GET', { authorization: 'Basic Zm9vOmJhcg==' }), url('/'), token), { kind: 'denied' });
});

test('Host check: without a token only the loopback names of our port (DNS rebinding); with one, any', () => {
  assert.equal(hostAllowed('127.0.0.1:4411', 4411, false), true);
  assert.equal(hostAllowed('localhost:4411', 4411, false), true);
  assert.equal(hostAllowed('[::1]:4411', 4411, false), true);
  assert.equal(hostAllowed('127.0.0.1:4412', 4411, false), false);
  assert.equal(hostAllowed('evil.example:4411', 4411, false), false);
  assert.equal(hostAllowed('evil.example', 80, false), false);
  assert.equal(hostAllowed(undefined, 4411, false), false);
  assert.equal(hostAllowed('dashboard.internal:4411', 4411, true), true);
});

test('CSRF: POST, JSON, the secret in X-CSRF-Token, and same origin when the browser says', () => {
  const secret = newSecret();
  const good = { host: '127.0.0.1:4411', 'content-type': 'application/json', 'x-csrf-token': secret };
  assert.equal(csrfProblem(request('POST', good), secret), null);
  assert.equal(csrfProblem(request('POST', { ...good, origin: 'http://127.0.0.1:4411', 'sec-fetch-site': 'same-origin' }), secret), null);
  assert.match(csrfProblem(request('GET', good), secret)!, /POST/);
  assert.match(csrfProblem(request('POST', { ...good, 'content-type': 'text/plain' }), secret)!, /application\/json/);
  assert.match(csrfProblem(request('POST', { ...good, 'x-csrf-token': 'guess' }), secret)!, /CSRF/);
  const { 'x-csrf-token': _, ...noToken } = good;
  assert.match(csrfProblem(request('POST', noToken), secret)!, /CSRF/);
  assert.match(csrfProblem(request('POST', { ...good, origin: 'http://evil.example' }), secret)!, /another origin/);
  assert.match(csrfProblem(request('POST', { ...good, 'sec-fetch-site': 'cross-site' }), secret)!, /cross-site/);
});

test('every response carries a strict CSP (no inline script or style) and anti-sniffing, referrer and framing headers', () => {
  assert.equal(
    CONTENT_SECURITY_POLICY,
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  );
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe/);
  assert.equal(SECURITY_HEADERS['X-Content-Type-Options'], 'nosniff');
  assert.equal(SECURITY_HEADERS['Referrer-Policy'], 'no-referrer');
  assert.equal(SECURITY_HEADERS['X-Frame-Options'], 'DENY');
});
