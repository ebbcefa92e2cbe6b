import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TracksError } from '../errors.js';
import type { Store } from '../model/store.js';
import type { DashboardReportOptions } from './api.js';
import { Assets } from './assets.js';
import { KnownSets } from './known-sets.js';
import { handleRequest } from './routes.js';
import type { RouteContext } from './routes.js';
import { isLoopbackHost, newSecret, TOKEN_PARAM, unbracketed } from './security.js';

/** Where and how the dashboard serves. */
export interface DashboardOptions {
  /** The store to read reports from and write stops to. Closed by {@link DashboardServer.close}. */
  readonly store: Store;
  /** The address to listen on (default 127.0.0.1; an IPv6 one with or without brackets, `::1` or `[::1]`). Anything but loopback needs a token. */
  readonly host?: string | undefined;
  /** The port (default 4411; 0 picks a free one). */
  readonly port?: number | undefined;
  /** A secret every request must carry; required to listen beyond loopback. */
  readonly token?: string | undefined;
  /** Report options (alpha, sequential, correction, baselines), as for `tracks report`. */
  readonly report?: DashboardReportOptions | undefined;
  /** The time a client has to send a whole request (default {@link REQUEST_TIMEOUT_MS}); shorter in tests. */
  readonly requestTimeoutMs?: number | undefined;
}

/** A running dashboard. */
export interface DashboardServer {
  /** The address to open, e.g. `http://127.0.0.1:4411/`. */
  readonly url: string;
  /** {@link url} with the token, for the first visit (the same as `url` without a token). */
  readonly openUrl: string;
  /** The address listened on, without brackets (`::1`). */
  readonly host: string;
  readonly port: number;
  /** Stops listening and closes the store. */
  close(): Promise<void>;
}

/** The time a client has to send a whole request, headers and body; then the connection is closed. */
const REQUEST_TIMEOUT_MS = 10_000;

/** The dashboard's default port. */
export const DEFAULT_PORT = 4411;

/**
 * Serves the dashboard: a page listing every track set, one view per set with its report,
 * charts and Stop/Resume buttons, and the JSON endpoints the page reads. Refuses to listen
 * beyond loopback without a token.
 *
 * @example
 * ```ts
 * const dashboard = await startDashboard({ store: storeFrom('tracks.db'), port: 0 });
 * console.log(dashboard.url);
 * await dashboard.close();
 * ```
 */
export async function startDashboard(options: DashboardOptions): Promise<DashboardServer> {
  const given = options.host ?? '127.0.0.1';
  // Listen on the address that was checked: isLoopbackHost reads `[::1]` as `::1`, and
  // server.listen would take the bracketed form for a host name to look up (ENOTFOUND).
  const host = unbracketed(given);
  const token = options.token;
  if (token !== undefined && token.length < 8) {
    throw new TracksError('the token is too short; use at least 8 characters, e.g. from `openssl rand -hex 16`');
  }
  if (!isLoopbackHost(host) && token === undefined) {
    throw new TracksError(`--host ${given} would expose the dashboard beyond this machine; add --token <secret> (every request then needs it)`);
  }
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TracksError(`port ${port} is not a port number (0 to 65535)`);

  let boundPort = port;
  const context: RouteContext = {
    store: options.store,
    report: options.report ?? {},
    token,
    csrfSecret: newSecret(),
    assets: new Assets(),
    knownSets: new KnownSets(),
    port: () => boundPort,
  };
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const server = createServer(
    // A request (a few hundred bytes of headers, a control body of a few dozen) arrives whole in
    // well under a second; Node's defaults (60 s for headers, 300 s in all, checked every 30 s)
    // let anyone who can connect hold sockets open by sending a byte now and then.
    {
      headersTimeout: requestTimeout,
      requestTimeout,
      connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.floor(requestTimeout / 4))),
    },
    (req, res) => void handleRequest(context, req, res),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new TracksError(`port ${port} on ${host} is in use; pick another with --port, or --port 0 for any free port`)
          : error.code === 'EADDRNOTAVAIL'
            ? new TracksError(`cannot listen on ${host}: no such address on this machine`)
            : error,
      );
    });
    server.listen(port, host, () => resolve());
  });
  boundPort = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${boundPort}/`;
  return {
    url,
    openUrl: token === undefined ? url : `${url}?${TOKEN_PARAM}=${encodeURIComponent(token)}`,
    host,
    port: boundPort,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await options.store.close();
    },
  };
}
