import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { openDump } from '../../src/formats/open';
import { isContiguous, readAllFloat64, TensorRef } from '../../src/formats/tensor';
import { dequantizeChunk } from '../../src/analysis/stats';
import { TORCH_VERSIONS, expected, fixture, close } from '../support/fixtures';

async function checkTensor(t: TensorRef, want: any, where: string): Promise<void> {
  assert.equal(t.dtype, want.dtype, `${where} dtype`);
  assert.deepEqual(t.shape, want.shape, `${where} shape`);
  assert.equal(isContiguous(t), want.contiguous, `${where} contiguous`);
  if (!want.qscheme) assert.equal(t.storageOffset, want.storage_offset, `${where} storage offset`);
  const values = await readAllFloat64(t);
  if (want.qscheme) {
    const q = t.quantization!;
    assert.ok(q, `${where} quantization`);
    assert.equal(q.scheme, want.qscheme, `${where} qscheme`);
    if ('scale' in q) {
      assert.equal(q.scale, want.q_scale, `${where} q_scale`);
      assert.equal(q.zero_point, want.q_zero_point, `${where} q_zero_point`);
    } else {
      assert.equal(q.axis, want.q_per_channel_axis, `${where} axis`);
    }
    assert.equal(
      values.reduce((a, b) => a + b, 0),
      want.int_repr_sum,
      `${where} int_repr_sum`,
    );
    dequantizeChunk(t, 0, values);
    const sum = values.reduce((a, b) => a + b, 0);
    assert.ok(close(sum, want.values_f64_sum, 1e-9), `${where} dequantized sum ${sum} vs ${want.values_f64_sum}`);
    return;
  }
  if (want.dtype === 'bool') {
    assert.equal(
      values.reduce((a, b) => a + b, 0),
      want.true_count,
      `${where} true_count`,
    );
    return;
  }
  if (!('f64_sum' in want)) {
    assert.equal(values.length, 0, `${where} empty`);
    return;
  }
  const sum = values.reduce((a, b) => a + b, 0);
  assert.ok(close(sum, want.f64_sum, 1e-9, 1e-9), `${where} sum ${sum} vs ${want.f64_sum}`);
  assert.equal(
    values.reduce((a, b) => Math.max(a, Math.abs(b)), 0),
    want.f64_absmax,
    `${where} absmax`,
  );
  assert.equal(values[0], want.first, `${where} first`);
  assert.equal(values[values.length - 1], want.last, `${where} last`);
}

for (const version of TORCH_VERSIONS) {
  const exp = expected(version);
  for (const [rel, tensors] of Object.entries<Record<string, any>>(exp.files)) {
    test(`${version}/${rel} matches what PyTorch computed`, async () => {
      const dump = openDump(fixture(version, rel));
      try {
        const byName = new Map(dump.tensors.map((t) => [t.name, t]));
        let checked = 0;
        for (const [key, want] of Object.entries<any>(tensors)) {
          if (key === 'note' || key === 'scalars') continue;
          const name = key === 'root' ? '' : key;
          const t = byName.get(name);
          assert.ok(t, `tensor ${JSON.stringify(name)} listed (have ${[...byName.keys()].map((k) => JSON.stringify(k)).join(', ')})`);
          await checkTensor(t, want, `${rel}:${name}`);
          checked++;
        }
        assert.ok(checked > 0);
        if (tensors.scalars) {
          for (const [k, v] of Object.entries(tensors.scalars)) {
            const o = dump.objects.find((x) => x.name === k);
            assert.ok(o, `scalar ${k} listed`);
            assert.equal(o.value, v, `scalar ${k}`);
          }
        }
        if (rel.endsWith('legacy.pt')) assert.equal(dump.format, 'pt-legacy');
        if (rel.endsWith('.safetensors')) {
          assert.equal(dump.format, 'safetensors');
          assert.deepEqual(dump.metadata, { producer: 'fixtures', layer: '23' });
        }
        if (rel.endsWith('full_module.pt')) {
          const ph = dump.objects.find((o) => o.type === 'placeholder');
          assert.equal(ph?.class, 'torch.nn.modules.linear.Linear', 'the module is an inert placeholder');
        }
      } finally {
        dump.close();
      }
    });
  }
}

test('mamba dumps list the per-layer dict by role, and scalars as objects', () => {
  const dump = openDump(fixture('torch-2.11', 'mamba_conv1d/mode2/layer23_conv1d.pt'));
  try {
    const names = dump.tensors.map((t) => t.name).sort();
    assert.deepEqual(names, ['bias', 'input', 'output_xproj', 'ssm_input', 'weight']);
    const scale = dump.objects.find((o) => o.name === 'input_scale');
    assert.equal(scale?.value, expected('torch-2.11').mamba_conv1d.scales.input_scale);
    assert.equal(dump.objects.find((o) => o.name === 'mode')?.value, 'mode2');
  } finally {
    dump.close();
  }
});

test('inspect --json keeps the contract: quantization keys, dtype names, root tensor named ""', async () => {
  const { cli } = await import('../support/cli');
  const r = await cli('inspect', fixture('torch-2.11', 'format/quantized.pt'), '--json', '--stats');
  assert.equal(r.code, 0);
  assert.equal(r.json.format, 'pt');
  for (const t of r.json.tensors) {
    assert.deepEqual(
      Object.keys(t.quantization).sort(),
      t.quantization.scale !== undefined ? ['axis', 'scale', 'scheme', 'zero_point'] : ['axis', 'scales', 'scheme', 'zero_points'],
    );
    assert.deepEqual(Object.keys(t.stats).sort(), ['absmax', 'inf', 'max', 'mean', 'min', 'nan', 'std', 'sum']);
  }
  const root = await cli('inspect', fixture('torch-2.11', 'format/f32_tensor.pt'), '--json');
  assert.equal(root.json.tensors[0].name, '');
  assert.equal(root.json.tensors[0].dtype, 'float32');
  const bad = await cli('inspect', fixture('torch-2.11', 'expected.json'), '--json');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^quant-lens: unrecognized file/);
});
