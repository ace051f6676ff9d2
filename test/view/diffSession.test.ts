import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { fixture, FIXTURES } from '../support/fixtures';
import * as path from 'path';
import { diffPaths } from '../../src/analysis/diff';
import { DiffSession } from '../../src/view/diffSession';
import { naturalLayout, channelOf } from '../../src/view/layout';
import { TensorSession } from '../../src/view/tensorSession';
import { pairCoding, elementDelta } from '../../src/view/pairCodes';

test('natural layout: channels × time for [B, D, L], out × in for weights, the channel of an element', () => {
  const act = naturalLayout([2, 1536, 64], 'ssm_input');
  assert.deepEqual([act.rows, act.cols, act.channelAxis, act.channels, act.rowLabel, act.colLabel], [3072, 64, 1, 1536, 'batch · channel', 'time']);
  assert.equal(channelOf(act, 1536 * 64 + 5 * 64 + 7), 5, 'batch 1, channel 5');
  const conv = naturalLayout([1536, 1, 4], 'weight');
  assert.deepEqual([conv.rows, conv.cols, conv.channelAxis, conv.channels], [1536, 4, 0, 1536]);
  assert.equal(channelOf(conv, 4 * 9 + 3), 9);
  const lin = naturalLayout([64, 48], 'x_proj');
  assert.deepEqual([lin.rows, lin.cols, lin.rowLabel, lin.colLabel], [64, 48, 'out channel', 'in feature']);
  assert.deepEqual([naturalLayout([1536], 'bias').channels, naturalLayout([], '').rows], [1536, 1]);
});

test('diff session: the per-channel profile of two torch-written block runs agrees with the diff figures', async () => {
  const a = fixture('block', 'reference_baseline.safetensors'),
    b = fixture('block', 'reference_mode2.safetensors');
  const report = await diffPaths(a, b);
  const s = new DiffSession(report);
  try {
    const pair = report.pairs.find((p) => p.name === 'conv_output')!;
    let progressed = 0;
    const prof = await s.profile(pair.key, { onProgress: (done, total) => (progressed = done / total) });
    assert.equal(progressed, 1, 'progress reaches the whole tensor');
    assert.equal(prof.unit, 'value', 'no scale in these files: |Δ| in the values’ unit');
    assert.deepEqual([prof.axis, prof.channels], [1, 64], '[1, 64, 48]: channels along axis 1');
    // The overall figures follow from the per-channel ones (48 time steps in each channel).
    assert.equal(Math.max(...prof.max), pair.max_abs_diff);
    const mean = prof.mean.reduce((x, y) => x + y, 0) / prof.channels;
    assert.ok(Math.abs(mean - pair.mean_abs_diff!) <= 1e-9 * pair.mean_abs_diff!, `${mean} vs ${pair.mean_abs_diff}`);
    assert.ok(Math.min(...prof.max) < Math.max(...prof.max), 'channels differ from each other: the profile is not flat');
    assert.equal(await s.profile(pair.key), prof, 'kept: asked again, not recomputed');
    const controller = new AbortController();
    controller.abort();
    const other = report.pairs.find((p) => p.name === 'delta')!;
    await assert.rejects(s.profile(other.key, { signal: controller.signal }), /cancel/i);
  } finally {
    s.dispose();
  }
});

test('diff session: int8 codes of two rounding rules give a profile and explanations in LSB', async () => {
  const dir = path.join(FIXTURES, 'rounding');
  const report = await diffPaths(path.join(dir, 'post_pow2_half_away.pt'), path.join(dir, 'post_pow2_half_even.pt'));
  const s = new DiffSession(report);
  try {
    const pair = report.pairs[0];
    const prof = await s.profile(pair.key);
    assert.equal(prof.unit, 'LSB');
    assert.equal(Math.max(...prof.max), pair.max_abs_int);
    const moved = prof.max.filter((m) => m > 0).length;
    assert.equal(moved, Math.round((pair.n! * (100 - pair.exact_pct!)) / 100), 'one channel per element of a 1-D tensor: the moved codes');
    const i = pair.largest![0].index;
    const e = await s.explain(pair.key, i);
    assert.deepEqual(e.coords, [i]);
    assert.equal(Math.abs(e.a.value - e.b.value), pair.largest![0].abs_diff);
    assert.equal(e.a.class, 'code');
    assert.match(e.a.steps[0], /int8 tensor: the value is the code itself/);
    await assert.rejects(s.explain(pair.key, pair.n!), /outside/);
  } finally {
    s.dispose();
  }
});

