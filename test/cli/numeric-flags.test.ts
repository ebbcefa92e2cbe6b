// Every numeric flag of every command takes plain decimal digits (whole numbers for counts):
// Number() alone would read '' and ' ' as 0, '0x10' as 16, '1e3' as 1000, and take 'Infinity'.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../../src/cli/run-cli.js';

async function cli(...args: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const code = await runCli(args, { stdout: () => {}, stderr: (t) => err.push(t), env: {} });
  return { code, err: err.join('\n') };
}

// The flags are checked before any store is opened or module loaded, so none needs to exist.
const store = '/nonexistent/tracks.db';
const module = '/nonexistent/sets.js';
const plan = ['plan', '--baseline', '0.05', '--mde', '0.1'];

test('numbers that Number() would take are refused, naming the flag, the value and what to give', async () => {
  const cases: [string[], RegExp][] = [
    [['report', '--store', store, '--alpha', ''], /^tracks report: --alpha is ''; give a number from 0\.000000001 to 0\.5, in decimal digits$/],
    [['report', '--store', store, '--alpha', ' '], /^tracks report: --alpha is ' '; give a number from/],
    [['report', '--store', store, '--alpha', '0x10'], /--alpha is '0x10'; give a number/],
    [['report', '--store', store, '--alpha', '1e-2'], /--alpha is '1e-2'; give a number/],
    [['report', '--store', store, '--cuped-window', 'Infinity'], /--cuped-window is 'Infinity'; give a number from 0\.1 to 366/],
    [['report', '--store', store, '--trackset', 'x', '--phase', '1e0'], /--phase is '1e0'; give a whole number from 1 to 1000000000, in decimal digits/],
    [['report', '--store', store, '--trackset', 'x', '--phase', '2.0'], /--phase is '2\.0'; give a whole number/],
    [['dashboard', '--store', store, '--alpha', 'Infinity'], /--alpha is 'Infinity'; give a number/],
    [['dashboard', '--store', store, '--port', '0x10'], /^tracks dashboard: --port is '0x10'; give a whole number from 0 to 65535, in decimal digits$/],
    [['dashboard', '--store', store, '--port', ' 80'], /--port is ' 80'; give a whole number/],
    [[...plan, '--tracks', '0x10'], /--tracks is '0x10'; give a whole number from 2 to 1000/],
    [[...plan, '--tracks', '+3'], /--tracks is '\+3'; give a whole number from 2 to 1000/],
    [[...plan, '--tracks', '3.5'], /--tracks is '3\.5'; give a whole number from 2 to 1000/],
    [[...plan, '--daily', '1e3'], /--daily is '1e3'; give a whole number from 1 to 9007199254740991/],
    [[...plan, '--daily', 'Infinity'], /--daily is 'Infinity'; give a whole number/],
    [['plan', '--baseline', '', '--mde', '0.1'], /--baseline is ''; give a number \(or a percentage\) from 0\.000000001 to 0\.999999999/],
    [['plan', '--baseline', '5%%', '--mde', '0.1'], /--baseline is '5%%'; give a number \(or a percentage\)/],
    [['plan', '--baseline', '0.05', '--mde', '.1e1'], /--mde is '\.1e1'; give a number/],
    [[...plan, '--power', '+Infinity'], /--power is '\+Infinity'; give a number/],
    [[...plan, '--cuped-correlation', ' '], /--cuped-correlation is ' '; give a number/],
    [[...plan, '--cuped-correlation', '-1'], /--cuped-correlation is '-1'; give a number from 0 to 0\.999/],
    [[...plan, '--cuped-correlation', '-0.5'], /--cuped-correlation is '-0\.5'; a negative correlation helps as much as a positive one: give 0\.5/],
    [[...plan, '--cuped-correlation', '0.9999'], /--cuped-correlation is '0\.9999'; give a number from 0 to 0\.999/],
    [['simulate', module, '--count', '1e3'], /--count is '1e3'; give a whole number from 1 to 10000000, in decimal digits/],
    [['simulate', module, '--count', ''], /--count is ''; give a whole number/],
    [['simulate', module, '--coverage', '0x0'], /--coverage is '0x0'; give a number \(or a percentage\) from 0 to 1/],
    [['ramp', 'delay', '--store', store, '--coverage', ''], /--coverage is ''; give a share from 0 to 1/],
    [['ramp', 'delay', '--store', store, '--coverage', '0x1'], /--coverage is '0x1'; give a share/],
    [['ramp', 'delay', '--store', store, '--coverage', '1e-1%'], /--coverage is '1e-1%'; give a share/],
    [['ramp', 'delay', '--store', store, '--weights', 'long=1e3'], /--weights has 'long=1e3'; give the weight in decimal digits, e.g. --weights long=1/],
    [['ramp', 'delay', '--store', store, '--weights', 'long= '], /--weights has 'long= '; give the weight in decimal digits/],
    [['ramp', 'delay', '--store', store, '--weights', 'long=Infinity'], /--weights has 'long=Infinity'/],
  ];
  for (const [args, message] of cases) {
    const { code, err } = await cli(...args);
    const label = JSON.stringify(args);
    assert.equal(code, 2, `${label}: exit ${code}, ${err}`);
    assert.match(err, message, label);
    assert.equal(err.split('\n').length, 1, `${label}: one line, got ${err}`);
  }
});

test('plain decimals are still taken: a leading point, a percentage', async () => {
  const out: string[] = [];
  const code = await runCli(['plan', '--baseline', '.05', '--mde', '0.1', '--tracks', '3', '--daily', '1000', '--alpha', '0.05'], { stdout: (t) => out.push(t), stderr: (t) => out.push(t), env: {} });
  assert.equal(code, 0, out.join('\n'));
  assert.match(out.join('\n'), /users per track/);
  // A valid coverage gets past the flags to the store, which is missing here.
  const ramped = await cli('ramp', 'delay', '--store', store, '--coverage', '10%');
  assert.match(ramped.err, /no store at/);
});

test('tracks plan takes --baseline and --mde as percentages too, as tracks ramp takes --coverage', async () => {
  const out = async (...args: string[]) => {
    const lines: string[] = [];
    const code = await runCli(args, { stdout: (t) => lines.push(t), stderr: (t) => lines.push(t), env: {} });
    return { code, text: lines.join('\n') };
  };
  const percent = await out('plan', '--baseline', '5%', '--mde', '10%');
  const decimal = await out('plan', '--baseline', '0.05', '--mde', '0.1');
  assert.equal(percent.code, 0);
  assert.equal(percent.text, decimal.text);
});
