import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { cli } from '../support/cli';
import { fixture } from '../support/fixtures';

const run = (mode: string): string => fixture('torch-2.11', `mamba_conv1d/${mode}`);

test('diff of two torch-written run folders: a tensor dumped both as its own file and inside the per-layer dict is marked once as the same', async () => {
  const r = await cli('diff', run('mode2'), run('mode1'), '--json');
  assert.equal(r.code, 0);
  const byKey = new Map(r.json.pairs.map((p: any) => [p.key, p]));
  // layer23_conv1d_input.pt and `input` of layer23_conv1d.pt hold the same tensor with the same figures.
  assert.equal((byKey.get('layer23_conv1d.pt:input') as any).same_as, 'layer23_conv1d_input.pt');
  assert.equal((byKey.get('layer23_conv1d.pt:ssm_input') as any).same_as, 'layer23_conv1d_ssm_input.pt');
  assert.equal((byKey.get('layer23_conv1d_input.pt') as any).same_as, undefined, 'the first of the two stays unmarked');
  // The weight and bias exist only inside the dict: nothing to repeat.
  assert.equal((byKey.get('layer23_conv1d.pt:weight') as any).same_as, undefined);
  for (const p of r.json.pairs.filter((x: any) => x.same_as)) {
    const first: any = byKey.get(p.same_as);
    for (const f of ['max_abs_diff', 'exact_pct', 'sqnr_db']) assert.deepEqual(p[f], first[f], `${p.key} ${f}`);
  }
  const text = await cli('diff', run('mode2'), run('mode1'));
  assert.match(text.stdout, /layer23_conv1d\.pt:input: the same tensor as layer23_conv1d_input\.pt/);
});

test('diff of an input file with an output file explains what was compared instead of calling the inputs different', async () => {
  const a = `${run('mode2')}/layer23_conv1d_input.pt`,
    b = `${run('mode2')}/layer23_conv1d_output_xproj.pt`;
  const r = await cli('diff', a, b, '--json');
  assert.equal(r.code, 0, 'not an invalid comparison (exit 3): no input guard applies');
  assert.equal(r.json.valid, true);
  assert.equal(r.json.inputs_match, null);
  assert.match(r.json.reason, /is an input and B \(layer23_conv1d_output_xproj\.pt\) is an output: they are compared element by element/);
  assert.equal(r.json.pairs[0].is_input, false);
  assert.ok(r.json.pairs[0].exact_match_pct < 100, 'the values still differ and are reported');
  // Two inputs of different runs keep the guard.
  const guarded = await cli('diff', `${run('mode2')}/layer23_conv1d_input.pt`, `${run('mode2_batchB')}/layer23_conv1d_input.pt`, '--json');
  assert.equal(guarded.code, 3);
  assert.equal(guarded.json.valid, false);
});
