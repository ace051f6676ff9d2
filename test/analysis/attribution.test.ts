import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { attributeConv1d, modeRecipe } from '../../src/analysis/attribution';
import { Conv1dParams, conv1dOperands, readConv1dInput, readConv1dParams } from '../../src/analysis/layers/conv1d';
import { loadNative } from '../../src/native/addon';
import { openDump } from '../../src/formats/open';
import { readAllFloat64 } from '../../src/formats/tensor';
import { fixture, FIXTURES } from '../support/fixtures';
import { cli } from '../support/cli';
import { syntheticConv1d as problem, writeConv1dLayer } from '../support/writers';

const sameBytes = (a: ArrayBufferView, b: ArrayBufferView): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

async function checkEndpoints(p: Conv1dParams, input: { x: Float32Array; shape: number[] }, where: string): Promise<void> {
  const common = conv1dOperands(p, input);
  const recipes = await loadNative().conv1dRecipes({
    ...common,
    recipes: [modeRecipe('baseline', 'half_even'), modeRecipe('mode2', 'half_even'), modeRecipe('mode1', 'half_even')],
  });
  const base = await loadNative().conv1d({ ...common, mode: 'baseline', device: 'cpu' });
  assert.ok(sameBytes(recipes.results[0].codes, base.output_xproj), `${where}: every switch off = the Baseline kernel, bit for bit`);
  for (const [i, mode] of [
    [1, 'mode2'],
    [2, 'mode1'],
  ] as const) {
    const m = await loadNative().conv1d({ ...common, mode, device: 'cpu' });
    assert.ok(sameBytes(recipes.results[i].ssm, m.ssm_input), `${where}: every switch on = the ${mode} kernel's ssm_input, bit for bit`);
    const grid = Float32Array.from(recipes.results[i].codes, (c) => c * Math.fround(p.outputScale)); // the kernels hold scales in FP32
    const kernelGrid = m.output_xproj as Float32Array;
    assert.ok(
      grid.every((v, j) => v === kernelGrid[j]),
      `${where}: ${mode} output codes equal the kernel's grid values`,
    );
  }
}

test('attribution endpoints: every switch off is Baseline, every switch on is Mode 2 / Mode 1, bit for bit (fixture and synthetic layers)', async () => {
  const dir = 'mamba_conv1d';
  const p = await readConv1dParams(fixture('torch-2.11', `${dir}/layer23_conv1d_params.pt`));
  await checkEndpoints(p, await readConv1dInput(fixture('torch-2.11', `${dir}/fp32_input_batchA.pt`)), 'fixture');
  const sx = Math.fround(0.0234567),
    sw = Math.fround(0.00312345);
  const skewed = problem({ D: 64, L: 512, sx, sw, sb: Math.fround(sx * sw * (1 + 2 ** -9)), so: Math.fround(0.0156789), ties: false, seed: 3 });
  await checkEndpoints(skewed.p, skewed.input, 'bias scale ≠ sx·sw');
});

test('Shapley values add up to the total exactly, and a factor that changes nothing is proven to', async () => {
  const sx = Math.fround(0.0234567),
    sw = Math.fround(0.00312345);
  const { p, input } = problem({ D: 64, L: 512, sx, sw, sb: Math.fround(sx * sw * (1 + 2 ** -9)), so: Math.fround(0.0156789), ties: false, seed: 3 });
  const r = await attributeConv1d(p, input, { from: 'baseline', to: 'mode2' });
  assert.ok(r.total.codes_differ > 0, `the skewed bias scale makes the modes differ (${r.total.codes_differ} codes)`);
  assert.equal(
    r.exact.numerators.reduce((a, b) => a + b, 0),
    r.total.codes_differ * r.exact.denominator,
    'efficiency, as exact fractions over k!',
  );
  assert.ok(Math.abs(r.factors.reduce((a, f) => a + f.shapley_energy, 0) - r.total.energy) <= 1e-9 * Math.max(1, Math.abs(r.total.energy)));
  for (const f of r.factors) {
    assert.ok(Math.abs(f.channel_codes.reduce((a, b) => a + b, 0) - f.shapley_codes) < 1e-6, `${f.name}: channel shares sum to its value`);
    if (f.no_effect) assert.equal(f.shapley_codes, 0, `${f.name}: no effect means a zero value`);
  }
  assert.equal(r.combinations.length, 2 ** r.factors.length);
  assert.equal(r.combinations[r.combinations.length - 1].codes_differ, r.total.codes_differ);
  // Only "scales" sees the bias scale apart from sx·sw: it must carry the difference.
  const scales = r.factors.find((f) => f.name === 'scales')!;
  assert.ok(scales.shapley_codes > 0.5 * r.total.codes_differ, `scales explains most: ${scales.shapley_codes} of ${r.total.codes_differ}`);
});

