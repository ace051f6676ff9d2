import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TORCH_VERSIONS, fixture } from '../support/fixtures';
import { cli } from '../support/cli';

for (const version of TORCH_VERSIONS) {
  for (const mode of ['baseline', 'mode1', 'mode2']) {
    test(`${version}: run --mode ${mode} reproduces the dumped ${mode}/ outputs`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-run-'));
      const out = path.join(dir, 'run.safetensors');
      const r = await cli(
        'run',
        '--mode',
        mode,
        '--layer',
        'conv1d',
        '--params',
        fixture(version, 'mamba_conv1d/layer23_conv1d_params.pt'),
        '--input',
        fixture(version, 'mamba_conv1d/fp32_input_batchA.pt'),
        '--device',
        'cpu',
        '--out',
        out,
        '--json',
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json.mode, mode);
      assert.equal(r.json.device, 'cpu');
      assert.deepEqual(
        r.json.outputs.map((o: any) => o.role),
        ['output_xproj', 'ssm_input'],
      );
      assert.equal(r.json.outputs[0].dtype, mode === 'baseline' ? 'int8' : 'float32');
      assert.ok(r.json.elapsed_ms >= 0);
      const d = await cli('diff', out, fixture(version, `mamba_conv1d/${mode}/layer23_conv1d.pt`), '--json');
      assert.equal(d.json.valid, true);
      assert.equal(d.json.inputs_match, true);
      const byName = new Map(d.json.pairs.map((p: any) => [p.name, p]));
      for (const role of ['input', 'output_xproj', 'ssm_input']) {
        const p: any = byName.get(role);
        assert.ok(p, role);
        assert.equal(p.exact_pct, 100, `${role}: every integer code equal`);
        if (mode === 'mode1' && role === 'ssm_input') {
          // FP32 SSM input: the same math in another summation order differs by FP32 rounding only.
          assert.ok(p.max_abs_diff < 1e-6, `mode1 ssm_input within FP32 accumulation error (${p.max_abs_diff})`);
        } else {
          assert.equal(p.max_abs_diff, 0, `${role} bit-exact`);
        }
      }
      fs.rmSync(dir, { recursive: true });
    });
  }
}
