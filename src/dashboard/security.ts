import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';

/**
 * The dashboard's security model, in one place:
 *
 * - **Where it listens.** Loopback by default; any other address needs a token.
 * - **Who may read.** With a token, every request carries it: once as `?token=` (which sets an
 *   HttpOnly, SameSite=Strict cookie and a page that moves on to the same URL without it), then in the
 *   cookie or an `Authorization: Bearer` header. Compared in constant time. The cookie holds a
 *   value derived from the token, not the token, under a name derived from it: browsers send a
 *   host's cookies to all its ports, so other services there see neither the token nor a name
 *   another dashboard (another token) would overwrite.
 * - **Which host names.** Without a token, only the loopback names the server listens on are
 *   accepted in the Host header, so a web page cannot reach it through DNS rebinding.
 * - **Which sites.** A browser says which site a request comes from (`Sec-Fetch-Site`); another
 *   site's page may open the page itself by a link, nothing else: its requests to the API or the
 *   assets would otherwise still run the report's queries (CORP only hides the answer), letting
 *   it load the store and time the answers (whether a set id exists).
 * - **Who may change state.** Stop, resume, ramp and promote are POSTs carrying a per-server
 *   CSRF secret (embedded in the page's meta tag, sent back as a header), from the page's own
 *   origin.
 * - **What the page may do.** A strict Content-Security-Policy (no inline script or style,
 *   nothing from other origins), no sniffing, no referrer, no framing.
 */

/** The Content-Security-Policy of every response. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The headers every response carries. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** The prefix of the cookie that carries access after the first visit (see {@link tokenCookieName}). */
export const TOKEN_COOKIE = 'tracks_dashboard_token';
/** The query parameter that carries the access token on the first visit. */
export const TOKEN_PARAM = 'token';
/** The request header the page sends its CSRF secret in. */
export const CSRF_HEADER = 'x-csrf-token';

/**
 * Whether `host` only ever reaches this machine: `localhost`, 127.0.0.0/8 or `::1`.
 * `0.0.0.0` and `::` listen on every interface, so they are not loopback.
 *
 * @example
 * ```ts
 * isLoopbackHost('127.0.0.1'); // true
 * isLoopbackHost('0.0.0.0');   // false
 * ```
 */
export function isLoopbackHost(host: string): boolean {
  const h = unbracketed(host).toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

/**
 * `host` without the square brackets a URL puts around an IPv6 address (`[::1]` is `::1`): the
 * form `server.listen` and `isIP` take. Anything else is returned as given.
 *
 * @example
 * ```ts
 * unbracketed('[::1]'); // '::1'
 * unbracketed('127.0.0.1'); // '127.0.0.1'
 * ```
 */
export function unbracketed(host: string): string {
  return host.replace(/^\[(.+)\]$/, '$1');
}

/**
 * Whether two secrets are equal, in time that does not depend on where they differ (both are
 * hashed first, so their lengths do not leak either).
 *
 * @example
 * ```ts
 * if (!sameSecret(presented, expected)) return deny();
 * ```
 */
export function sameSecret(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** A fresh random secret, URL- and header-safe (256 bits). */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Parses a Cookie header into name/value pairs (the first of a repeated name wins). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name === '' || cookies.has(name)) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      cookies.set(name, decodeURIComponent(raw));
    } catch {
      cookies.set(name, raw);
    }
  }
  return cookies;
}

/** What a request's credentials amount to. */
export type Access =
  | { readonly kind: 'allowed' }
  /** The token came in the query string: set the cookie and move on to `location` (routes.ts). */
  | { readonly kind: 'set-cookie'; readonly location: string }
  | { readonly kind: 'denied' };

/**
 * Checks a request against the access token (always allowed when there is none): a valid
 * `?token=` leads to setting the cookie; otherwise the cookie or an `Authorization: Bearer`
 * header must hold it.
 */
