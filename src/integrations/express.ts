import { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { runForced } from '../core/forcing.js';
import { runInScope } from '../core/request-scope.js';
import { keepVisitorCookie } from './kept-cookies.js';
import { reportUnknownForced, requestPlanner } from './request-tracks.js';
import type { RequestReader, TracksAdapterOptions } from './request-tracks.js';

export type { AnonymousKeyOptions, TracksAdapterOptions } from './request-tracks.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** The tracks chosen in this request so far, by track set id (for logging). Set by `tracks/express`. */
    tracks?: Readonly<Record<string, string>> | undefined;
  }
}

/** How the planner reads an Express request and writes its response. */
const EXPRESS: RequestReader<Request, Response> = {
  header: (req, name) => req.get(name),
  https: (req) => req.secure,
  setCookie: (_req, res, cookie) => {
    if (res.headersSent) return false;
    res.append('Set-Cookie', cookie);
    // A handler's res.setHeader('Set-Cookie', ...) after the run would replace it.
    keepVisitorCookie(res, cookie.slice(0, cookie.indexOf('=')), cookie);
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
    setChosen(req, planned.scope.chosen);
    const { forced, unknownSets } = planned;
    if (unknownSets !== undefined) res.once('close', () => reportUnknownForced('tracks/express', unknownSets));
    if (forced === undefined) runInScope(planned.scope, next);
    else runInScope(planned.scope, () => runForced(forced, next));
  };
}

/** The chosen tracks of each request the middleware saw, read through `req.tracks`. */
const chosenOf = new WeakMap<object, Readonly<Record<string, string>>>();
/** The last request prototype seen whose chain has the `tracks` accessor (Express swaps it per app). */
let lastPrototype: object | null = null;

/**
 * Sets `req.tracks` without adding an own property to the request: Express has swapped the
 * request's prototype (Object.setPrototypeOf), and a property added to such an object cost
 * 2.2-3.2 µs (measured), 3-4% of a small route on Express. The value lives in a WeakMap, read
 * by a `tracks` accessor on Express's root request object (the one every app's request
 * inherits from, just above IncomingMessage.prototype); a request of another shape (a test's
 * plain object) gets an own property.
 */
function setChosen(req: Request, chosen: Readonly<Record<string, string>>): void {
  const prototype = Object.getPrototypeOf(req) as object | null;
  if (prototype !== lastPrototype && !installAccessor(prototype)) {
    req.tracks = chosen;
    return;
  }
  lastPrototype = prototype;
  chosenOf.set(req, chosen);
}

/** Defines the `tracks` accessor on the root of `prototype`'s chain below IncomingMessage.prototype; false when there is none. */
function installAccessor(prototype: object | null): boolean {
  let root = prototype;
  while (root !== null && Object.getPrototypeOf(root) !== IncomingMessage.prototype) root = Object.getPrototypeOf(root) as object | null;
  if (root === null) return false;
  if (Object.getOwnPropertyDescriptor(root, 'tracks')?.get !== readChosen) {
    Object.defineProperty(root, 'tracks', { get: readChosen, set: writeChosen, configurable: true, enumerable: false });
  }
  return true;
}

function readChosen(this: object): Readonly<Record<string, string>> | undefined {
  return chosenOf.get(this);
}

function writeChosen(this: object, value: Readonly<Record<string, string>>): void {
  chosenOf.set(this, value);
}
