import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { FIXTURES } from '../support/fixtures';
import { cli } from '../support/cli';
import { fingerprintRounding } from '../../src/analysis/rounding';

const DIR = path.join(FIXTURES, 'rounding');
const expected = JSON.parse(fs.readFileSync(path.join(DIR, 'expected.json'), 'utf8'));
const POW2 = String(expected.sets.pow2.scale);
const S2 = '0.0121623231';

test('rounding names the function PyTorch used: torch.round, floor(v + 0.5), sign·floor(|v| + 0.5), on data with many exact ties', async () => {
  for (const mode of ['half_even', 'half_up', 'half_away']) {
    const r = await cli('rounding', path.join(DIR, 'pre_pow2.pt'), path.join(DIR, `post_pow2_${mode}.pt`), '--scale', POW2, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(Object.keys(r.json).slice(0, 5), ['pre', 'post', 'pre_tensor', 'post_tensor', 'scale_source']);
    for (const k of ['n', 'ties', 'verdict', 'reciprocal', 'candidates']) assert.ok(k in r.json, k);
    assert.equal(r.json.verdict, mode);
    assert.equal(r.json.n, expected.sets.pow2.n);
    assert.equal(r.json.ties, expected.sets.pow2.ties);
    // A power-of-two scale: x/s and x·(1/s) are the same float, so how the kernel divided stays open.
    assert.equal(r.json.reciprocal, null);
    assert.equal(r.json.candidates.length, 10);
    for (const c of r.json.candidates) assert.equal(c.consistent, c.mode === mode, `${mode}: ${JSON.stringify(c)}`);
  }
});

test('rounding tells x/s from x·fl32(1/s) next to ties, and finds the scale stored beside the codes', async () => {
  const div = await cli('rounding', path.join(DIR, 'pre_near_ties.pt'), path.join(DIR, 'post_near_ties_div.pt'), '--scale', S2, '--json');
  const mul = await cli('rounding', path.join(DIR, 'pre_near_ties.pt'), path.join(DIR, 'post_near_ties_mul.pt'), '--scale', S2, '--json');
  assert.equal(div.json.verdict, 'half_even');
  assert.equal(div.json.reciprocal, false);
  assert.equal(mul.json.verdict, 'half_even');
  assert.equal(mul.json.reciprocal, true);
  const missesOfOther = div.json.candidates.find((c: any) => c.mode === 'half_even' && c.reciprocal).mismatches;
  assert.equal(missesOfOther, expected.sets.near_ties.codes_differ_div_vs_mul);
  const found = await cli('rounding', path.join(DIR, 'pre_near_ties.pt'), path.join(DIR, 'post_near_ties_div_with_scale.pt'), '--post-tensor', 'q', '--json');
  assert.equal(found.code, 0, found.stderr);
  assert.equal(found.json.scale_source, 'file:scale');
  assert.equal(found.json.verdict, 'half_even');
  const values = await cli('rounding', path.join(DIR, 'pre_near_ties.pt'), path.join(DIR, 'post_near_ties_div_values.pt'), '--scale', S2, '--json');
  assert.equal(values.json.verdict, 'half_even', 'on-grid FP32 values are read back to their codes');
  assert.equal(values.json.post_off_grid, 0);
});

test('without ties the half-rounding variants cannot be told apart: undetermined, and it says how many ties would decide', () => {
  const s = 2 ** -6;
  const pre = new Float32Array(2000);
  for (let i = 0; i < pre.length; i++) pre[i] = Math.fround((Math.sin(i * 12.9898) * 90 + 0.25 * Math.sign(Math.cos(i))) * s);
  const post = pre.map((x) => Math.max(-128, Math.min(127, Math.round(x / s))));
  const r = fingerprintRounding({ pre, post: Float32Array.from(post), postIsCodes: true, scale: s });
  assert.equal(r.ties, 0);
  assert.equal(r.verdict, 'undetermined');
  assert.deepEqual([...new Set(r.candidates.filter((c) => c.consistent).map((c) => c.mode))].sort(), ['half_away', 'half_even', 'half_up']);
  assert.equal(r.ties_needed, 2);
  assert.match(r.advice!, /no exact ties/);
});

test('codes no candidate explains (a wrong scale) are inconsistent, with the reason', async () => {
  const r = await cli('rounding', path.join(DIR, 'pre_near_ties.pt'), path.join(DIR, 'post_near_ties_div.pt'), '--scale', '0.013', '--json');
  assert.equal(r.code, 0);
  assert.equal(r.json.verdict, 'inconsistent');
  assert.equal(r.json.reciprocal, null);
  assert.ok(r.json.candidates.every((c: any) => !c.consistent && c.mismatches > 0));
  const noScale = await cli('rounding', path.join(DIR, 'pre_pow2.pt'), path.join(DIR, 'post_pow2_half_up.pt'), '--json');
  assert.equal(noScale.code, 2);
  assert.equal(noScale.json.error.code, 'scale-not-found');
});
