import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openDump, READERS } from '../../src/formats/open';
import { encodeSafetensors } from '../../src/formats/safetensorsWriter';
import { readAllFloat64 } from '../../src/formats/tensor';
import { readLayerInt32 } from '../../src/analysis/layers/params';
import { QuantLensError } from '../../src/core/errors';
import { fixture } from '../support/fixtures';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-registry-'));

test('readers are tried by content signature, in one ordered list', () => {
  assert.deepEqual(
    READERS.map((r) => r.format),
    ['npy', 'pt', 'npz', 'safetensors', 'pt-legacy'],
  );
  // The same bytes under a misleading name open as what they are.
  const file = path.join(dir, 'really-a-torch-zip.safetensors');
  fs.copyFileSync(fixture('torch-2.11', 'format/int8_tensor.pt'), file);
  const d = openDump(file);
  try {
    assert.equal(d.format, 'pt');
  } finally {
    d.close();
  }
});

test('a safetensors file whose header length has low byte 0x80 is read as safetensors, whatever its name', async () => {
  // Grow the metadata until the 8-byte header length is ≡ 0x80 (mod 256): the file then starts with 0x80, like a pickle.
  let pad = 0;
  let bytes: Buffer;
  for (; ; pad++) {
    bytes = encodeSafetensors([{ name: 'w', dtype: 'float32', shape: [2], data: new Float32Array([1.5, -2]) }], { pad: 'x'.repeat(pad) });
    if (bytes[0] === 0x80) break;
  }
  assert.equal(bytes[0], 0x80);
  for (const name of ['weights.safetensors', 'weights.bin', 'weights']) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    const d = openDump(file);
    try {
      assert.equal(d.format, 'safetensors', name);
      assert.deepEqual(Array.from(await readAllFloat64(d.tensors[0])), [1.5, -2]);
    } finally {
      d.close();
    }
  }
});

test('the safetensors writer pads its header by bytes: a tensor named "é" keeps its data aligned and readable', async () => {
  const bytes = encodeSafetensors([
    { name: 'é', dtype: 'float32', shape: [3], data: new Float32Array([1, 2, 3]) },
    { name: 'ü.bias', dtype: 'int32', shape: [1], data: new Int32Array([16777217]) },
  ]);
  const headerLen = Number(bytes.readBigUInt64LE(0));
  assert.equal(headerLen % 8, 0, 'header length is a multiple of 8 bytes');
  assert.equal((8 + headerLen) % 8, 0, 'tensor data starts 8-byte aligned');
  const file = path.join(dir, 'unicode.safetensors');
  fs.writeFileSync(file, bytes);
  const d = openDump(file);
  try {
    assert.deepEqual(Array.from(await readAllFloat64(d.tensors.find((t) => t.name === 'é')!)), [1, 2, 3]);
  } finally {
    d.close();
  }
});

test('int32 layer parameters are read exactly, never through float32 (16777217 stays 16777217)', async () => {
  const file = path.join(dir, 'bias.safetensors');
  fs.writeFileSync(file, encodeSafetensors([{ name: 'bias', dtype: 'int32', shape: [3], data: new Int32Array([16777217, -2147483648, 2147483647]) }]));
  const d = openDump(file);
  try {
    assert.deepEqual(Array.from(await readLayerInt32(d.tensors[0])), [16777217, -2147483648, 2147483647]);
  } finally {
    d.close();
  }
});

test('unrecognized and empty files are rejected with stable codes', () => {
  const empty = path.join(dir, 'empty.pt');
  fs.writeFileSync(empty, '');
  const junk = path.join(dir, 'junk.pt');
  fs.writeFileSync(junk, 'hello, not a tensor');
  for (const [file, code] of [
    [empty, 'empty-file'],
    [junk, 'unrecognized-format'],
  ]) {
    assert.throws(
      () => openDump(file),
      (e: unknown) => e instanceof QuantLensError && e.code === code,
    );
  }
});