test('a constructed case where only the rounding differs puts 100% on rounding, and the other switches are proven to do nothing', async () => {
  // Power-of-two scales make every product and sum exact, so only rounding can separate the modes; every input is a tie.
  const { p, input } = problem({ D: 32, L: 256, sx: 2 ** -4, sw: 2 ** -6, sb: 2 ** -10, so: 2 ** -5, ties: true, seed: 11 });
  const r = await attributeConv1d(p, input, { from: 'baseline', to: 'mode2', rounding: 'half_away' });
  assert.ok(r.total.codes_differ > 0);
  const rounding = r.factors.filter((f) => f.name.startsWith('rounding_')).reduce((a, f) => a + f.shapley_codes, 0);
  assert.equal(rounding, r.total.codes_differ, 'rounding carries 100%');
  for (const f of r.factors.filter((x) => !x.name.startsWith('rounding_'))) assert.ok(f.no_effect, `${f.name} has no effect`);
  // With Baseline rounding half to even as well, the same layer's modes agree exactly.
  const same = await attributeConv1d(p, input, { rounding: 'half_even' });
  assert.equal(same.total.codes_differ, 0);
  assert.ok(same.factors.every((f) => f.no_effect));
});

test('CLI: attribute --json keeps its contract; run --rounding gives exactly the recipe Attribution starts from', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-attr-'));
  const { p, input } = problem({ D: 16, L: 128, sx: 2 ** -4, sw: 2 ** -6, sb: 2 ** -10, so: 2 ** -5, ties: true, seed: 5 });
  const { params, input: inFile } = writeConv1dLayer(tmp, 'layer0_conv1d', p, input);
  const a = await cli('attribute', '--params', params, '--input', inFile, '--rounding', 'half_away', '--json');
  assert.equal(a.code, 0, a.stderr);
  for (const key of ['layer', 'from', 'to', 'total', 'factors']) assert.ok(key in a.json, key);
  for (const key of ['codes_differ', 'max_abs_int', 'energy']) assert.ok(key in a.json.total, key);
  for (const f of a.json.factors) for (const key of ['name', 'shapley_codes', 'shapley_energy', 'alone_codes', 'no_effect']) assert.ok(key in f, key);
  assert.equal(a.json.layer, 'conv1d');
  const out = path.join(tmp, 'baseline_half_away.safetensors');
  const run = await cli('run', '--mode', 'baseline', '--rounding', 'half_away', '--params', params, '--input', inFile, '--out', out, '--json');
  assert.equal(run.code, 0, run.stderr);
  const dump = openDump(out);
  try {
    const codes = await readAllFloat64(dump.tensors.find((t) => t.name === 'output_xproj')!);
    const recipe = await loadNative().conv1dRecipes({
      x: input.x,
      weight: p.weight,
      bias: p.bias,
      batch: 1,
      channels: 16,
      length: 128,
      kernel: 4,
      inputScale: p.inputScale,
      weightScale: p.weightScale,
      biasScale: p.biasScale,
      outputScale: p.outputScale,
      recipes: [modeRecipe('baseline', 'half_away')],
    });
    assert.deepEqual([...codes], [...recipe.results[0].codes]);
    const halfEven = await cli('run', '--mode', 'baseline', '--params', params, '--input', inFile, '--out', path.join(tmp, 'he.safetensors'), '--json');
    assert.equal(halfEven.code, 0);
    const he = openDump(path.join(tmp, 'he.safetensors'));
    const heCodes = await readAllFloat64(he.tensors.find((t) => t.name === 'output_xproj')!);
    he.close();
    assert.ok(
      heCodes.some((v, i) => v !== codes[i]),
      'on ties, half_away and the kernels half to even give different codes',
    );
    assert.equal(
      a.json.total.codes_differ,
      heCodes.reduce((n, v, i) => n + (v !== codes[i] ? 1 : 0), 0),
      'the total is run(half_away) vs run(mode2 = half_even grid)',
    );
  } finally {
    dump.close();
  }
  const cuda = await cli('attribute', '--device', 'cuda', '--params', params, '--input', inFile, '--json');
  assert.equal(cuda.code, 2);
  assert.equal(cuda.json.error.code, 'unsupported', 'the combinations run on the CPU, and say so');
  const wrong = await cli('attribute', '--layer', 'scan', '--params', params, '--input', inFile, '--json');
  assert.equal(wrong.code, 2);
  assert.equal(wrong.json.error.code, 'tensor-not-found', 'conv1d params are not a scan: one coded line');
});

