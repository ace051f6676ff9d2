import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { encodeSafetensors } from '../../src/formats/safetensorsWriter';
import { cli } from '../support/cli';

/** A two-shard checkpoint laid out as transformers saves one: the weight in one shard, its scale in the other. */
function writeShardedModel(dir: string, corrupt: boolean): void {
  fs.mkdirSync(dir, { recursive: true });
  const out = 16,
    inn = 32;
  const scales = Float32Array.from({ length: out }, (_, i) => Math.fround(0.001 * (i + 1)));
  const w = new Float32Array(out * inn);
  for (let o = 0; o < out; o++) for (let i = 0; i < inn; i++) w[o * inn + i] = Math.fround((((o * 7 + i * 13) % 255) - 127) * scales[o]);
  if (corrupt) w[5] = Math.fround(w[5] + 0.4 * scales[0]);
  fs.writeFileSync(
    path.join(dir, 'model-00001-of-00002.safetensors'),
    encodeSafetensors([
      { name: 'model.layers.0.proj.weight', dtype: 'float32', shape: [out, inn], data: w },
      { name: 'model.norm.weight', dtype: 'float32', shape: [inn], data: new Float32Array(inn).fill(1) },
    ]),
  );
  fs.writeFileSync(
    path.join(dir, 'model-00002-of-00002.safetensors'),
    encodeSafetensors([{ name: 'model.layers.0.proj.weight_scale', dtype: 'float32', shape: [out, 1], data: scales }]),
  );
  const weightMap = {
    'model.layers.0.proj.weight': 'model-00001-of-00002.safetensors',
    'model.norm.weight': 'model-00001-of-00002.safetensors',
    'model.layers.0.proj.weight_scale': 'model-00002-of-00002.safetensors',
  };
  fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ quantization_config: { quant_method: 'compressed-tensors' } }));
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-model-'));

test('verify DIR treats a sharded checkpoint as one model: a weight pairs with its scale in another shard', async () => {
  const dir = path.join(root, 'good');
  writeShardedModel(dir, false);
  const r = await cli('verify', dir, '--json');
  assert.equal(r.code, 0, r.stdout);
  assert.equal(r.json.files.length, 1);
  assert.deepEqual(r.json.files[0].shards, ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  const [row] = r.json.layers;
  assert.deepEqual(
    { tensor: row.tensor, scheme: row.scheme, bits: row.bits, source: row.scale_source, verdict: row.verdict },
    { tensor: 'model.layers.0.proj.weight', scheme: 'per_channel', bits: 8, source: 'file:model.layers.0.proj.weight_scale', verdict: 'pass' },
  );
  assert.equal(r.json.results[0].name, 'model.layers.0.proj.weight', 'the contract fields of verify --json stay');
  assert.equal(r.json.results[0].shard, 'model-00001-of-00002.safetensors', 'a result names the shard that holds it');
  assert.equal(r.json.not_quantized[0].shard, 'model-00001-of-00002.safetensors');
  assert.deepEqual(
    r.json.not_quantized.map((n: any) => n.name),
    ['model.norm.weight'],
  );
  assert.equal(r.json.quantization_config.quant_method, 'compressed-tensors');
  assert.deepEqual(r.json.summary, { files: 2, judged: 1, passed: 1, failed: 0, not_quantized: 1, skipped: 2, unreadable: 0 });
  const text = await cli('verify', dir);
  assert.match(text.stdout, /PASS +model\.safetensors:model\.layers\.0\.proj\.weight +per_channel +8 /);
});

test('verify DIR: a value off its grid fails the model (exit 1); an unreadable file is reported, not fatal (exit 2)', async () => {
  const bad = path.join(root, 'bad');
  writeShardedModel(bad, true);
  const r = await cli('verify', bad, '--json');
  assert.equal(r.code, 1);
  assert.equal(r.json.layers[0].verdict, 'fail');
  assert.equal(r.json.results[0].true_offgrid, 1);
  const broken = path.join(root, 'broken');
  writeShardedModel(broken, false);
  fs.writeFileSync(path.join(broken, 'extra.pt'), 'not a checkpoint');
  const b = await cli('verify', broken, '--json');
  assert.equal(b.code, 2);
  assert.deepEqual(
    b.json.errors.map((e: any) => [e.file, e.code]),
    [['extra.pt', 'unrecognized-format']],
  );
  assert.equal(b.json.summary.passed, 1, 'the readable model is still verified');
});

test('explorer: a sharded model folder is verified as one model, then split back into one report per shard', async () => {
  const { verifyModel } = await import('../../src/analysis/verifyModel');
  const { isShardedModel, perShardReports } = await import('../../src/view/modelReports');
  const dir = path.join(root, 'explorer');
  writeShardedModel(dir, true);
  assert.ok(isShardedModel(dir));
  const reports = perShardReports(dir, await verifyModel(dir));
  const byShard = new Map(reports.map((r) => [path.basename(r.file), r]));
  assert.deepEqual([...byShard.keys()].sort(), ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  const first = byShard.get('model-00001-of-00002.safetensors')!;
  assert.deepEqual(
    first.results.map((r) => [r.name, r.verdict, r.scale_source]),
    [['model.layers.0.proj.weight', 'fail', 'file:model.layers.0.proj.weight_scale']],
    'the weight is judged with the scale from the other shard, and its failure belongs to its own shard',
  );
  assert.deepEqual(
    first.not_quantized.map((n) => n.name),
    ['model.norm.weight'],
  );
  assert.deepEqual(byShard.get('model-00002-of-00002.safetensors')!.results, []);
});
