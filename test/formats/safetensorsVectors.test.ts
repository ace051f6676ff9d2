import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readSafetensors } from '../../src/formats/safetensors';
import { BufferSource } from '../../src/formats/source';
import { QuantLensError } from '../../src/core/errors';

/**
 * The safetensors reference reader's own test vectors, as data: the byte strings of the tests in
 * huggingface/safetensors `safetensors/src/tensor.rs` (commit 24b0b28, May 2026). What it reads we
 * read with the same names, dtypes and shapes; what it refuses we refuse with one coded line.
 */
const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const I32_2x2 = '{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}';
const ZEROS16 = '\x00'.repeat(16);

const READ: { test: string; bytes: Buffer; tensors: [string, string, number[]][] }[] = [
  {
    test: 'test_empty_shapes_allowed',
    bytes: b(`8\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[],"data_offsets":[0,4]}}\x00\x00\x00\x00`),
    tensors: [['test', 'int32', []]],
  },
  { test: 'test_deserialization', bytes: b(`<\x00\x00\x00\x00\x00\x00\x00${I32_2x2}${ZEROS16}`), tensors: [['test', 'int32', [2, 2]]] },
  { test: 'test_whitespace_padded_header', bytes: b('\x06\x00\x00\x00\x00\x00\x00\x00{}\x0D\x20\x09\x0A'), tensors: [] },
  { test: 'test_whitespace_leading_padded_header', bytes: b('\x06\x00\x00\x00\x00\x00\x00\x00\x09\x0A{}\x0D\x20'), tensors: [] },
  {
    test: 'test_zero_sized_tensor',
    bytes: b('<\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,0],"data_offsets":[0, 0]}}'),
    tensors: [['test', 'int32', [2, 0]]],
  },
  { test: 'test_empty', bytes: Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]), tensors: [] },
  {
    test: 'test_serialization',
    bytes: Buffer.concat([
      b('@\x00\x00\x00\x00\x00\x00\x00{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}'),
      Buffer.from(new Float32Array([0, 1, 2, 3, 4, 5]).buffer),
    ]),
    tensors: [['attn.0', 'float32', [1, 2, 3]]],
  },
  {
    test: 'test_serialization_fp4',
    bytes: b('@\x00\x00\x00\x00\x00\x00\x00{"attn.0":{"dtype":"F4","shape":[1,2],"data_offsets":[0,1]}}    \x00'),
    tensors: [['attn.0', 'float4_e2m1fn', [1, 2]]],
  },
];

const REFUSED: { test: string; bytes: Buffer; code: string }[] = [
  { test: 'test_json_attack (ten tensors on one byte range)', bytes: jsonAttack(), code: 'invalid-safetensors' },
  {
    test: 'test_metadata_incomplete_buffer (polyglot tail)',
    bytes: b(`<\x00\x00\x00\x00\x00\x00\x00${I32_2x2}${ZEROS16}extra_bogus_data_for_polyglot_file`),
    code: 'invalid-safetensors',
  },
  {
    test: 'test_metadata_incomplete_buffer (2 bytes missing)',
    bytes: b(`<\x00\x00\x00\x00\x00\x00\x00${I32_2x2}${'\x00'.repeat(14)}`),
    code: 'invalid-safetensors',
  },
  { test: 'test_header_too_large', bytes: b(`<\x00\x00\x00\x00\xff\xff\xff${I32_2x2}${ZEROS16}`), code: 'limit-exceeded' },
  { test: 'test_header_too_small', bytes: Buffer.alloc(0), code: 'invalid-safetensors' },
  { test: 'test_invalid_header_length', bytes: b('<\x00\x00\x00\x00\x00\x00\x00'), code: 'truncated' },
  { test: 'test_invalid_header_non_utf8', bytes: b('\x01\x00\x00\x00\x00\x00\x00\x00\xff'), code: 'invalid-safetensors' },
  { test: 'test_invalid_header_not_json', bytes: b('\x01\x00\x00\x00\x00\x00\x00\x00{'), code: 'invalid-safetensors' },
  {
    test: 'test_invalid_info',
    bytes: b('<\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0, 4]}}'),
    code: 'invalid-safetensors',
  },
  {
    test: 'test_validation_overflow (shape)',
    bytes: b(`O\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,18446744073709551614],"data_offsets":[0,16]}}${ZEROS16}`),
    code: 'invalid-safetensors',
  },
  {
    test: 'test_validation_overflow (bytes)',
    bytes: b(`N\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,9223372036854775807],"data_offsets":[0,16]}}${ZEROS16}`),
    code: 'invalid-safetensors',
  },
  {
    test: 'test_serialization_fp4_misaligned (3 x 4 bits)',
    bytes: b('@\x00\x00\x00\x00\x00\x00\x00{"attn.0":{"dtype":"F4","shape":[1,3],"data_offsets":[0,2]}}    \x00\x01'),
    code: 'invalid-safetensors',
  },
];

function jsonAttack(): Buffer {
  const header: Record<string, unknown> = {};
  for (let i = 0; i < 10; i++) header[`weight_${i}`] = { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] };
  const json = b(JSON.stringify(header));
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([n, json, Buffer.alloc(16)]);
}

for (const v of READ) {
  test(`safetensors reference vector read: ${v.test}`, () => {
    const dump = readSafetensors(v.test, new BufferSource(v.bytes, v.test));
    assert.deepEqual(
      dump.tensors.map((t) => [t.name, t.dtype, t.shape]),
      v.tensors,
    );
  });
}

for (const v of REFUSED) {
  test(`safetensors reference vector refused: ${v.test}`, () => {
    assert.throws(
      () => readSafetensors(v.test, new BufferSource(v.bytes, v.test)),
      (err: unknown) => err instanceof QuantLensError && err.code === v.code && !err.message.includes('\n'),
    );
  });
}

test('the reference serialization vector reads back its values', async () => {
  const { readAllFloat64 } = await import('../../src/formats/tensor');
  const v = READ.find((x) => x.test === 'test_serialization')!;
  const dump = readSafetensors(v.test, new BufferSource(v.bytes, v.test));
  assert.deepEqual([...(await readAllFloat64(dump.tensors[0]))], [0, 1, 2, 3, 4, 5]);
});

/** The attack files of huggingface/safetensors `attacks/`, rebuilt as their scripts build them. */
test('safetensors attack 1 (header length lies: 1000 bytes in a small file) is refused as truncated', () => {
  const json = b('{"weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}');
  const file = Buffer.concat([Buffer.alloc(8), json, Buffer.alloc(16)]);
  file.writeBigUInt64LE(1000n);
  assert.throws(
    () => readSafetensors('attack1', new BufferSource(file, 'attack1')),
    (e: unknown) => e instanceof QuantLensError && e.code === 'truncated',
  );
});

test('safetensors attack 3 (100,000 tensors all on the same 160 KB) is refused as overlapping', () => {
  const header: Record<string, unknown> = {};
  const n = 200 * 200 * 4;
  for (let i = 0; i < 100_000; i++) header[`weight_${i}`] = { dtype: 'F32', shape: [200, 200], data_offsets: [0, n] };
  const json = b(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const file = Buffer.concat([len, json, Buffer.alloc(n)]);
  assert.throws(
    () => readSafetensors('attack3', new BufferSource(file, 'attack3')),
    (e: unknown) => e instanceof QuantLensError && e.code === 'invalid-safetensors' && /overlaps/.test(e.message),
  );
});
