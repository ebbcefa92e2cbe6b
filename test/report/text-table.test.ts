import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signedPercent } from '../../src/report/text-table.js';
import { signedPercent as dashboardSignedPercent } from '../../src/dashboard/client/dom.js';

test('signedPercent: a change that rounds to zero carries no sign, in the report and the dashboard', () => {
  for (const format of [signedPercent, dashboardSignedPercent]) {
    assert.equal(format(0), '0.0%');
    assert.equal(format(-0.0004), '0.0%');
    assert.equal(format(0.0004), '0.0%');
    assert.equal(format(0.0005 + 1e-12), '+0.1%');
    assert.equal(format(-0.0123), '-1.2%');
    assert.equal(format(0.5), '+50.0%');
  }
  assert.equal(signedPercent(Infinity), '+inf');
  assert.equal(dashboardSignedPercent(-Infinity), '−∞');
});