test('block attribution: every switch off runs the Baseline block, every switch on Mode 2 / Mode 1, bit for bit; the values add up', async () => {
  const { readBlock, runBlock, runBlockRecipe, runBlockReference } = await import('../../src/analysis/layers/block');
  const { attributeBlock } = await import('../../src/analysis/attribution');
  const files = {
    params: path.join(FIXTURES, 'block', 'layer0_block_params.safetensors'),
    input: path.join(FIXTURES, 'block', 'layer0_block_input.safetensors'),
  };
  const b = await readBlock(files);
  const yOf = async (mode: 'baseline' | 'mode1' | 'mode2'): Promise<Float32Array> =>
    (await runBlock(b, mode, { device: 'cpu' })).outputs.find((o) => o.name === 'y')!.data as Float32Array;
  const xp = (mode: 'baseline' | 'mode1' | 'mode2') => {
    const r = modeRecipe(mode, 'half_even');
    return { earlyScales: r.earlyScales, fp32Accumulate: r.fp32Accumulate, biasEpilogue: r.biasEpilogue, inputRounding: r.inputRounding };
  };
  for (const mode of ['baseline', 'mode2', 'mode1'] as const) {
    const viaRecipe = (await runBlockRecipe(b, modeRecipe(mode, 'half_even'), xp(mode))).y;
    assert.ok(sameBytes(viaRecipe, await yOf(mode)), `${mode}: the recipe chain is the mode's block, bit for bit`);
  }
  const r = await attributeBlock(
    b,
    (conv, xproj) => runBlockRecipe(b, conv, xproj),
    () => runBlockReference(b),
    { to: 'mode1' },
  );
  assert.equal(r.counted, 'values');
  assert.equal(
    r.exact.numerators.reduce((a, x) => a + x, 0),
    r.total.codes_differ * r.exact.denominator,
  );
  assert.deepEqual(
    r.factors.map((f) => f.name),
    ['conv_scales', 'conv_accumulation', 'conv_bias', 'xproj_scales', 'xproj_accumulation', 'ssm_path'],
  );
  const ssm = r.factors.find((f) => f.name === 'ssm_path')!;
  assert.ok(Math.abs(ssm.shapley_energy) > 0.9 * Math.abs(r.total.energy), 'the SSM path carries the error energy Mode 1 removes');
});

test('linear attribution: endpoints equal the linear kernels bit for bit; scan attribution: one switch, the SSM input path', async () => {
  const { attributeLinear, attributeScan } = await import('../../src/analysis/attribution');
  const rnd = (
    (seed: number) => () =>
      (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32
  )(9);
  const T = 32,
    K = 96,
    N = 24;
  const o = {
    x: Float32Array.from({ length: T * K }, () => (rnd() - 0.5) * 4),
    weight: Int8Array.from({ length: N * K }, () => Math.floor(rnd() * 255) - 127),
    bias: Int32Array.from({ length: N }, () => Math.floor((rnd() - 0.5) * 50000)),
    rows: T,
    inFeatures: K,
    outFeatures: N,
    inputScale: Math.fround(2 / 127),
    weightScales: [Math.fround(0.00731)],
  };
  for (const mode of ['baseline', 'mode2'] as const) {
    const r = modeRecipe(mode, 'half_even');
    const viaRecipe = await loadNative().linear({
      ...o,
      mode,
      recipe: { earlyScales: r.earlyScales, fp32Accumulate: r.fp32Accumulate, biasEpilogue: r.biasEpilogue, inputRounding: r.inputRounding },
    });
    assert.ok(sameBytes(viaRecipe, await loadNative().linear({ ...o, mode, device: 'cpu' })), `${mode}: recipe = kernel`);
  }
  const lin = await attributeLinear(o);
  assert.ok(lin.total.codes_differ > 0, 'int32 and FP32 accumulation of 96 terms differ in the last bits');
  assert.equal(
    lin.exact.numerators.reduce((a, x) => a + x, 0),
    lin.total.codes_differ * lin.exact.denominator,
  );
  // A scan whose input path is the only difference: Mode 2 → Mode 1 has one switch, and it carries everything.
  const fake = async (mode: 'baseline' | 'mode1' | 'mode2'): Promise<Float32Array> =>
    Float32Array.from({ length: 8 }, (_, i) => (mode === 'mode1' ? i + 0.5 : i));
  const scan = await attributeScan(fake, 2, { from: 'mode2', to: 'mode1' });
  assert.deepEqual(
    scan.factors.map((f) => [f.name, f.shapley_codes]),
    [['ssm_path', 8]],
  );
  const none = await attributeScan(fake, 2, { from: 'baseline', to: 'mode2' });
  assert.deepEqual(none.factors, [], 'Baseline and Mode 2 feed the scan the same numbers: no switch separates them');
});
