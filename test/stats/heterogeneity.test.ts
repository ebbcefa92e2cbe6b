import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { TracksError, heterogeneityTest } from '../../src/index.js';

interface Case {
  name: string;
  groups: Array<[number, number]>;
  q: number;
  pValue: number;
  pooled: number;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/stats/heterogeneity.json', import.meta.url), 'utf8')) as { cases: Case[] };

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1e-300, Math.abs(b));

test("Cochran's Q, its p-value and the pooled effect match scipy", () => {
  for (const c of fixture.cases) {
    const result = heterogeneityTest(c.groups.map(([estimate, standardError]) => ({ estimate, standardError })));
    assert.ok(result.ok, c.name);
    assert.ok(close(result.q, c.q), `${c.name}: Q ${result.q} vs ${c.q}`);
    assert.ok(close(result.pValue, c.pValue), `${c.name}: p ${result.pValue} vs ${c.pValue}`);
    assert.ok(close(result.pooled, c.pooled), `${c.name}: pooled`);
    assert.equal(result.degreesOfFreedom, c.groups.length - 1);
    assert.equal(result.iSquared, result.q > result.degreesOfFreedom ? (result.q - result.degreesOfFreedom) / result.q : 0);
  }
});

test('identical effects: Q is 0 and p is 1; one group cannot be tested', () => {
  const same = heterogeneityTest([{ estimate: 0.3, standardError: 0.1 }, { estimate: 0.3, standardError: 0.2 }]);
  assert.ok(same.ok && same.q === 0 && same.pValue === 1 && same.iSquared === 0);
  assert.deepEqual(heterogeneityTest([{ estimate: 1, standardError: 1 }]), { ok: false, reason: 'fewer than 2 groups to compare' });
});

test('bad groups throw a TracksError naming the group and field', () => {
  assert.throws(() => heterogeneityTest([{ estimate: 1, standardError: 0 }, { estimate: 1, standardError: 1 }]), (e: unknown) => e instanceof TracksError && /groups\[0\]\.standardError must be positive/.test(e.message));
  assert.throws(() => heterogeneityTest([{ estimate: NaN, standardError: 1 }]), (e: unknown) => e instanceof TracksError && /groups\[0\]\.estimate must be a finite number/.test(e.message));
});
