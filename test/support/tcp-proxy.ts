import { createConnection, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

/** What the proxy does to traffic. */
export type ProxyFault =
  /** Forward everything. */
  | 'pass'
  /** Reset every open connection (RST), and every new one as it arrives. */
  | 'reset'
  /** Stop listening: new connections are refused; open ones are reset. */
  | 'refuse'
  /** Accept new connections but forward nothing, ever; open ones go silent too. */
  | 'blackhole'
  /** Open connections go silent (bytes are swallowed both ways, sockets stay open); new ones work. */
  | 'silent';

interface Pipe {
  readonly client: Socket;
  readonly upstream: Socket | undefined;
  muted: boolean;
}

/**
 * A TCP proxy between a client under test and a real server (PostgreSQL here), on 127.0.0.1,
 * that injects the faults a production network has: resets, refusals, blackholes, connections
 * that go silent, and a delay on every chunk. Each test owns its proxy.
 */
export class TcpProxy {
  readonly #target: { host: string; port: number };
  readonly #pipes = new Set<Pipe>();
  #server: Server;
  #port = 0;
  #fault: ProxyFault = 'pass';
  /** Milliseconds every chunk waits before it is forwarded, in both directions. */
  delayMs = 0;
  /**
   * Milliseconds a new connection's first chunk (its startup message) waits on top of
   * `delayMs`: the round trips of a TLS handshake and a password exchange over a long link.
   */
  handshakeMs = 0;
  /** Connections accepted so far. */
  accepted = 0;

  private constructor(target: { host: string; port: number }) {
    this.#target = target;
    this.#server = this.#newServer();
  }

  /** A proxy to `host:port`, listening on a free port of 127.0.0.1. */
  static async start(host: string, port: number): Promise<TcpProxy> {
    const proxy = new TcpProxy({ host, port });
    await proxy.#listen(0);
    return proxy;
  }

  /** The port clients connect to. */
  get port(): number {
    return this.#port;
  }

  /** `url` with its host and port replaced by the proxy's. */
  url(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.#port);
    return parsed.toString();
  }

  /** Injects a fault (or 'pass' to end it). */
  async set(fault: ProxyFault): Promise<void> {
    const before = this.#fault;
    this.#fault = fault;
    if (fault === 'reset' || fault === 'refuse') for (const pipe of this.#pipes) this.#reset(pipe);
    if (fault === 'blackhole' || fault === 'silent') for (const pipe of this.#pipes) pipe.muted = true;
    if (fault === 'refuse') await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    if (before === 'refuse' && fault !== 'refuse') {
      this.#server = this.#newServer();
      await this.#listen(this.#port);
    }
  }

  /** Closes everything. */
  async close(): Promise<void> {
    for (const pipe of this.#pipes) this.#reset(pipe);
    if (this.#fault !== 'refuse') await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #newServer(): Server {
    return createServer((client) => this.#accept(client));
  }

  async #listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  #accept(client: Socket): void {
    this.accepted++;
    client.on('error', () => {});
    if (this.#fault === 'reset') {
      client.resetAndDestroy();
      return;
    }
    if (this.#fault === 'blackhole') {
      // Accepted, and then nothing: the client waits for a server that never speaks.
      const pipe: Pipe = { client, upstream: undefined, muted: true };
      this.#pipes.add(pipe);
      client.on('close', () => this.#pipes.delete(pipe));
      client.on('data', () => {});
      return;
    }
    const upstream = createConnection(this.#target);
    upstream.on('error', () => client.destroy());
    const pipe: Pipe = { client, upstream, muted: false };
    this.#pipes.add(pipe);
    this.#forward(pipe, client, upstream, this.handshakeMs);
    this.#forward(pipe, upstream, client);
    const end = () => {
      this.#pipes.delete(pipe);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
  }

  /**
   * Forwards `from` to `to` in order, each chunk `delayMs` after it arrived (latency, as over a
   * long or congested link: chunks are in flight together), unless the pipe is muted.
   */
  #forward(pipe: Pipe, from: Socket, to: Socket, firstExtraMs = 0): void {
    let lastDue = 0;
    let extra = firstExtraMs;
    from.on('data', (chunk: Buffer) => {
      if (pipe.muted) return;
      if (this.delayMs === 0 && extra === 0 && lastDue <= Date.now()) {
        to.write(chunk);
        return;
      }
      const due = Math.max(Date.now() + this.delayMs + extra, lastDue);
      extra = 0;
      lastDue = due;
      setTimeout(() => {
        if (!pipe.muted && !to.destroyed) to.write(chunk);
      }, due - Date.now());
    });
  }

  #reset(pipe: Pipe): void {
    this.#pipes.delete(pipe);
    if (!pipe.client.destroyed) pipe.client.resetAndDestroy();
    pipe.upstream?.destroy();
  }
}
