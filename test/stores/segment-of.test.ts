// PostgreSQL names each grouped row's segment from its stored dimensions in JS (segmentOf), as
// SQLite's json_extract reads them in SQL: the two must agree on every stored form.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { segmentOf } from '../../src/stores/summary-rows.js';

test('segmentOf reads a dimension as json_extract does, and gives empty for none', () => {
  const db = new Database(':memory:');
  const extract = db.prepare("SELECT COALESCE(json_extract(NULLIF(?, ''), ?), '') AS v");
  const cases: Array<[string, string]> = [
    ['{"country":"de","plan":"pro"}', 'country'],
    ['{"country":"de"}', 'plan'],
    ['{"__proto__":"x","constructor":"y"}', '__proto__'],
    ['{"__proto__":"x","constructor":"y"}', 'constructor'],
    ['{"toString":"z"}', 'toString'],
    ['{"a.b":"dot","a":{"b":"nested"}}', 'a.b'],
    ['{"emoji":"😀","quote":"it\'s \\"q\\""}', 'quote'],
    ['{"country":"ü"}', 'country'],
    ['', 'country'],
  ];
  for (const [dimensions, by] of cases) {
    const expected = String((extract.get(dimensions, `$."${by}"`) as { v: string }).v);
    assert.equal(segmentOf(dimensions, by), expected, `${dimensions} by ${by}`);
  }
  db.close();
  assert.equal(segmentOf(null, 'country'), '');
  assert.equal(segmentOf('not json', 'country'), '', 'rows not written by tracks name no segment rather than fail the report');
  assert.equal(segmentOf('"a string"', 'country'), '');
});
