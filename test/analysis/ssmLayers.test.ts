import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FIXTURES, fixture } from '../support/fixtures';
import { cli } from '../support/cli';

// References computed by PyTorch 2.11 on an H100 (test/fixtures/make_layer_refs.py), FP32 with TF32 off.
const REFS = path.join(FIXTURES, 'layer_refs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-ssm-'));

async function runAndDiff(args: string[], ref: string): Promise<any> {
  const out = path.join(tmp, `${path.basename(ref)}`);
  const r = await cli('run', ...args, '--out', out, '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.outputs[0].role, 'output');
  const d = await cli('diff', out, ref, '--json');
  assert.equal(d.json.pairs.length, 1);
  return d.json.pairs[0];
}

for (const mode of ['baseline', 'mode1', 'mode2']) {
  test(`W8A8 linear (x_proj 1536 -> 80, per-channel weight scales) in ${mode} reproduces PyTorch`, async () => {
    const p = await runAndDiff(
      ['--mode', mode, '--layer', 'linear', '--params', path.join(REFS, 'linear_params.pt'), '--input', path.join(REFS, 'linear_input.pt')],
      path.join(REFS, `linear_${mode}.safetensors`),
    );
    if (mode === 'baseline') {
      assert.equal(p.max_abs_diff, 0, 'exact int32 accumulation and the same FP32 epilogue: bit-exact');
    } else {
      assert.ok(p.max_abs_diff < 1e-5, `FP32 sums in another order: ${p.max_abs_diff}`);
      assert.ok(p.sqnr_db > 100, `SQNR ${p.sqnr_db} dB`);
    }
  });

  test(`selective scan on the conv1d scenario's ${mode} SSM input reproduces PyTorch`, async () => {
    const p = await runAndDiff(
      [
        '--mode',
        mode,
        '--layer',
        'scan',
        '--params',
        path.join(REFS, 'scan_params.pt'),
        '--input',
        fixture('torch-2.11', `mamba_conv1d/${mode}/layer23_conv1d_ssm_input.pt`),
        '--aux',
        path.join(REFS, 'scan_inputs.pt'),
      ],
      path.join(REFS, `scan_${mode}.safetensors`),
    );
    assert.ok(p.max_abs_diff < 1e-5, `FP32 state, another exp and summation order: ${p.max_abs_diff}`);
    assert.ok(p.sqnr_db > 100, `SQNR ${p.sqnr_db} dB`);
  });
}

test("Mode 2 puts an FP32 SSM input on the grid: scanning Mode 1's input in Mode 2 equals the Mode 2 reference", async () => {
  const p = await runAndDiff(
    [
      '--mode',
      'mode2',
      '--layer',
      'scan',
      '--params',
      path.join(REFS, 'scan_params.pt'),
      '--input',
      fixture('torch-2.11', 'mamba_conv1d/mode1/layer23_conv1d_ssm_input.pt'),
      '--aux',
      path.join(REFS, 'scan_inputs.pt'),
    ],
    path.join(REFS, 'scan_mode2.safetensors'),
  );
  assert.ok(p.max_abs_diff < 1e-5, `${p.max_abs_diff}`);
});

test('layer runs refuse inputs that do not fit', async () => {
  const r = await cli(
    'run',
    '--mode',
    'baseline',
    '--layer',
    'linear',
    '--params',
    path.join(REFS, 'linear_params.pt'),
    '--input',
    fixture('torch-2.11', 'mamba_conv1d/fp32_input_batchA.pt'),
  );
  assert.equal(r.code, 2);
  assert.match(r.stderr, /last dimension is 64, the weight takes 1536/);
  const s = await cli(
    'run',
    '--mode',
    'mode1',
    '--layer',
    'scan',
    '--params',
    path.join(REFS, 'scan_params.pt'),
    '--input',
    fixture('torch-2.11', 'mamba_conv1d/mode1/layer23_conv1d_ssm_input.pt'),
  );
  assert.equal(s.code, 2);
  assert.match(s.stderr, /scan needs delta/);
});