test('diff session: both values of a Mamba element explained on each run’s own grid', async () => {
  const report = await diffPaths(fixture('torch-2.11', 'mamba_conv1d/mode2'), fixture('torch-2.11', 'mamba_conv1d/mode1'));
  const s = new DiffSession(report);
  try {
    const pair = report.pairs.find((p) => p.key === 'layer23_conv1d_ssm_input.pt')!;
    const i = pair.largest![0].index;
    const e = await s.explain(pair.key, i);
    assert.deepEqual(e.coords, [0, Math.floor(i / 64), i % 64]);
    assert.equal(e.a.scale_source, pair.scale_source_a);
    assert.ok(e.a.steps.some((l) => /round half to even/.test(l)));
    assert.equal(e.a.class, 'exact', 'Mode 2 holds on-grid values');
    assert.equal(e.b.class, 'off_grid', 'Mode 1 feeds the SSM in FP32: off the output grid');
    assert.equal(e.a.q, e.b.q, 'codes equal (the pair reports 100 % codes equal) while the values differ');
  } finally {
    s.dispose();
  }
});

test('diff session: the pair overview read with the profile holds, per tile, the largest |Δ|, where it is and how many elements differ', async () => {
  const cases = [
    { a: fixture('block', 'reference_baseline.safetensors'), b: fixture('block', 'reference_mode2.safetensors'), name: 'conv_output' },
    { a: path.join(FIXTURES, 'rounding', 'post_pow2_half_away.pt'), b: path.join(FIXTURES, 'rounding', 'post_pow2_half_even.pt'), name: undefined },
  ];
  for (const c of cases) {
    const report = await diffPaths(c.a, c.b);
    const s = new DiffSession(report);
    try {
      const pair = c.name ? report.pairs.find((p) => p.name === c.name)! : report.pairs[0];
      const cols = c.name ? naturalLayout(pair.shape!, pair.name).cols : 64; // a 1-D tensor wraps as the heatmap wraps it
      const prof = await s.profile(pair.key, { cols });
      const o = prof.overview!;
      assert.equal(o.measure, 'delta');
      assert.deepEqual([o.n, o.cols], [pair.n, cols]);
      // Brute force over both runs' values, element by element, with the pair's own coding.
      const coding = pairCoding(pair);
      const ta = new TensorSession(c.a),
        tb = new TensorSession(c.b);
      try {
        const va = (await ta.page(pair.name, 0, pair.n!)).values,
          vb = (await tb.page(pair.name, 0, pair.n!)).values;
        const peak = new Float64Array(o.peak.length),
          differ = new Uint32Array(o.peak.length),
          at = new Float64Array(o.peak.length).fill(-1);
        for (let i = 0; i < pair.n!; i++) {
          const d = Math.abs(elementDelta(coding, va[i], vb[i]));
          const t = Math.floor(Math.floor(i / o.cols) / o.rowsPerTile) * o.tileCols + Math.floor((i % o.cols) / o.colsPerTile);
          if (at[t] < 0 || d > peak[t]) {
            peak[t] = d;
            at[t] = i;
          }
          if (d !== 0) differ[t]++;
        }
        assert.deepEqual([...o.peak], [...peak].map(Math.fround), `${pair.key}: largest |Δ| per tile`);
        assert.deepEqual([...o.at], [...at], `${pair.key}: where each tile's largest |Δ| is`);
        assert.deepEqual([...o.problems], [...differ], `${pair.key}: elements that differ per tile`);
        const differing = [...differ].reduce((x, y) => x + y, 0);
        assert.ok(differing > 0 && differing < pair.n!, `${pair.key}: some elements differ, not all (${differing})`);
        if (pair.exact_pct !== undefined && pair.exact_pct !== null && coding.lsb)
          assert.equal(differing, Math.round((pair.n! * (100 - pair.exact_pct)) / 100), 'as many as the diff counts');
        assert.equal(Math.max(...o.peak), coding.lsb ? pair.max_abs_int : pair.max_abs_diff);
      } finally {
        ta.dispose();
        tb.dispose();
      }
      assert.equal(await s.profile(pair.key, { cols }), prof, 'kept with its overview');
      assert.equal((await s.profile(pair.key)).overview, undefined, 'no columns, no overview');
      await assert.rejects(s.profile(pair.key, { cols: 0 }), /columns must be a positive integer/);
    } finally {
      s.dispose();
    }
  }
});
