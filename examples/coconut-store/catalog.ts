// The coconut store of the seed README: a catalog page, its users, and the store's clock.

export interface Coconut {
  readonly name: string;
  price: number;
}

export interface CatalogResponse {
  readonly coconuts: Coconut[];
}

export interface User {
  readonly id: string;
  readonly isVip: boolean;
}

/** Renders the catalog: a fresh response per request. */
export function renderCoconutCatalog(): CatalogResponse {
  return {
    coconuts: [
      { name: 'King coconut', price: 12 },
      { name: 'Green coconut', price: 8 },
      { name: 'Coconut water, 6-pack', price: 15 },
    ],
  };
}

/** The demo runs the seed's delays (0.5 s and 2 s) a thousand times faster. */
export const TIME_SCALE = 1 / 1000;

export function sleep(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000 * TIME_SCALE));
}
