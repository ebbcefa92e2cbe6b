/**
 * A small, honest timing harness: each case runs in rounds of a fixed number of operations
 * after a warm-up, and the median round gives nanoseconds per operation. Results from one
 * run are only compared with each other (ratios), never with fixed numbers.
 */
export interface Measurement {
  readonly name: string;
  readonly nsPerOp: number;
}

export function measure(name: string, op: (i: number) => unknown, options: { ops?: number; rounds?: number } = {}): Measurement {
  const ops = options.ops ?? 200_000;
  const rounds = options.rounds ?? 9;
  let sink = 0;
  const consume = (value: unknown): void => {
    if (value === sink) sink++;
  };
  for (let i = 0; i < ops; i++) consume(op(i)); // warm-up: let the JIT settle
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ops; i++) consume(op(i));
    times.push(Number(process.hrtime.bigint() - start) / ops);
  }
  times.sort((a, b) => a - b);
  if (sink === -1) console.log(sink);
  return { name, nsPerOp: times[Math.floor(times.length / 2)]! };
}

export function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(1)} ns`;
}

export function printTable(title: string, rows: readonly (readonly string[])[]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  console.log(`\n${title}`);
  for (const [i, row] of rows.entries()) {
    console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

/** Prints `ratio` against a target, marking whether it holds. */
export function verdict(label: string, ratio: number, target: number, direction: 'at most' | 'at least'): string {
  const ok = direction === 'at most' ? ratio <= target : ratio >= target;
  return `${ok ? 'PASS' : 'MISS'}  ${label}: ${ratio.toFixed(3)} (target ${direction} ${target})`;
}
