import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { runForced } from '../core/forcing.js';
import { runInScope } from '../core/request-scope.js';
import { reportUnknownForced, requestPlanner } from './request-tracks.js';
import type { RequestReader, TracksAdapterOptions } from './request-tracks.js';

export type { AnonymousKeyOptions, TracksAdapterOptions } from './request-tracks.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** The tracks chosen in this request so far, by track set id (for logging). Set by `tracks/express`. */
    tracks?: Readonly<Record<string, string>>;
  }
}

/** How the planner reads an Express request and writes its response. */
const EXPRESS: RequestReader<Request, Response> = {
  header: (req, name) => req.get(name),
  https: (req) => req.secure,
  setCookie: (_req, res, cookie) => {
    if (res.headersSent) return false;
    res.append('Set-Cookie', cookie);
    return true;
  },
};

/**
 * Express middleware: every request runs in a tracks scope, so `new DelayTracks()` with no key
 * uses the request's key and context and `convert({ metric })` credits it; `req.tracks` lists
 * the tracks chosen (for logging). Opt-in: an anonymous visitor cookie (`anonymousKey`) and QA
 * forcing with `x-tracks-force` (`forceSecret`; refused with 403 otherwise).
 *
 * @example
 * ```ts
 * import { tracks } from 'tracks/express';
 * app.use(tracks({ key: (req) => req.get('x-user-id'), context: (req) => ({ plan: req.get('x-plan') }), anonymousKey: true }));
 * app.get('/catalog', async (req, res) => {
 *   const delay = new DelayTracks();
 *   await delay.run();
 *   res.json({ tracks: req.tracks });
 * });
 * ```
 */
export function tracks<Context = unknown>(options: TracksAdapterOptions<Request, Context> = {}): RequestHandler {
  const plan = requestPlanner('tracks/express', options, EXPRESS);
  return (req: Request, res: Response, next: NextFunction): void => {
    const planned = plan(req, res);
    if (planned.refuse) {
      res.status(planned.refuse.status).type('text/plain').send(planned.refuse.message);
      return;
    }
    req.tracks = planned.scope.chosen;
    const { forced, unknownSets } = planned;
    if (unknownSets !== undefined) res.once('close', () => reportUnknownForced('tracks/express', unknownSets));
    if (forced === undefined) runInScope(planned.scope, next);
    else runInScope(planned.scope, () => runForced(forced, next));
  };
}
