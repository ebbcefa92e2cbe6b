import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { runForced } from '../core/forcing.js';
import { TracksError, messageOf } from '../errors.js';
import { currentScope, runInScope } from '../core/request-scope.js';
import type { ScopeState } from '../core/request-scope.js';
import { cookieList, keepCookies } from './kept-cookies.js';
import { reportUnknownForced, requestPlanner } from './request-tracks.js';
import type { RequestReader, TracksAdapterOptions } from './request-tracks.js';

export type { AnonymousKeyOptions, TracksAdapterOptions } from './request-tracks.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The tracks chosen in this request so far, by track set id (for logging). Set by
     * `tracks/fastify` in its onRequest hook: null before it, absent in routes outside the
     * context the plugin was registered in (a sibling plugin's).
     */
    tracks?: Readonly<Record<string, string>> | null | undefined;
  }
}

/**
 * The request's scope, kept on the request so that each hook can enter it again. Declared with
 * decorateRequest, as Fastify asks: a property added to some requests only would give requests
 * two shapes, and slow every property read of Fastify's own.
 */
const SCOPE = Symbol('tracks.scope');
interface Scoped {
  [SCOPE]: { readonly state: ScopeState; readonly forced: Readonly<Record<string, string>> | undefined } | null;
}

/** How the planner reads a Fastify request and writes its reply. */
const FASTIFY: RequestReader<FastifyRequest, FastifyReply> = {
  header: (request, name) => {
    const value = request.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  },
  https: (request) => request.protocol === 'https',
  setCookie: (_request, reply, cookie) => {
    if (reply.sent || reply.raw.headersSent) return false;
    // In Fastify's list (sent with a streamed reply, which sets the list's headers one by one on
    // the raw response) and on the raw response (sent by a route that hijacks the reply).
    void reply.header('set-cookie', cookie);
    const raw = reply.raw;
    // appendHeader came to HTTP/2 responses in Node 20.12; before it, add to what is there.
    if (typeof raw.appendHeader === 'function') raw.appendHeader('set-cookie', cookie);
    else raw.setHeader('set-cookie', [...cookieList(raw.getHeader('set-cookie')), cookie]);
    keepCookies(raw, cookie);
    return true;
  },
};

/**
 * Fastify plugin: every request runs in a tracks scope, so `new DelayTracks()` with no key
 * uses the request's key and context and `convert({ metric })` credits it; `request.tracks`
 * lists the tracks chosen. Fastify runs a request through several callbacks, and
 * AsyncLocalStorage is lost between them (notably around body parsing), so the scope is opened
 * in `onRequest` and entered again in `preValidation` and `preHandler`. It applies to the
 * context it is registered in, not encapsulated (register it on the root instance to cover the
 * whole application; inside a child plugin it covers that plugin and its children). Opt-in: `anonymousKey`, and QA forcing with
 * `x-tracks-force` (`forceSecret`; refused with 403 otherwise).
 *
 * @example
 * ```ts
 * import { tracksPlugin } from 'tracks/fastify';
 * await app.register(tracksPlugin, { key: (request) => request.headers['x-user-id'], anonymousKey: true });
 * app.get('/catalog', async (request) => ({ track: new DelayTracks().name, tracks: request.tracks }));
 * ```
 */
export const tracksPlugin: FastifyPluginCallback<TracksAdapterOptions<FastifyRequest>> = Object.assign(
  (fastify: FastifyInstance, options: TracksAdapterOptions<FastifyRequest>, done: (error?: Error) => void): void => {
    // Fastify passes its own register options too (prefix, logLevel, logSerializers): the rest are ours.
    const { prefix: _prefix, logLevel: _logLevel, logSerializers: _logSerializers, ...ours } = options as TracksAdapterOptions<FastifyRequest> & Record<string, unknown>;
    let plan: ReturnType<typeof requestPlanner<FastifyRequest, FastifyReply, unknown>>;
    try {
      plan = requestPlanner('tracks/fastify', ours, FASTIFY);
    } catch (error) {
      // A bad option fails registration (app.register / app.ready reject), not the process.
      done(error as Error);
      return;
    }
    try {
      fastify.decorateRequest('tracks', null);
      fastify.decorateRequest(SCOPE, null);
    } catch (error) {
      // Fastify refuses a second decoration on one path (registered at the root and again in a
      // child, or twice): said as ours, through registration, not thrown out of it.
      done(
        new TracksError(
          `tracks/fastify: the plugin is registered already in this context or a parent of it (${messageOf(error)}); register it once, on the root instance to cover the whole application, or in sibling plugins, each with its own options`,
        ),
      );
      return;
    }
    fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction) => {
      const planned = plan(request, reply);
      if (planned.refuse) {
        void reply.code(planned.refuse.status).type('text/plain; charset=utf-8').send(planned.refuse.message);
        return;
      }
      request.tracks = planned.scope.chosen;
      (request as unknown as Scoped)[SCOPE] = { state: planned.scope, forced: planned.forced };
      const { unknownSets } = planned;
      if (unknownSets !== undefined) reply.raw.once('close', () => reportUnknownForced('tracks/fastify', unknownSets));
      enter(request, next);
    });
    fastify.addHook('preValidation', (request: FastifyRequest, _reply: FastifyReply, next: HookHandlerDoneFunction) => enter(request, next));
    fastify.addHook('preHandler', (request: FastifyRequest, _reply: FastifyReply, next: HookHandlerDoneFunction) => enter(request, next));
    done();
  },
  // What fastify-plugin sets: the hooks apply to the context registering the plugin (the whole application from the root), not an encapsulated one.
  { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'tracks' },
);

/** Continues the request inside its scope (and its QA overrides). */
function enter(request: FastifyRequest, next: HookHandlerDoneFunction): void {
  const scoped = (request as unknown as Scoped)[SCOPE];
  if (scoped === null) return next();
  const { state, forced } = scoped;
  // A GET's hooks run one inside the other, synchronously: the scope is entered already, and
  // entering it again would cost an AsyncLocalStorage switch per hook (a body, parsed in the
  // socket's context, is what loses it).
  if (forced === undefined && currentScope() === state) return next();
  if (forced === undefined) runInScope(state, next);
  else runInScope(state, () => runForced(forced, next));
}
