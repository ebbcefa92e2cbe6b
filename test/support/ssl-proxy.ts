import { readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { TLSSocket, createSecureContext } from 'node:tls';
import { listenOnLoopback } from './loopback-proxy.js';
import type { LoopbackProxy } from './loopback-proxy.js';

/** PostgreSQL's SSLRequest code: the first 8 bytes of a client that asks for SSL. */
const SSL_REQUEST = 80877103;

/**
 * A PostgreSQL front on 127.0.0.1 that speaks SSL (answers SSLRequest with 'S' and ends TLS with
 * the tests' self-signed certificate, test/fixtures/tls) and forwards plain bytes to the real
 * server: SSL connections without configuring the server for SSL. Connect with
 * `?sslmode=no-verify`.
 */
export async function sslProxy(target: URL): Promise<LoopbackProxy> {
  const context = createSecureContext({
    key: readFileSync(new URL('../fixtures/tls/key.pem', import.meta.url)),
    cert: readFileSync(new URL('../fixtures/tls/cert.pem', import.meta.url)),
  });
  const sockets = new Set<Socket>();
  const server = createServer((raw) => {
    sockets.add(raw);
    raw.on('error', () => {}).on('close', () => sockets.delete(raw));
    raw.once('data', (first: Buffer) => {
      if (first.length !== 8 || first.readInt32BE(4) !== SSL_REQUEST) return void raw.destroy();
      raw.write('S');
      const secure = new TLSSocket(raw, { isServer: true, secureContext: context });
      const upstream = createConnection({ host: target.hostname, port: Number(target.port || 5432) });
      sockets.add(upstream);
      for (const socket of [secure, upstream]) {
        socket.on('error', () => {}).on('close', () => {
          secure.destroy();
          upstream.destroy();
          sockets.delete(upstream);
        });
      }
      secure.pipe(upstream);
      upstream.pipe(secure);
    });
  });
  return listenOnLoopback(server, sockets, { sslmode: 'no-verify' });
}
