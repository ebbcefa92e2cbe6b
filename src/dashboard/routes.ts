import { messageOf } from '../errors.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, CONTROL_ACTIONS, applyControl, dimensionParam, dimensionsOf, overviewFor, parseControlRequest, reportFor } from './api.js';
import type { ControlAction, DashboardReportOptions } from './api.js';
import type { Assets } from './assets.js';
import type { KnownSets } from './known-sets.js';
import { pageHtml, tokenLandingHtml } from './page.js';
import { applySecurityHeaders, checkAccess, crossSiteProblem, csrfProblem, hostAllowed, tokenCookie } from './security.js';
import type { Store } from '../model/store.js';

/**
 * The dashboard's routes:
 *
 * | method | path                             | answer                                        |
 * | ------ | -------------------------------- | --------------------------------------------- |
 * | GET    | `/`                              | the page (views are chosen by the URL hash)   |
 * | GET    | `/assets/...`                    | the client's modules, stylesheet and Chart.js |
 * | GET    | `/api/overview`                  | the list of sets: users, status, warnings     |
 * | GET    | `/api/report`                    | the report of every track set                 |
 * | GET    | `/api/report?trackset=<id>`      | one track set's report with its timeline      |
 * | GET    | `/api/report?...&by=<dimension>` | the same, broken down by a dimension          |
 * | GET    | `/api/dimensions?trackset=<id>`  | `{ dimensions }`: the set's dimensions        |
 * | POST   | `/api/stop`                      | `{ trackSetId, serve? }`: stop a test         |
 * | POST   | `/api/resume`                    | `{ trackSetId }`: resume it                   |
 * | POST   | `/api/ramp`                      | `{ trackSetId, coverage?, weights? }`: ramp   |
 * | POST   | `/api/promote`                   | `{ trackSetId }`: a shadow set goes live      |
 *
 * Every POST changes state, so every one passes the same checks (security.ts: the token when
 * there is one, the CSRF secret, same origin, a JSON body). A request another site's page makes
 * is refused on every route but a navigation to the page (crossSiteProblem).
 */

/** What the request handler needs: the store, report options, secrets, assets. */
export interface RouteContext {
  readonly store: Store;
  readonly report: DashboardReportOptions;
  /** The access token, when one is required. */
  readonly token: string | undefined;
  /** This server's CSRF secret, embedded in the page. */
  readonly csrfSecret: string;
  readonly assets: Assets;
  /** The sets a report of this server listed: their views and actions skip the lookup that finds an unknown set. */
  readonly knownSets: KnownSets;
  /** The port the server listens on (for the Host check). */
  port(): number;
}

/** The largest request body accepted (a control request is a few dozen bytes). */
const MAX_BODY_BYTES = 16 * 1024;

/**
 * Answers one request: security checks first (headers, Host, token), then the route.
 * Never throws: failures become JSON or plain-text error responses.
 */
export async function handleRequest(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  applySecurityHeaders(res);
  try {
    await route(ctx, req, res);
  } catch (error) {
    if (error instanceof ApiError) return sendJson(res, error.status, { error: error.message });
    const message = messageOf(error);
    if (!res.headersSent) sendJson(res, 500, { error: message });
    else res.destroy();
  }
}

async function route(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!hostAllowed(req.headers.host, ctx.port(), ctx.token !== undefined)) {
    return sendText(res, 421, 'tracks dashboard: unexpected Host header; open the address the dashboard printed\n');
  }
  const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
  const crossSite = crossSiteProblem(req, url.pathname);
  if (crossSite !== null) throw new ApiError(403, crossSite);
  // The browser asks for an icon after any page, the token's 401 included, and may do so after
  // the token's cookie is set: 204 to everyone, so neither a 401 nor a 404 lands in its console.
  if (url.pathname === '/favicon.ico') {
    res.setHeader('Cache-Control', 'max-age=86400');
    res.writeHead(204).end();
    return;
  }
  const access = checkAccess(req, url, ctx.token);
  if (access.kind === 'denied') {
    res.setHeader('WWW-Authenticate', 'Bearer realm="tracks dashboard"');
    return sendText(res, 401, 'tracks dashboard: a token is required; open the address with ?token=<token>, as printed when it started\n');
  }
  if (access.kind === 'set-cookie') {
    res.setHeader('Set-Cookie', tokenCookie(ctx.token!));
    res.setHeader('Cache-Control', 'no-store');
    // A page of its own that moves on, not a redirect: Chromium does not send a SameSite=Strict
    // cookie along a redirect chain that began on another site (the printed address as a link
    // in a chat or a wiki), nor when the page it led to is reloaded. A move made by this page
    // is same-site.
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.writeHead(200).end(tokenLandingHtml(access.location));
    return;
  }

  const { pathname } = url;
  const action = controlActionOf(pathname);
  if (action !== undefined) {
    if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
    const problem = csrfProblem(req, ctx.csrfSecret);
    if (problem !== null) throw new ApiError(403, problem);
    const request = parseControlRequest(action, await readBody(req));
    const control = await applyControl(ctx.store, request, ctx.knownSets);
    return sendJson(res, 200, { control });
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD');
  if (pathname === '/') {
    res.setHeader('Cache-Control', 'no-store');
    return send(res, 200, 'text/html; charset=utf-8', pageHtml({ csrfToken: ctx.csrfSecret, modules: ctx.assets.clientModules }), req.method === 'HEAD');
  }
  if (pathname === '/api/overview') {
    const overview = await overviewFor(ctx.store, ctx.report);
    ctx.knownSets.note(overview);
    return sendJson(res, 200, overview);
  }
  if (pathname === '/api/report') {
    const trackSet = url.searchParams.get('trackset');
    const by = dimensionParam(url.searchParams.get('by'));
    const report = await reportFor(ctx.store, ctx.report, trackSet ?? undefined, by);
    ctx.knownSets.note(report);
    return sendJson(res, 200, report);
  }
  if (pathname === '/api/dimensions') {
    const trackSet = url.searchParams.get('trackset');
    if (trackSet === null || trackSet === '') throw new ApiError(400, 'trackset is required: /api/dimensions?trackset=<id>');
    return sendJson(res, 200, { dimensions: await dimensionsOf(ctx.store, trackSet, ctx.knownSets) });
  }
  if (pathname.startsWith('/assets/')) {
    const asset = await ctx.assets.get(pathname);
    if (asset !== undefined) {
      res.setHeader('Cache-Control', 'no-cache');
      return send(res, 200, asset.contentType, asset.body, req.method === 'HEAD');
    }
  }
  return sendText(res, 404, 'not found\n');
}

/** The control action a path names (`/api/stop`, ...), if it names one. */
function controlActionOf(pathname: string): ControlAction | undefined {
  return CONTROL_ACTIONS.find((action) => pathname === `/api/${action}`);
}

/** The request body as text; a body over the limit is drained unread and refused with 413. */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
      req.resume();
      return reject(new ApiError(413, 'the body is too large'));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => (size > MAX_BODY_BYTES ? reject(new ApiError(413, 'the body is too large')) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('Allow', allow);
  sendJson(res, 405, { error: `use ${allow}` });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.setHeader('Cache-Control', 'no-store');
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), false);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  send(res, status, 'text/plain; charset=utf-8', text, false);
}

function send(res: ServerResponse, status: number, contentType: string, body: string | Buffer, headOnly: boolean): void {
  // A refusal (no token, wrong host, too large...) does not read the body: close the connection
  // rather than drain whatever the client goes on sending.
  if (status >= 400 && !res.req.complete) res.setHeader('Connection', 'close');
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.writeHead(status);
  res.end(headOnly ? undefined : body);
}
