// configure(): a bad option, guardrails' included, is a TracksError
// naming it and the fix, thrown before the current configuration is replaced, which goes on
// recording; configure() twice sends each event to the configuration current when recorded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrackSet, TracksError, close, configure, convert, flush, memoryStore, sqliteStore, stats } from '../../src/index.js';

class G2Opts extends TrackSet {
  static override id = 'g2-opts';
  static b_track() {}
}

const exposures = (store: ReturnType<typeof memoryStore>) => store.events.filter((e) => e.kind === 'exposure').length;

test('a bad guardrails option is refused before the working configuration is replaced, which keeps recording', async () => {
  const store = memoryStore();
  configure({ store, outbox: false, handleSignals: false });
  new G2Opts({ key: 'before' }).run();
  const bad: Array<[unknown, RegExp]> = [
    [{ minRuns: 0 }, /guardrails\.minRuns is 0/],
    [{ maxErrorRateIncrease: 2 }, /guardrails\.maxErrorRateIncrease is 2/],
    [{ maxLatencyRatio: '2' }, /guardrails\.maxLatencyRatio is the string '2'/],
    [{ windowMs: NaN }, /guardrails\.windowMs is NaN/],
    [{ windowMs: Infinity }, /guardrails\.windowMs is Infinity; use a number from 1 to 86,400,000/],
    [{ minRuns: 2.5 }, /guardrails\.minRuns is 2\.5; use a whole number from 1/],
    [{ maxLatencyRatio: 0.5 }, /guardrails\.maxLatencyRatio is 0\.5; use a number of at least 1 \(default 2\)/],
    // a misspelt bound would otherwise be ignored, the guardrail judging by its default
    [{ maxErrorRate: 0.01 }, /unknown option 'maxErrorRate'.*maxErrorRateIncrease/],
    ['on', /guardrails is the string 'on'/],
    [5, /guardrails is 5/],
    [[], /guardrails is/],
  ];
  for (const [guardrails, message] of bad) {
    assert.throws(
      () => configure({ store: memoryStore(), outbox: false, handleSignals: false, guardrails: guardrails as never }),
      (e: unknown) => e instanceof TracksError && message.test(e.message) && /configure/.test(e.message),
      JSON.stringify(guardrails),
    );
  }
  new G2Opts({ key: 'after' }).run();
  convert({ key: 'after', metric: 'm' });
  await flush();
  assert.equal(exposures(store), 2, 'the first configuration still records');
  assert.equal(stats().written, store.events.length);
  // Good guardrails are taken.
  assert.doesNotThrow(() => configure({ store: memoryStore(), outbox: false, handleSignals: false, guardrails: { minRuns: 10, windowMs: 5_000 } }));
  assert.doesNotThrow(() => configure({ store: memoryStore(), outbox: false, handleSignals: false, guardrails: false }));
  await close();
});

test('a numeric option given as a string says it is a string', () => {
  assert.throws(
    () => configure({ store: memoryStore(), batchSize: '100' as never }),
    (e: unknown) => e instanceof TracksError && /batchSize is the string '100'; use a positive number/.test(e.message),
  );
});

test('configure() twice mid-stream: every event reaches the configuration current when it was recorded, once', async () => {
  const first = memoryStore();
  const second = memoryStore();
  configure({ store: first, outbox: false, handleSignals: false });
  for (let i = 0; i < 3000; i++) {
    new G2Opts({ key: `t-${i}` }).run();
    convert({ key: `t-${i}`, metric: 'm' });
  }
  configure({ store: second, outbox: false, handleSignals: false });
  for (let i = 0; i < 3000; i++) {
    new G2Opts({ key: `t-${i}` }).run(); // a new configuration forgets which keys were seen: the store skips repeats
    convert({ key: `t-${i}`, metric: 'm' });
  }
  await flush(); // waits for the first configuration's close too
  const conv = (s: ReturnType<typeof memoryStore>) => s.events.filter((e) => e.kind === 'conversion').length;
  assert.equal(conv(first), 3000);
  assert.equal(exposures(first), 3000);
  assert.equal(conv(second), 3000);
  assert.equal(exposures(second), 3000);
  const health = (s: ReturnType<typeof memoryStore>) =>
    s.events.reduce((n, e) => n + (e.kind === 'health' && e.trackSetId === 'g2-opts' ? e.runs : 0), 0);
  assert.equal(health(first), 3000);
  assert.equal(health(second), 3000);
  assert.equal(stats().written, second.events.length);
  await close();
});

test('a store string that is not a SQLite path is refused by configure(), not opened as a file of that name', async () => {
  const { mkdtempSync, readdirSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'g3-spec-'));
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const working = memoryStore();
    configure({ store: working, outbox: false, handleSignals: false });
    for (const [spec, message] of [
      ['mysql://app:secret@db/app', /mysql:\/\/ URL.*postgres:\/\//],
      ['redis://cache:6379', /redis:\/\/ URL/],
      ['sqlite://tracks.db', /path alone/],
      ['sqlite:', /no path/],
      ['file:///var/lib/tracks.db', /path alone/],
      [':memory:', /memoryStore\(\)/],
    ] as const) {
      assert.throws(
        () => configure({ store: spec, handleSignals: false }),
        (e: unknown) => e instanceof TracksError && message.test(e.message) && !e.message.includes('secret'),
        spec,
      );
    }
    assert.deepEqual(readdirSync(dir), [], 'nothing created in the working directory');
    process.chdir(cwd); // (SQLite's worker thread under tsx resolves tsx from the working directory)
    new G2Opts({ key: 'still' }).run();
    await flush();
    assert.equal(exposures(working), 1, 'the working configuration still records');
    // Paths that look odd but are paths still work.
    configure({ store: join(dir, 'a:b.db'), outbox: false, handleSignals: false });
    new G2Opts({ key: 'colon' }).run();
    await close();
    assert.equal(stats().written > 0, true);
    // sqlite:<path>, as a SQLite store describes itself, is that path.
    const described = sqliteStore(join(dir, 'described.db')).description;
    assert.equal(described, `sqlite:${join(dir, 'described.db')}`);
    configure({ store: described, outbox: false, handleSignals: false });
    new G2Opts({ key: 'described' }).run();
    await close();
    assert.ok(readdirSync(dir).includes('described.db'), 'written to the path it names');
  } finally {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('maxRetryDelay below retryDelay is refused; a retryDelay given alone above 5 s raises the longest wait with it', () => {
  assert.throws(
    () => configure({ store: memoryStore(), outbox: false, handleSignals: false, retryDelay: 1_000, maxRetryDelay: 500 }),
    /configure: maxRetryDelay \(500\) is less than retryDelay \(1000\)/,
  );
  const recorder = configure({ store: memoryStore(), outbox: false, handleSignals: false, retryDelay: 10_000 });
  assert.ok(recorder !== undefined, 'a long first wait alone is accepted');
  return close();
});
