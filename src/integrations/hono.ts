import type { Context as HonoContext, MiddlewareHandler } from 'hono';
import { forceTracks } from '../core/forcing.js';
import { runInScope } from '../core/request-scope.js';
import { requestPlanner } from './request-tracks.js';
import type { TracksAdapterOptions } from './request-tracks.js';

export type { AnonymousKeyOptions, TracksAdapterOptions } from './request-tracks.js';

/** The variables this middleware sets on the context: `c.get('tracks')`. */
export interface TracksVariables {
  /** The tracks chosen in this request so far, by track set id (for logging). */
  tracks: Readonly<Record<string, string>>;
}

/**
 * Hono middleware (on `@hono/node-server`, or any runtime with AsyncLocalStorage): every request
 * runs in a tracks scope, so `new DelayTracks()` with no key uses the request's key and context
 * and `convert({ metric })` credits it; `c.get('tracks')` lists the tracks chosen. Opt-in:
 * `anonymousKey`, and QA forcing with `x-tracks-force` (`forceSecret`; refused with 403 otherwise).
 *
 * @example
 * ```ts
 * import { tracks } from 'tracks/hono';
 * const app = new Hono<{ Variables: TracksVariables }>();
 * app.use(tracks({ key: (c) => c.req.header('x-user-id'), anonymousKey: true }));
 * app.get('/catalog', (c) => c.json({ track: new DelayTracks().name, tracks: c.get('tracks') }));
 * ```
 */
export function tracks<Context = unknown>(options: TracksAdapterOptions<HonoContext, Context> = {}): MiddlewareHandler<{ Variables: TracksVariables }> {
  const plan = requestPlanner('tracks/hono', options);
  return async (c, next) => {
    // On @hono/node-server, headers are read from Node's own request: building a Fetch Headers
    // object for them costs more than everything else the middleware does.
    const incoming = (c.env as { incoming?: { headers?: Record<string, string | string[] | undefined> } } | undefined)?.incoming?.headers;
    const header = incoming === undefined ? (name: string) => c.req.header(name) : (name: string) => {
      const value = incoming[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    let cookie: string | undefined;
    const planned = plan(c, {
      header,
      https: () => c.req.url.startsWith('https:'),
      setCookie: (value) => {
        cookie = value;
        c.header('set-cookie', value, { append: true });
      },
    });
    if (planned.refuse) return c.text(planned.refuse.message, planned.refuse.status);
    c.set('tracks', planned.scope.chosen);
    const { forced } = planned;
    await runInScope(planned.scope, () => (forced === undefined ? next() : forceTracks(forced, () => next())));
    // A handler that returns its own Response skips the headers set on the context.
    if (cookie !== undefined && !(c.res.headers.get('set-cookie') ?? '').includes(cookie)) c.res.headers.append('set-cookie', cookie);
    return undefined;
  };
}
