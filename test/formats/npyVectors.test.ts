import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { FIXTURES } from '../support/fixtures';
import { openDump } from '../../src/formats/open';
import { readNpyArray } from '../../src/formats/npy';
import { BufferSource } from '../../src/formats/source';
import { readAllFloat64 } from '../../src/formats/tensor';
import { QuantLensError } from '../../src/core/errors';

/**
 * numpy's own format test vectors (test/fixtures/peers/make_numpy_vectors.py): the `basic_arrays`
 * of numpy/lib/tests/test_format.py as numpy's `format.write_array` wrote them, its malformed and
 * wrong-version magics, its header with an extra key, and its Python 2/3 object-array data files.
 */
const PEERS = path.join(FIXTURES, 'peers');
const manifest = JSON.parse(fs.readFileSync(path.join(PEERS, 'numpy_format_vectors.json'), 'utf8'));

/** `np.arange(1500).astype(scalar)`: exact for every type but the 8-bit ones, which wrap. */
function basicValue(scalar: string, k: number): number {
  if (scalar === 'uint8') return k % 256;
  if (scalar === 'int8') return ((k + 128) % 256) - 128;
  return k;
}

/** The values of each layout of the test, in row-major order, rebuilt without numpy. */
function expectedValues(scalar: string, layout: string): number[] {
  const base = (k: number): number => basicValue(scalar, k);
  switch (layout) {
    case 'empty':
      return [];
    case 'scalar10':
      return [10];
    case 'arange':
    case 'reshape':
      return Array.from({ length: 1500 }, (_, k) => base(k));
    case 'transpose': // shape (50, 30): element (i, j) is reshape[j, i]
      return Array.from({ length: 1500 }, (_, k) => base((k % 30) * 50 + Math.floor(k / 30)));
    case 'reverse_stride2': // shape (30, 25): element (i, j) is reshape[29 - i, 2j]
      return Array.from({ length: 750 }, (_, k) => base((29 - Math.floor(k / 25)) * 50 + 2 * (k % 25)));
    default:
      throw new Error(`unknown layout ${layout}`);
  }
}

test('every numeric array of numpy basic_arrays reads to its values, in both byte orders and all three format versions', async () => {
  const dump = openDump(path.join(PEERS, 'numpy_format_vectors.npz'));
  try {
    const byName = new Map(dump.tensors.map((t) => [t.name, t]));
    assert.equal(manifest.arrays.length, 144);
    for (const a of manifest.arrays) {
      const t = byName.get(a.member);
      assert.ok(t, `${a.member} (${a.descr} ${a.layout}) is read`);
      assert.equal(t.dtype, a.scalar, `${a.member} dtype`);
      assert.deepEqual(t.shape, a.shape, `${a.member} shape`);
      const values = [...(await readAllFloat64(t))];
      assert.deepEqual(values, expectedValues(a.scalar, a.layout), `${a.member}: ${a.descr} ${a.layout} v${a.version.join('.')}`);
      assert.equal(
        values.reduce((x, y) => x + y, 0),
        a.sum,
        `${a.member} sum as numpy computed it`,
      );
    }
    const skipped = dump.objects.filter((o) => o.class === 'numpy array (skipped)').map((o) => o.name);
    assert.deepEqual(skipped.sort(), ['object', 'object_be'], 'object arrays are listed as skipped, the archive stays readable');
  } finally {
    dump.close();
  }
});

test("numpy's Python 2 and Python 3 object-array data files are refused with one line (they are pickles)", () => {
  for (const f of ['py2-objarr.npy', 'py3-objarr.npy', 'py2-np0-objarr.npy']) {
    assert.throws(
      () => openDump(path.join(PEERS, f)),
      (e: unknown) => e instanceof QuantLensError && e.code === 'unsupported' && /Python objects/.test(e.message),
      f,
    );
  }
  const npz = openDump(path.join(PEERS, 'py3-objarr.npz'));
  try {
    assert.deepEqual(
      npz.objects.map((o) => o.class),
      ['numpy array (skipped)'],
    );
  } finally {
    npz.close();
  }
});

const npy = (bytes: Buffer): unknown => readNpyArray('', new BufferSource(bytes, 'vector'), 'vector');
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

test("numpy's malformed and wrong-version magics are refused with a coded error", () => {
  const badVersion = ['\x93NUMPY\x01\x01', '\x93NUMPY\x00\x00', '\x93NUMPY\x00\x01', '\x93NUMPY\x02\x00', '\x93NUMPY\x02\x02', '\x93NUMPY\xff\xff'];
  const malformed = ['\x92NUMPY\x01\x00', '\x00NUMPY\x01\x00', '\x93numpy\x01\x00', '\x93MATLB\x01\x00', '\x93NUMPY\x01', '\x93NUMPY', ''];
  for (const magic of [...badVersion, ...malformed]) {
    // numpy's vectors are the magic alone; a header length and a valid header after it must not rescue them.
    for (const tail of ['', "\x46\x00{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }" + ' '.repeat(13) + '\n' + '\x00'.repeat(8)]) {
      assert.throws(
        () => npy(b(magic + tail)),
        (e: unknown) => e instanceof QuantLensError,
        JSON.stringify(magic),
      );
    }
  }
});

test("numpy's bad headers are refused: a missing key, an extra key, a header shorter than declared", () => {
  const missingKey = b("\x93NUMPY\x01\x006\x00{'descr': 'x', 'shape': (1, 2), }                    \n");
  const extraKey = b("\x93NUMPY\x01\x00F\x00{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), 'extrakey': -1, }   \n");
  const short = b("\x93NUMPY\x01\x00\xff\x00{'descr': '<f8'");
  for (const [what, bytes] of [
    ['missing key', missingKey],
    ['extra key', extraKey],
    ['short', short],
  ] as const)
    assert.throws(
      () => npy(bytes),
      (e: unknown) => e instanceof QuantLensError && !e.message.includes('\n'),
      what,
    );
});

test('a Python 2 header with long shapes, (2L, 3L), reads as numpy reads it', async () => {
  const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }";
  const padded = header + ' '.repeat(128 - 10 - header.length - 1) + '\n';
  const len = Buffer.alloc(2);
  len.writeUInt16LE(padded.length);
  const t = npy(Buffer.concat([b('\x93NUMPY\x01\x00'), len, b(padded), Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer)])) as never;
  assert.deepEqual((t as { shape: number[] }).shape, [2, 3]);
  assert.deepEqual([...(await readAllFloat64(t))], [1, 2, 3, 4, 5, 6]);
});
