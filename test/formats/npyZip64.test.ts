import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FIXTURES, close } from '../support/fixtures';
import { openDump } from '../../src/formats/open';
import { readAllFloat64, isContiguous } from '../../src/formats/tensor';
import { makeZip, tensorDictPickle, writeBigTorchZip } from '../support/writers';

const NP = path.join(FIXTURES, 'numpy');
const exp = JSON.parse(fs.readFileSync(path.join(NP, 'expected.json'), 'utf8')).files;
const NPY_DTYPE: Record<string, string> = { float32: 'float32', float64: 'float64', int8: 'int8', float16: 'float16', uint8: 'uint8' };

async function check(t: any, want: any, where: string): Promise<void> {
  assert.equal(t.dtype, NPY_DTYPE[want.dtype], `${where} dtype`);
  assert.deepEqual(t.shape, want.shape, `${where} shape`);
  const v = await readAllFloat64(t);
  assert.ok(
    close(
      v.reduce((a: number, b: number) => a + b, 0),
      want.sum,
      1e-9,
      1e-9,
    ),
    `${where} sum`,
  );
  assert.equal(v[0], want.first, `${where} first (C order)`);
  assert.equal(v[v.length - 1], want.last, `${where} last (C order)`);
}

for (const [name, want] of Object.entries<any>(exp)) {
  test(`numpy ${name} reads as numpy wrote it`, async () => {
    const d = openDump(path.join(NP, name));
    try {
      if (name.endsWith('.npz')) {
        assert.equal(d.format, 'npz');
        assert.deepEqual(d.tensors.map((t) => t.name).sort(), Object.keys(want).sort());
        for (const t of d.tensors) await check(t, want[t.name], `${name}:${t.name}`);
      } else {
        assert.equal(d.format, 'npy');
        await check(d.tensors[0], want, name);
        if (name.includes('fortran')) assert.equal(isContiguous(d.tensors[0]), false, 'Fortran order is a strided view');
      }
    } finally {
      d.close();
    }
  });
}

test('a ZIP64 torch archive (sizes and offsets in ZIP64 records) opens and reads', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ql-z64-')), 'z64.pt');
  writeBigTorchZip(file, 1000);
  const d = openDump(file);
  try {
    assert.equal(d.tensors.length, 1);
    assert.deepEqual(d.tensors[0].shape, [1000]);
    const v = await readAllFloat64(d.tensors[0]);
    assert.equal(v.length, 1000);
    assert.ok(
      v.every((x) => x === 0),
      'sparse zeros',
    );
  } finally {
    d.close();
  }
});

test('a big-endian torch archive (byteorder "big") reads its values correctly', async () => {
  const pkl = tensorDictPickle('w', '0', 3, 0, [3], [1]);
  const data = Buffer.alloc(12);
  [1.5, -2.25, 1e-3].forEach((x, i) => data.writeFloatBE(x, i * 4));
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ql-be-')), 'be.pt');
  fs.writeFileSync(
    file,
    makeZip([
      { name: 'archive/data.pkl', data: pkl },
      { name: 'archive/byteorder', data: Buffer.from('big') },
      { name: 'archive/data/0', data },
    ]),
  );
  const d = openDump(file);
  try {
    assert.deepEqual(Array.from(await readAllFloat64(d.tensors[0])), [1.5, -2.25, Math.fround(1e-3)]);
  } finally {
    d.close();
  }
});