export function checkAccess(req: IncomingMessage, url: URL, token: string | undefined): Access {
  if (token === undefined) return { kind: 'allowed' };
  const fromQuery = url.searchParams.get(TOKEN_PARAM);
  if (fromQuery !== null) {
    if (!sameSecret(fromQuery, token)) return { kind: 'denied' };
    const rest = new URL(url.href);
    rest.searchParams.delete(TOKEN_PARAM);
    // One leading slash: '//evil.example/x' would lead to another site.
    return { kind: 'set-cookie', location: `/${rest.pathname.replace(/^\/+/, '')}${rest.search}` };
  }
  // A Bearer header is the credential when present; another scheme (a proxy's Basic) is not ours.
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (bearer !== null) return sameSecret(bearer[1]!, token) ? { kind: 'allowed' } : { kind: 'denied' };
  const cookie = parseCookies(req.headers.cookie).get(tokenCookieName(token));
  return cookie !== undefined && sameSecret(cookie, tokenCookieValue(token)) ? { kind: 'allowed' } : { kind: 'denied' };
}

/** The cookie's name for this token: the prefix and a short digest, so two dashboards (tokens) on one host keep their own. */
export function tokenCookieName(token: string): string {
  return `${TOKEN_COOKIE}_${derived(token, 'cookie name').slice(0, 12)}`;
}

/** The cookie's value for this token: derived from it, so the token itself never travels in a cookie. */
export function tokenCookieValue(token: string): string {
  return derived(token, 'cookie value');
}

function derived(token: string, purpose: string): string {
  return createHmac('sha256', token).update(`tracks dashboard ${purpose}`).digest('base64url');
}

/** The Set-Cookie header value that keeps access for later requests (a session cookie). */
export function tokenCookie(token: string): string {
  return `${tokenCookieName(token)}=${tokenCookieValue(token)}; HttpOnly; SameSite=Strict; Path=/`;
}

/**
 * Whether the Host header names this server. Without a token the dashboard only answers to the
 * loopback names of its port, which stops DNS rebinding (a page on evil.example whose name
 * resolves to 127.0.0.1 sends `Host: evil.example`). With a token any name is accepted: the
 * token is what protects it.
 */
export function hostAllowed(hostHeader: string | undefined, port: number, tokenRequired: boolean): boolean {
  if (tokenRequired) return true;
  if (hostHeader === undefined) return false;
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostHeader.trim());
  if (match === null) return false;
  const [, name, portText] = match;
  return isLoopbackHost(name!) && Number(portText ?? 80) === port;
}

/**
 * Whether a state-changing request may proceed: POST, a JSON body (so a cross-site form cannot
 * send it without a CORS preflight), the page's CSRF secret in the `X-CSRF-Token` header, and,
 * when the browser says where it came from, this server's own origin.
 * Returns null when it may, else the reason it may not.
 */
export function csrfProblem(req: IncomingMessage, csrfSecret: string): string | null {
  if (req.method !== 'POST') return 'state changes must be POST requests';
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== 'application/json') return 'the body must be application/json';
  const presented = req.headers[CSRF_HEADER];
  if (typeof presented !== 'string' || !sameSecret(presented, csrfSecret)) return 'missing or wrong CSRF token; reload the page';
  const fetchSite = req.headers['sec-fetch-site'];
  if (fetchSite !== undefined && fetchSite !== 'same-origin') return `cross-site request (${String(fetchSite)})`;
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let originHost: string;
    try {
      originHost = new URL(origin).host;
    } catch {
      return `bad Origin header '${origin}'`;
    }
    if (originHost !== req.headers.host) return `request from another origin (${origin})`;
  }
  return null;
}

/**
 * Whether a request a browser made for another site's page may proceed (Fetch Metadata): only a
 * top-level navigation to the page (`/`: a link to the dashboard, the printed `?token=` address)
 * may; requests without `Sec-Fetch-Site` (curl, scripts, older browsers), typed addresses
 * (`none`) and the page's own requests (`same-origin`) are not concerned.
 * Returns null when it may, else the reason it may not.
 */
export function crossSiteProblem(req: IncomingMessage, pathname: string): string | null {
  const site = req.headers['sec-fetch-site'];
  if (site === undefined || site === 'same-origin' || site === 'none') return null;
  const dest = req.headers['sec-fetch-dest'];
  const opensPage =
    pathname === '/' && (req.method === 'GET' || req.method === 'HEAD') && req.headers['sec-fetch-mode'] === 'navigate' && (dest === undefined || dest === 'document');
  return opensPage ? null : `a request from another site (Sec-Fetch-Site: ${String(site)}); only a link to the page itself is followed`;
}

/** Sets the security headers on a response. */
export function applySecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
}
