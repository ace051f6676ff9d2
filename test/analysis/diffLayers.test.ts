import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { npyBytes } from '../support/writers';
import { cli } from '../support/cli';

/** int8 codes as an .npy. */
function writeCodes(file: string, codes: number[]): void {
  fs.writeFileSync(file, npyBytes(`{'descr': '|i1', 'fortran_order': False, 'shape': (${codes.length},), }`, Buffer.from(Int8Array.from(codes).buffer)));
}

/** A run of three layers, each with its input and output codes; `breakAt` changes that layer's output and every later one. */
function writeRun(dir: string, breakAt: number | null): void {
  fs.mkdirSync(dir, { recursive: true });
  const base = Array.from({ length: 64 }, (_, i) => ((i * 37) % 200) - 100);
  for (let layer = 0; layer < 3; layer++) {
    const name = `layer${String(layer).padStart(2, '0')}_conv1d`;
    const broken = breakAt !== null && layer >= breakAt;
    // A layer's input is the previous layer's output: once broken, later inputs differ too.
    const inputBroken = breakAt !== null && layer > breakAt;
    writeCodes(
      path.join(dir, `${name}_input.npy`),
      base.map((v, i) => (inputBroken && i % 4 === 0 ? v + 1 : v)),
    );
    writeCodes(
      path.join(dir, `${name}_output.npy`),
      base.map((v, i) => (broken && i % 8 === 0 ? v + 2 : v)),
    );
  }
}

test('diff of two run folders: one row per layer in layer order, and the first layer where the runs part', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-layers-'));
  writeRun(path.join(root, 'a'), null);
  writeRun(path.join(root, 'b'), 1);
  const r = await cli('diff', path.join(root, 'a'), path.join(root, 'b'), '--json');
  assert.ok(Array.isArray(r.json.pairs), 'the existing fields stay');
  assert.deepEqual(
    r.json.layers.map((l: any) => [l.layer, l.index, l.input_guard, l.first_divergence]),
    [
      ['layer00_conv1d', 0, 'match', false],
      ['layer01_conv1d', 1, 'match', true],
      ['layer02_conv1d', 2, 'differ', false],
    ],
  );
  assert.equal(r.json.first_divergent_layer, 'layer01_conv1d');
  const l1 = r.json.layers[1];
  assert.equal(l1.max_abs_int, 2);
  assert.equal(l1.exact_pct, 87.5, '8 of 64 output codes moved');
  assert.equal(r.json.layers[0].exact_pct, 100);
  const text = await cli('diff', path.join(root, 'a'), path.join(root, 'b'));
  assert.match(text.stdout, /→ layer01_conv1d: .*first layer where the runs part/);
});
