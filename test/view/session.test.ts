import * as path from 'path';
import * as fs from 'fs';
import * as os from 'os';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { fixture, expected, FIXTURES } from '../support/fixtures';
import { TensorSession } from '../../src/view/tensorSession';
import { problemsOf } from '../../src/view/diagnostics';
import { forEachLimited } from '../../src/view/concurrency';
import { verifyFile } from '../../src/analysis/verifyFile';
import { MAX_PAGE, ELEMENT_CLASSES } from '../../src/view/protocol';

test('tensor viewer session: tree, summary and pages of a real Mamba dump', async () => {
  const s = new TensorSession(fixture('torch-2.11', 'mamba_conv1d/mode2/layer23_conv1d.pt'));
  try {
    const tree = s.tree();
    assert.deepEqual(
      tree
        .filter((n) => n.kind === 'tensor')
        .map((n) => n.name)
        .sort(),
      ['bias', 'input', 'output_xproj', 'ssm_input', 'weight'],
    );
    assert.ok(tree.some((n) => n.kind === 'object' && n.name === 'input_scale'));
    const sum = await s.summary('input');
    const grid = expected('torch-2.11').mamba_conv1d.grid['mode2/input'];
    assert.equal(sum.n, grid.n);
    assert.equal(sum.scale, expected('torch-2.11').mamba_conv1d.scales.input_scale);
    assert.equal(sum.verify?.fp32_artifacts, grid.offgrid_any);
    assert.equal(sum.verify?.saturated_pos, grid.sat_pos);
    assert.equal(sum.columns, 64);
    // Pages are bounded and classify each element exactly as the native verifier counts them.
    let artifacts = 0,
      off = 0,
      seen = 0;
    for (let start = 0; start < sum.n; start += MAX_PAGE) {
      const p = await s.page('input', start, MAX_PAGE * 4);
      assert.ok(p.values.length <= MAX_PAGE);
      seen += p.values.length;
      artifacts += p.cls!.filter((c) => ELEMENT_CLASSES[c] === 'fp32_artifact').length;
      off += p.cls!.filter((c) => ELEMENT_CLASSES[c] === 'off_grid').length;
    }
    assert.equal(seen, sum.n);
    assert.equal(artifacts, grid.offgrid_any);
    assert.equal(off, grid.not_exact_member);
  } finally {
    s.dispose();
  }
});

test('tensor viewer session: explain an element found in a page', async () => {
  const s = new TensorSession(fixture('torch-1.13', 'mamba_conv1d/mode2/layer23_conv1d_input.pt'));
  try {
    const p = await s.page('', 0, MAX_PAGE);
    const i = p.cls!.indexOf(ELEMENT_CLASSES.indexOf('fp32_artifact'));
    assert.ok(i >= 0);
    const e = await s.explain('', i);
    assert.equal(e.class, 'fp32_artifact');
    assert.equal(e.q, p.q![i]);
    assert.equal(e.deviation, p.dev![i]);
    assert.match(e.scale_source, /sibling/);
    await assert.rejects(() => s.explain('', 10 ** 9), /outside tensor/);
  } finally {
    s.dispose();
  }
});

test('integer tensors page as codes; unknown tensors are a clear error', async () => {
  const s = new TensorSession(fixture('torch-2.11', 'format/int8_tensor.pt'));
  try {
    const p = await s.page('', 0, 100);
    assert.equal(p.values.length, 24);
    assert.ok(p.cls!.every((c) => ELEMENT_CLASSES[c] === 'code'));
    assert.throws(() => s.tensor('nope'), /no tensor named "nope"/);
  } finally {
    s.dispose();
  }
});

