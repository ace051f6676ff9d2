import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { FIXTURES } from '../support/fixtures';
import { verifyFile } from '../../src/analysis/verifyFile';

/**
 * Checkpoints written by the quantization tools' own APIs (test/fixtures/make_quantized_checkpoints.py):
 * every quantized tensor passes with its true scale, every deliberately corrupted one fails, and no
 * unquantized tensor (biases, norms, embeddings, lm_head, zero-initialised weights) ever fails.
 */
const ROOT = path.join(FIXTURES, 'checkpoints');
const versions = fs.existsSync(ROOT) ? fs.readdirSync(ROOT).filter((d) => fs.existsSync(path.join(ROOT, d, 'expected.json'))) : [];

test('the checkpoint corpus is present', () => assert.ok(versions.length > 0));

for (const version of versions) {
  const expected = JSON.parse(fs.readFileSync(path.join(ROOT, version, 'expected.json'), 'utf8'));
  for (const [rel, want] of Object.entries<any>(expected.files)) {
    test(`${version} ${rel}: quantized tensors pass, corrupted ones fail, unquantized ones never fail`, async () => {
      const report = await verifyFile(path.join(ROOT, version, rel));
      const byName = new Map(report.results.map((r) => [r.name, r]));
      for (const name of want.quantized) {
        const r = byName.get(name);
        assert.ok(r, `${name} is judged (results: ${[...byName.keys()]})`);
        assert.equal(r.verdict, 'pass', `${name}: ${r.reasons}`);
        assert.ok(r.scale_source && r.scale_source !== 'inferred', `${name} has a scale from the file, not a guess: ${r.scale_source}`);
      }
      for (const name of want.corrupted) assert.equal(byName.get(name)?.verdict, 'fail', `${name} must fail`);
      for (const r of report.results) if (r.verdict === 'fail') assert.ok(want.corrupted.includes(r.name), `false alarm on ${r.name}: ${r.reasons}`);
      for (const name of want.unquantized) {
        const judged = byName.get(name);
        if (judged) assert.equal(judged.verdict, 'pass', name);
        else
          assert.ok(
            report.skipped.some((s) => s.name === name),
            `${name} is listed as skipped`,
          );
      }
    });
  }
}

/**
 * Unpacking order: the dequantized weight of each packed INT4 layout must equal, element for
 * element, what the tool's own loader formula gave in torch (int_truths.safetensors, written by
 * make_quantized_checkpoints.py). A wrong nibble order or scale/zero pairing cannot pass this.
 */
const TRUTHS = path.join(ROOT, 'torch-2.11', 'int_truths.safetensors');
test('packed INT4 (GPTQ, GPTQ act-order, AWQ, compressed-tensors) dequantizes to torch values exactly', async () => {
  const { openDump } = await import('../../src/formats/open');
  const { readAllFloat64 } = await import('../../src/formats/tensor');
  const { detectPackedInt, dequantizePacked } = await import('../../src/analysis/packedInt');
  const { intWeightScheme, quantizationConfigFor } = await import('../../src/analysis/quantConfig');
  const truths = openDump(TRUTHS);
  try {
    assert.equal(truths.tensors.length, 4);
    for (const truth of truths.tensors) {
      const [dir, name] = [truth.name.slice(0, truth.name.indexOf('/')), truth.name.slice(truth.name.indexOf('/') + 1)];
      const file = path.join(ROOT, 'torch-2.11', dir, 'model.safetensors');
      const dump = openDump(file);
      try {
        const scheme = intWeightScheme(quantizationConfigFor(file));
        const layout = detectPackedInt(
          dump,
          dump.tensors.find((t) => t.name === name)!,
          scheme,
        );
        assert.ok(layout, `${truth.name} is recognised as packed`);
        const ours = await dequantizePacked(layout, scheme);
        assert.deepEqual(ours.shape, truth.shape, `${truth.name} shape`);
        const want = await readAllFloat64(truth);
        const mismatches = want.reduce((n, v, i) => n + (v === ours.values[i] ? 0 : 1), 0);
        assert.equal(mismatches, 0, `${truth.name}: ${mismatches} of ${want.length} values differ`);
      } finally {
        dump.close();
      }
    }
  } finally {
    truths.close();
  }
});

test('the newer safetensors dtypes (F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ) read to the values torch wrote', async () => {
  const { openDump } = await import('../../src/formats/open');
  const { readAllFloat64 } = await import('../../src/formats/tensor');
  const want = JSON.parse(fs.readFileSync(path.join(ROOT, 'torch-2.11', 'expected.json'), 'utf8')).newer_dtypes as Record<string, number[]>;
  const dump = openDump(path.join(ROOT, 'torch-2.11', 'newer_dtypes.safetensors'));
  try {
    assert.ok(Object.keys(want).includes('float8_e8m0fnu'));
    for (const [name, values] of Object.entries(want)) {
      const t = dump.tensors.find((x) => x.name === name)!;
      assert.equal(t.dtype, name);
      assert.deepEqual([...(await readAllFloat64(t))], values, name);
    }
  } finally {
    dump.close();
  }
});
