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