test('diagnostics: off-grid is an error, saturation a warning, FP32 artifacts information', async () => {
  const ok = problemsOf(await verifyFile(fixture('torch-2.11', 'mamba_conv1d/mode2/layer23_conv1d_input.pt')));
  assert.deepEqual(
    ok.map((p) => [p.severity, p.code]),
    [
      ['warning', 'saturation'],
      ['information', 'fp32-artifact'],
    ],
  );
  assert.match(ok[1].message, /5611 values .* FP32 round-trip/);
  const bad = problemsOf(await verifyFile(fixture('torch-2.11', 'mamba_conv1d/fp32_input_batchA.pt'), { scale: 0.0121623231 }));
  assert.equal(bad[0].severity, 'error');
  assert.equal(bad[0].code, 'off-grid');
  // Random floats with no scale: not quantized, said as information, never an error.
  const plain = problemsOf(await verifyFile(fixture('torch-2.11', 'format/f32_tensor.pt')));
  assert.deepEqual(
    plain.map((p) => [p.severity, p.code]),
    [['information', 'not-quantized']],
  );
  // A quantized dump alone, without the layer dict that holds its scale: the scale is inferred, and said to be.
  const alone = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ql-alone-')), 'activation.pt');
  fs.copyFileSync(fixture('torch-2.11', 'mamba_conv1d/mode2/layer23_conv1d_input.pt'), alone);
  const inferred = problemsOf(await verifyFile(alone));
  assert.ok(
    inferred.some((p) => p.code === 'inferred-scale' && p.severity === 'warning'),
    JSON.stringify(inferred),
  );
  assert.ok(!inferred.some((p) => p.severity === 'error'));
});

test('bounded concurrency never exceeds its limit and stops on abort', async () => {
  let inFlight = 0,
    peak = 0,
    done = 0;
  const abort = new AbortController();
  await forEachLimited(
    Array.from({ length: 50 }, (_, i) => i),
    4,
    async (i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      done++;
      if (i === 20) abort.abort();
    },
    abort.signal,
  );
  assert.equal(peak, 4);
  assert.ok(done < 50 && done >= 21, `stopped after ${done}`);
});

test('diagnostics: an FP8 NaN code and a packed INT4 NaN scale are errors naming the rule; the viewer judges them by the same rule', async () => {
  const ck = (d: string): string => path.join(FIXTURES, 'checkpoints', 'torch-2.11', d, 'model.safetensors');
  const fp8 = problemsOf(await verifyFile(ck('fp8_block_corrupted')));
  assert.deepEqual(
    fp8.map((p) => [p.severity, p.code]),
    [
      ['error', 'fp8'],
      ['warning', 'saturation'],
    ],
  );
  assert.match(fp8[0].message, /1 NaN codes/);
  const int4 = problemsOf(await verifyFile(ck('gptq_int4_corrupted')));
  assert.equal(int4[0].code, 'packed-int');
  assert.match(int4[0].message, /scales in model\.layers\.0\.mlp\.up_proj\.scales are zero, negative or not finite/);
  const s = new TensorSession(ck('gptq_int4_corrupted'));
  try {
    const summary = await s.summary('model.layers.0.mlp.up_proj.qweight');
    assert.equal(summary.verify?.verdict, 'fail', 'the viewer and verify agree');
    assert.match(summary.grid, /4-bit codes packed in int32 \(gptq\)/);
  } finally {
    s.dispose();
  }
});

test('tensor viewer session: a page of a 2-D slice holds the tensor’s elements at the slice’s flat indices; bad slices are refused', async () => {
  const s = new TensorSession(fixture('torch-2.11', 'mamba_conv1d/mode2/layer23_conv1d.pt'));
  try {
    const shape = s.tensor('input').shape; // [1, 1536, 64]
    const [p0, p1] = [await s.page('input', 0, MAX_PAGE), await s.page('input', MAX_PAGE, MAX_PAGE)];
    const whole = { values: [...p0.values, ...p1.values], cls: [...p0.cls!, ...p1.cls!] };
    const slice = { rows: 2, cols: 1, at: [0, 0, 0] }; // time × channel: strided columns
    const { sliceIndex } = await import('../../src/view/layout');
    const index = sliceIndex(shape, slice);
    const p = await s.page('input', 100, 3000, slice);
    assert.equal(p.start, 100);
    for (let k = 0; k < p.values.length; k++) {
      const f = index.flatOf(100 + k);
      assert.equal(p.values[k], whole.values[f], `slice position ${100 + k} is flat ${f}`);
      assert.equal(p.cls![k], whole.cls![f]);
      assert.equal(index.sliceOf(f), 100 + k);
    }
    await assert.rejects(s.page('input', 0, 10, { rows: 1, cols: 1, at: [0, 0, 0] }), /two different axes/);
    await assert.rejects(s.page('input', 0, 10, { rows: 1, cols: 2, at: [1, 0, 0] }), /index 1 outside axis 0 of length 1/);
  } finally {
    s.dispose();
  }
});
