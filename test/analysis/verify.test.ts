import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { TORCH_VERSIONS, expected, fixture, close } from '../support/fixtures';
import { cli } from '../support/cli';
import { explainValue } from '../../src/analysis/explain';
import { verifyTensor } from '../../src/analysis/verify';
import { openDump } from '../../src/formats/open';
import { readAhead } from '../../src/formats/tensor';
import { discoverScale } from '../../src/analysis/scale';

for (const version of TORCH_VERSIONS) {
  const exp = expected(version).mamba_conv1d;
  for (const [key, want] of Object.entries<any>(exp.grid)) {
    const [run, role] = key.split('/');
    test(`${version} verify ${key} equals PyTorch's grid statistics`, async () => {
      const r = await cli('verify', fixture(version, `mamba_conv1d/${run}/layer23_conv1d_${role}.pt`), '--json');
      assert.equal(r.code, 0, r.stderr);
      const t = r.json.results[0];
      assert.equal(t.n, want.n);
      assert.equal(t.max_deviation, want.max_dev);
      assert.equal(t.offgrid_tolerance, want['offgrid_tol_1e-5']);
      assert.equal(t.fp32_artifacts + t.true_offgrid, want.offgrid_any, 'every nonzero deviation is an artifact or off grid');
      assert.equal(t.true_offgrid, want.not_exact_member);
      assert.equal(t.int_min, want.int_min);
      assert.equal(t.int_max, want.int_max);
      assert.ok(close(t.int_mean, want.int_mean, 1e-12), `int_mean ${t.int_mean}`);
      assert.ok(close(t.int_std, want.int_std, 1e-9), `int_std ${t.int_std}`);
      assert.equal(t.saturated_pos, want.sat_pos);
      assert.equal(t.saturated_neg, want.sat_neg);
      assert.equal(t.verdict, 'pass');
      const scaleKey = role === 'input' ? 'input_scale' : 'output_scale';
      assert.equal(t.scale, exp.scales[scaleKey]);
      assert.match(t.scale_source, /^sibling:layer23_conv1d\.pt#/);
    });
  }
  for (const [key, want] of Object.entries<any>(exp.diff)) {
    const [pair, role] = key.split('/');
    const [a, b] = pair.split('_vs_');
    test(`${version} diff ${key} equals PyTorch's`, async () => {
      const file = role === 'ssm_input_fp32' ? 'layer23_conv1d_ssm_input.pt' : `layer23_conv1d_${role}.pt`;
      const r = await cli('diff', fixture(version, `mamba_conv1d/${a}`), fixture(version, `mamba_conv1d/${b}`), '--json');
      const p = r.json.pairs.find((x: any) => x.key === file);
      assert.ok(p, `pair ${file}`);
      if ('max_abs_int' in want) {
        assert.equal(p.max_abs_int, want.max_abs_int);
        assert.ok(close(p.mean_abs_int, want.mean_abs_int, 1e-12));
        assert.ok(close(p.exact_pct, want.exact_pct, 1e-12));
      } else {
        assert.ok(close(p.max_abs_diff, want.max_abs, 1e-7), `max_abs ${p.max_abs_diff} vs ${want.max_abs}`);
        assert.ok(close(p.mean_abs_diff, want.mean_abs, 1e-6), `mean_abs ${p.mean_abs_diff} vs ${want.mean_abs}`);
        assert.ok(close(p.sqnr_db, want.sqnr_db, 1e-6), `sqnr ${p.sqnr_db} vs ${want.sqnr_db}`);
      }
      const differentInputs = b.endsWith('batchB');
      assert.equal(r.json.valid, !differentInputs);
      assert.equal(r.json.inputs_match, !differentInputs);
      assert.equal(p.inputs_match, !differentInputs);
      assert.equal(r.code, differentInputs ? 3 : 0);
      if (differentInputs) assert.match(r.json.reason, /different inputs/);
    });
  }
}

test('explain reproduces the reference case: 87 * 0.0121623231 is an FP32 round-trip artifact', async () => {
  const r = await cli('explain', '1.05812216', '--scale', '0.0121623231', '--json');
  assert.equal(r.code, 0);
  const e = r.json;
  assert.equal(e.q, 87);
  assert.equal(e.class, 'fp32_artifact');
  assert.equal(e.deviation, 7.62939453125e-6);
  assert.equal(Number(e.quotient.toPrecision(10)), 87.00000763);
  assert.equal(Number(e.roundtrip.toPrecision(9)), 1.05812216);
  assert.equal(e.roundtrip, e.value, 'x is exactly fl32(q*s)');
  assert.equal(e.product_exact.slice(0, 12), '1.0581221105');
  assert.ok(e.deviation <= e.artifact_bound);
});

test('explain classifies exact, artifact and off-grid values from their FP32 arithmetic', () => {
  const s = 0.0121623231;
  assert.equal(explainValue(Math.fround(3 * Math.fround(s)), s).class, 'exact');
  const x = Math.fround(87 * Math.fround(s));
  assert.equal(explainValue(x, s).class, 'fp32_artifact');
  // One ULP up is no longer fl32(q*s) for any q, although its deviation is small: a true error.
  const up = x + 2 ** -23;
  const e = explainValue(up, s);
  assert.equal(e.class, 'off_grid');
  assert.ok(e.deviation < 1e-4, 'a tolerance test would have passed it');
});

test('explain FILE --tensor --index reads the element and finds its scale', async () => {
  const r = await cli('verify', fixture('torch-2.11', 'mamba_conv1d/mode2/layer23_conv1d_input.pt'), '--json');
  const worst = r.json.results[0].worst[0];
  assert.equal(worst.class, 'fp32_artifact');
  const e = await cli('explain', fixture('torch-2.11', 'mamba_conv1d/mode2/layer23_conv1d_input.pt'), '--tensor', '', '--index', String(worst.index), '--json');
  assert.equal(e.code, 0, e.stderr);
  assert.equal(e.json.value, worst.value);
  assert.equal(e.json.q, worst.q);
  assert.equal(e.json.class, 'fp32_artifact');
  assert.equal(e.json.deviation, worst.deviation);
});

test('per-channel quantized tensors verify against their own scales', async () => {
  const dump = openDump(fixture('torch-2.11', 'format/quantized.pt'));
  try {
    const t = dump.tensors.find((x) => x.name === 'per_channel_qint8')!;
    const scale = await discoverScale(dump.path, dump, t);
    assert.equal(scale?.kind, 'per_channel');
    assert.equal(scale?.source, 'q_per_channel_scales');
    const r = await verifyTensor(t, scale);
    assert.equal(r.verdict, 'pass');
    assert.equal(r.n, 128);
    assert.equal(
      r.code_histogram.reduce((a, b) => a + b, 0),
      128,
    );
    const exp = expected('torch-2.11').files['format/quantized.pt'].per_channel_qint8;
    assert.equal(r.int_mean! * r.n, exp.int_repr_sum);
  } finally {
    dump.close();
  }
});

test("per-channel float verification uses each channel's scale", async () => {
  // Dequantized per-channel values are on each channel's grid, and off the grid of any single scale.
  const dump = openDump(fixture('torch-2.11', 'format/quantized.pt'));
  try {
    const t = dump.tensors.find((x) => x.name === 'per_channel_qint8')!;
    const q = t.quantization as { scales: number[]; zero_points: number[]; axis: number };
    const { readAllFloat64 } = await import('../../src/formats/tensor');
    const codes = await readAllFloat64(t);
    const floats = Float32Array.from(codes, (c, i) => Math.fround(c * Math.fround(q.scales[Math.floor(i / 16)])));
    const { BufferSource } = await import('../../src/formats/source');
    const src = new BufferSource(Buffer.from(floats.buffer), 'per-channel floats');
    const ref = {
      name: 'w',
      dtype: 'float32' as const,
      shape: [8, 16],
      strides: [16, 1],
      storageOffset: 0,
      quantization: null,
      storage: { source: src, dtype: 'float32' as const, numel: 128, littleEndian: true },
    };
    const per = await verifyTensor(ref, { kind: 'per_channel', scales: q.scales.map(Math.fround), zeroPoints: q.zero_points, axis: 0, source: 'test' });
    assert.equal(per.true_offgrid, 0);
    assert.equal(per.verdict, 'pass');
    const one = await verifyTensor(ref, { kind: 'per_tensor', scale: q.scales[0], zeroPoint: 0, source: 'test' });
    assert.ok(one.true_offgrid > 0, 'a single scale cannot fit all channels');
    assert.equal(one.verdict, 'fail');
  } finally {
    dump.close();
  }
});

test('verify exits 1 and names the failure when values are off the grid', async () => {
  const r = await cli('verify', fixture('torch-2.11', 'mamba_conv1d/fp32_input_batchA.pt'), '--scale', '0.0121623231', '--json');
  assert.equal(r.code, 1);
  const t = r.json.results[0];
  assert.equal(t.verdict, 'fail');
  assert.ok(t.true_offgrid > 0);
  assert.equal(t.worst[0].class, 'off_grid');
  assert.equal(t.scale_source, 'cli');
});

// Streaming reads the next chunk while the addon verifies this one (two alternating buffers): with
// chunks small enough to cycle the buffers many times, the result must equal PyTorch's counts.
test('verify streamed in 1000-element chunks with read-ahead equals PyTorch on the mode2 input', async () => {
  const want = expected('torch-2.11').mamba_conv1d.grid['mode2/input'];
  const file = fixture('torch-2.11', 'mamba_conv1d/mode2/layer23_conv1d_input.pt');
  const dump = openDump(file);
  try {
    const t = dump.tensors[0];
    const scale = await discoverScale(file, dump, t);
    const whole = await verifyTensor(t, scale, { threads: 1, device: 'cpu' });
    const small = await verifyTensor(t, scale, { threads: 1, device: 'cpu', chunkElements: 1000 });
    assert.ok(small.n / 1000 > 10, 'many chunks');
    assert.equal(small.fp32_artifacts + small.true_offgrid, want.offgrid_any);
    assert.equal(small.saturated_pos, want.sat_pos);
    assert.equal(small.true_offgrid, want.not_exact_member);
    assert.deepEqual({ ...small, worst: small.worst.map((w) => w.index) }, { ...whole, worst: whole.worst.map((w) => w.index) });
  } finally {
    dump.close();
  }
});

test('readAhead asks for the next item before handing out this one, and closes its source when stopped early', async () => {
  const log: string[] = [];
  async function* source(): AsyncGenerator<number> {
    try {
      for (let i = 0; i < 5; i++) {
        log.push(`read ${i}`);
        await new Promise((r) => setTimeout(r, 1));
        yield i;
      }
    } finally {
      log.push('closed');
    }
  }
  const seen: number[] = [];
  for await (const v of readAhead(source())) {
    log.push(`use ${v}`);
    seen.push(v);
    if (v === 2) break;
  }
  assert.deepEqual(seen, [0, 1, 2]);
  // Item k+1 is being read before item k is used; stopping waits for the read in flight, then closes.
  assert.deepEqual(log, ['read 0', 'read 1', 'use 0', 'read 2', 'use 1', 'read 3', 'use 2', 'closed']);
});
