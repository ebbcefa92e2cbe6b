/**
 * Keeps a new visitor's cookie on a Node response whatever the application does to the
 * set-cookie header afterwards. A set-cookie list given to writeHead or to setHeader replaces
 * the one on the response: the standard `res.setHeader('Set-Cookie', serialize(...))` of the
 * `cookie` package, Express's `res.set('Set-Cookie', ...)`, or a framework writing its own list.
 * The visitor would then never get the id their exposure was recorded under, and count as a new
 * user on every request.
 */

const KEEPS_COOKIES = Symbol('tracks.keepsCookies');

/**
 * Wraps `raw`'s writeHead and setHeader (once, on this response only: other requests cost
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
    const headers = args.slice(1).find((a): a is Record<string, unknown> => typeof a === 'object' && a !== null && !Array.isArray(a));
    const name = headers === undefined ? undefined : Object.keys(headers).find((key) => key.toLowerCase() === 'set-cookie');
    if (headers !== undefined && name !== undefined) headers[name] = union(cookieList(response.getHeader('set-cookie')), cookieList(headers[name]));
    return Reflect.apply(writeHead, this, args);
  };
  response.setHeader = function (this: unknown, name: string, value: unknown): unknown {
    if (typeof name === 'string' && name.toLowerCase() === 'set-cookie') {
      const given = cookieList(value);
      value = given.includes(ours) ? union(cookieList(response.getHeader('set-cookie')), given) : [...given, ours];
    }
    return Reflect.apply(setHeader, this, [name, value]);
  };
}

/** A set-cookie header's value as a list of cookies. */
export function cookieList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}
