import type { AddressInfo, Server, Socket } from 'node:net';

/** A proxy of a test's own, listening: the URL of the server behind it through it, and its end. */
export interface LoopbackProxy {
  /** `base` with its host and port replaced by the proxy's (and `query` set). */
  url(base: string): string;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

/**
 * Starts `server` on a free port of 127.0.0.1 and returns how to reach it and end it; `sockets`
 * are the connections it holds, destroyed at the end.
 *
 * @example
 * ```ts
 * const proxy = await listenOnLoopback(createServer(relay), sockets, { sslmode: 'no-verify' });
 * const store = postgresStore(proxy.url(databaseUrl));
 * ```
 */
export async function listenOnLoopback(server: Server, sockets: Set<Socket>, query: Readonly<Record<string, string>> = {}): Promise<LoopbackProxy> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (base) => {
      const proxied = new URL(base);
      proxied.host = `127.0.0.1:${port}`;
      for (const [name, value] of Object.entries(query)) proxied.searchParams.set(name, value);
      return proxied.toString();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
