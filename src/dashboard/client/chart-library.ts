/**
 * Chart.js (this package's copy of its UMD build, which defines the global `Chart`), loaded
 * when a view is about to draw charts rather than by every page: the list of track sets draws
 * none, and parsing and running the library took a fresh page's renderer 200-300 ms of CPU,
 * time taken from the store's summary when both share a machine.
 *
 * @example
 * ```ts
 * await loadChartLibrary();
 * for (const chart of view.charts) chart.draw();
 * ```
 */
export function loadChartLibrary(): Promise<void> {
  loading ??= new Promise<void>((resolve, reject) => {
    const script = document.createElement('script');
    script.src = '/assets/chart.umd.js';
    script.addEventListener('load', () => resolve());
    script.addEventListener('error', () => {
      loading = undefined; // the next view tries again
      reject(new Error('the charting library (/assets/chart.umd.js) did not load'));
    });
    document.head.append(script);
  });
  return loading;
}

let loading: Promise<void> | undefined;
