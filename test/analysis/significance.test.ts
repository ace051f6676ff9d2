import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mcnemarExactP, twoSidedNormalP } from '../../src/analysis/significance';

/** McNemar's p by exact rational arithmetic: 2·Σ_{i≤k} C(m,i) / 2^m with BigInt, an independent algorithm. */
function exactP(aOnly: number, bOnly: number): number {
  const m = aOnly + bOnly;
  if (m === 0) return 1;
  const k = Math.min(aOnly, bOnly);
  let c = 1n;
  let tail = 0n;
  for (let i = 0; i <= k; i++) {
    tail += c;
    c = (c * BigInt(m - i)) / BigInt(i + 1);
  }
  // 2·tail / 2^m as a double, keeping 60 significant bits of the quotient.
  const num = 2n * tail;
  const den = 1n << BigInt(m);
  const shift = BigInt(Math.max(0, den.toString(2).length - num.toString(2).length + 60));
  const p = Number((num << shift) / den) / 2 ** Number(shift);
  return Math.min(1, p);
}

test('McNemar exact p equals exact rational arithmetic, from tiny to large discordant counts', () => {
  for (const [a, b] of [
    [0, 0],
    [0, 1],
    [1, 0],
    [3, 3],
    [0, 7],
    [18, 34],
    [20, 21],
    [23, 74],
    [5, 40],
    [400, 470],
    [1500, 1620],
    [3000, 2890],
  ]) {
    const want = exactP(a, b);
    const got = mcnemarExactP(a, b);
    assert.ok(Math.abs(got - want) <= 1e-10 * Math.max(want, 1e-300) || Math.abs(got - want) < 1e-15, `${a}/${b}: ${got} vs ${want}`);
  }
  assert.equal(mcnemarExactP(0, 0), 1);
  assert.equal(mcnemarExactP(5, 5), 1);
});

test('two-sided normal p: the textbook values and the reference analysis z (Python math.erfc)', () => {
  assert.ok(Math.abs(twoSidedNormalP(1.959963984540054) - 0.05) < 1e-7);
  assert.ok(Math.abs(twoSidedNormalP(0) - 1) < 1e-7);
  assert.ok(Math.abs(twoSidedNormalP(-2.5758293035489) - 0.01) < 1e-8);
  // math.erfc(1.8613546151822384 / math.sqrt(2)) in CPython 3.11
  assert.ok(Math.abs(twoSidedNormalP(1.8613546151822384) - 0.06269411523711611) < 1e-7);
});
