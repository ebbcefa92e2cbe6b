// The track sets of the web examples (examples/express, examples/fastify, examples/hono): their
// context comes from the request scope the framework adapter opens, so it is optional here and
// `new CatalogDelayTracks()` needs no arguments in a handler.
import { TrackSet } from 'tracks';
import { renderCoconutCatalog, type CatalogResponse } from './catalog.js';

/** Who is shopping, as each adapter's `context` reads it from the request. */
export interface Shopper {
  readonly vip: boolean;
}

/** The seed's question: does a slower catalog page sell fewer coconuts? VIPs are never slowed. */
export class CatalogDelayTracks extends TrackSet<Shopper | undefined> {
  static override id = 'web-catalog-delay';
  static short_track(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, 5));
  }
  static long_track(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, 20));
  }
  override get isEligible(): boolean {
    return this.context?.vip !== true;
  }
}

/** The page every example serves: the catalog, after the chosen delay. */
export async function catalogPage(): Promise<CatalogResponse & { track: string }> {
  const delay = new CatalogDelayTracks(); // the request's key and context, from the adapter's scope
  await delay.run();
  return { ...renderCoconutCatalog(), track: delay.name };
}
