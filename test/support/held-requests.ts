import type { Page } from 'playwright-core';

/**
 * Holds the page's first request to `pattern` until the returned function is called, which
 * lets it through, waits until it is, and stops holding: what a test checks while a change is
 * saving.
 */
export async function holdRequests(page: Page, pattern: string): Promise<() => Promise<void>> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let passed!: () => void;
  const through = new Promise<void>((resolve) => (passed = resolve));
  await page.route(pattern, async (route) => {
    await held;
    await route.continue();
    passed();
  });
  return async () => {
    release();
    await through;
    await page.unroute(pattern);
  };
}
