/**
 * Keeps a new visitor's cookie on a Node response whatever the application does to the
 * set-cookie header afterwards. A set-cookie list given to writeHead or to setHeader replaces
 * the one on the response: the standard `res.setHeader('Set-Cookie', serialize(...))` of the
 * `cookie` package, Express's `res.set('Set-Cookie', ...)`, or a framework writing its own list.
 * The visitor would then never get the id their exposure was recorded under, and count as a new
 * user on every request.
 */

const KEEPS_VISITOR = Symbol('tracks.keepsVisitor');

/**
 * Wraps `raw`'s writeHead and setHeader (once, on this response only: other requests cost
 * nothing) so that a set-cookie list with no cookie of the visitor cookie's name gets ours
 * added. A list that has one (ours, or ours rewritten by a middleware that adds `Partitioned`,
 * or the application clearing it) is the application's choice and goes out as given, and so
 * does every other cookie it leaves out: nothing it removed comes back. For Express, whose
 * response is the raw one.
 *
 * @example
 * ```ts
 * res.appendHeader('set-cookie', ours);
 * keepVisitorCookie(res, 'tracks_visitor', ours);
 * res.setHeader('Set-Cookie', 'theme=dark'); // sends theme=dark and ours
 * ```
 */
export function keepVisitorCookie(raw: object, name: string, ours: string): void {
  const response = raw as { writeHead: (...args: unknown[]) => unknown; setHeader: (name: string, value: unknown) => unknown; [KEEPS_VISITOR]?: true };
  if (response[KEEPS_VISITOR]) return;
  response[KEEPS_VISITOR] = true;
  const withOurs = (value: unknown): string[] | unknown => {
    const given = cookieList(value);
    return given.some((cookie) => cookieName(cookie) === name) ? value : [...given, ours];
  };
  const { writeHead, setHeader } = response;
  response.writeHead = function (this: unknown, ...args: unknown[]): unknown {
    // writeHead(status[, message][, headers]): its headers replace those of the same name set before.
    return Reflect.apply(writeHead, this, withSetCookie(args, withOurs));
  };
  response.setHeader = function (this: unknown, header: string, value: unknown): unknown {
    return Reflect.apply(setHeader, this, [header, typeof header === 'string' && header.toLowerCase() === 'set-cookie' ? withOurs(value) : value]);
  };
}

/** A set-cookie string's cookie name (what comes before its first '='), trimmed. */
function cookieName(cookie: string): string {
  const at = cookie.indexOf('=');
  return (at < 0 ? cookie : cookie.slice(0, at)).trim();
}

const KEEPS_COOKIES = Symbol('tracks.keepsCookies');

/**
 * Fastify's form: Fastify writes its own list of the reply's headers onto the raw response
 * (each header set anew for a streamed reply, or given to writeHead), which would replace the
 * cookies the application set on the raw response (a session middleware's). Wraps `raw`'s
 * writeHead and setHeader (once, on this response only: other requests cost
 * nothing) so that the cookies already on the response and ours all go out: writeHead's list
 * takes the response's cookies in, and setHeader keeps ours (and, for a list that holds ours
 * already, as a framework's copy of the response's list does, the response's cookies too).
 *
 * @example
 * ```ts
 * res.appendHeader('set-cookie', ours);
 * keepCookies(res, ours);
 * res.setHeader('Set-Cookie', 'theme=dark'); // sends theme=dark and ours
 * ```
 */
export function keepCookies(raw: object, ours: string): void {
  const response = raw as {
    writeHead: (...args: unknown[]) => unknown;
    setHeader: (name: string, value: unknown) => unknown;
    getHeader(name: string): unknown;
    [KEEPS_COOKIES]?: true;
  };
  if (response[KEEPS_COOKIES]) return;
  response[KEEPS_COOKIES] = true;
  const union = (first: readonly string[], then: readonly string[]) => [...first, ...then.filter((cookie) => !first.includes(cookie))];
  const { writeHead, setHeader } = response;
  response.writeHead = function (this: unknown, ...args: unknown[]): unknown {
    // writeHead(status[, message][, headers]): headers as a plain object (Fastify's list is one).
    return Reflect.apply(writeHead, this, withSetCookie(args, (value) => union(cookieList(response.getHeader('set-cookie')), cookieList(value))));
  };
  response.setHeader = function (this: unknown, name: string, value: unknown): unknown {
    if (typeof name === 'string' && name.toLowerCase() === 'set-cookie') {
      const given = cookieList(value);
      value = given.includes(ours) ? union(cookieList(response.getHeader('set-cookie')), given) : [...given, ours];
    }
    return Reflect.apply(setHeader, this, [name, value]);
  };
}

/**
 * writeHead's arguments with the set-cookie of its headers object (if any) replaced by
 * `change(value)`, in a copy: the object may be the application's, shared by every response
 * (a module-level constant), and a visitor's cookie written into it would go to everyone after.
 */
function withSetCookie(args: unknown[], change: (value: unknown) => unknown): unknown[] {
  const at = args.findIndex((a, i) => i > 0 && typeof a === 'object' && a !== null && !Array.isArray(a));
  if (at < 0) return args;
  const headers = args[at] as Record<string, unknown>;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === 'set-cookie');
  if (key === undefined) return args;
  const copy = [...args];
  copy[at] = { ...headers, [key]: change(headers[key]) };
  return copy;
}

/** A set-cookie header's value as a list of cookies. */
export function cookieList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}
