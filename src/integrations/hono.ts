import type { Context as HonoContext, MiddlewareHandler } from 'hono';
import { runForced } from '../core/forcing.js';
import { runInScope } from '../core/request-scope.js';
import { reportUnknownForced, requestPlanner } from './request-tracks.js';
import type { RequestReader, TracksAdapterOptions } from './request-tracks.js';

export type { AnonymousKeyOptions, TracksAdapterOptions } from './request-tracks.js';

// `c.get('tracks')` typed on any app, as Express's `req.tracks` and Fastify's `request.tracks`
// are: a plain `new Hono()` would otherwise take no key but its declared Variables.
declare module 'hono' {
  interface ContextVariableMap {
    /** The tracks chosen in this request so far, by track set id (for logging). Set by `tracks/hono`. */
    tracks: Readonly<Record<string, string>>;
  }
}

/**
 * The variables this middleware sets on the context: `c.get('tracks')` (declared for every app too).
 *
 * @example
 * ```ts
 * const app = new Hono<{ Variables: TracksVariables }>();
 * app.use(tracks({ key: (c) => c.req.header('x-user-id') }));
 * app.get('/checkout', (c) => c.json({ tracks: c.get('tracks') }));
 * ```
 */
export interface TracksVariables {
  /** The tracks chosen in this request so far, by track set id (for logging). */
  tracks: Readonly<Record<string, string>>;
}

/** The visitor cookie a request set, if any: appended again to a Response the handler made itself. */
interface SentCookie {
  cookie?: string | undefined;
}

/** How the planner reads a Hono request and writes its response. */
const HONO: RequestReader<HonoContext, SentCookie> = {
  header: (c, name) => {
    // On @hono/node-server, headers are read from Node's own request: building a Fetch Headers
    // object for them costs more than everything else the middleware does.
    const incoming = (c.env as { incoming?: { headers?: Record<string, string | string[] | undefined> } } | undefined)?.incoming?.headers;
    if (incoming === undefined) return c.req.header(name);
    const value = incoming[name];
    return Array.isArray(value) ? value.join(', ') : value;
  },
  https: (c) => c.req.url.startsWith('https:'),
  setCookie: (c, sent, cookie) => {
    // The response exists already (a first run inside a stream): its headers cannot change.
    if (c.finalized) return false;
    try {
      c.header('set-cookie', cookie, { append: true });
    } catch {
      return false;
    }
    sent.cookie = cookie;
    return true;
  },
};

/**
 * Hono middleware (on `@hono/node-server`, or any runtime with AsyncLocalStorage): every request
 * runs in a tracks scope, so `new DelayTracks()` with no key uses the request's key and context
 * and `convert({ metric })` credits it; `c.get('tracks')` lists the tracks chosen. Opt-in:
 * `anonymousKey`, and QA forcing with `x-tracks-force` (`forceSecret`; refused with 403 otherwise).
 *
 * @example
 * ```ts
 * import { tracks } from 'tracks/hono';
 * const app = new Hono();
 * app.use(tracks({ key: (c) => c.req.header('x-user-id'), anonymousKey: true }));
 * app.get('/catalog', (c) => c.json({ track: new DelayTracks().name, tracks: c.get('tracks') }));
 * ```
 */
export function tracks<Context = unknown>(options: TracksAdapterOptions<HonoContext, Context> = {}): MiddlewareHandler<{ Variables: TracksVariables }> {
  const plan = requestPlanner('tracks/hono', options, HONO);
  return async (c, next) => {
    const sent: SentCookie = {};
    const planned = plan(c, sent);
    if (planned.refuse) return c.text(planned.refuse.message, planned.refuse.status);
    c.set('tracks', planned.scope.chosen);
    const { forced } = planned;
    const { unknownSets } = planned;
    try {
      await (forced === undefined ? runInScope(planned.scope, next) : runInScope(planned.scope, () => runForced(forced, next)));
    } finally {
      // As Express's and Fastify's, on the response's end, whether the handler threw or not.
      if (unknownSets !== undefined) whenResponseEnds(c, () => reportUnknownForced('tracks/hono', unknownSets));
    }
    // A handler that returns its own Response skips the headers set on the context.
    const { cookie } = sent;
    if (cookie !== undefined && !(c.res.headers.get('set-cookie') ?? '').includes(cookie)) appendCookie(c, cookie);
    return undefined;
  };
}

/**
 * Calls `fn` once the response has ended: on @hono/node-server, when its Node response closes
 * (a streamed body goes on after the middleware returns, and a set may first run in it); on
 * other runtimes, now.
 */
function whenResponseEnds(c: HonoContext, fn: () => void): void {
  const outgoing = (c.env as { outgoing?: { once?: unknown; writableFinished?: boolean; destroyed?: boolean } } | undefined)?.outgoing;
  if (outgoing !== undefined && typeof outgoing.once === 'function' && outgoing.writableFinished !== true && outgoing.destroyed !== true) {
    (outgoing as { once(event: 'close', listener: () => void): unknown }).once('close', fn);
  } else {
    fn();
  }
}

/** Adds the visitor cookie to the response, copying a Response whose headers cannot change. */
function appendCookie(c: HonoContext, cookie: string): void {
  try {
    c.res.headers.append('set-cookie', cookie);
  } catch {
    // A Response from fetch() (a proxied upstream) has immutable headers: a copy of it does not.
    c.res = new Response(c.res.body, c.res);
    c.res.headers.append('set-cookie', cookie);
  }
}
