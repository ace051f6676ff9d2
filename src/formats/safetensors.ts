/** `.safetensors` reader with the reference implementation's strict header validation. */
import { ByteSource, SliceSource } from './source';
import { DType, ITEM_SIZE } from './dtypes';
import { fail, QuantLensError } from '../core/errors';
import { TensorRef, contiguousStrides, numelOf } from './tensor';
import { DumpFile } from './dump';

/** The reference reader refuses headers over 100 MB. */
export const MAX_HEADER_BYTES = 100_000_000;

export const SAFETENSORS_DTYPES: Record<string, DType> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F8_E4M3: 'float8_e4m3fn',
  F8_E5M2: 'float8_e5m2',
  F8_E4M3FNUZ: 'float8_e4m3fnuz',
  F8_E5M2FNUZ: 'float8_e5m2fnuz',
  F8_E8M0: 'float8_e8m0fnu',
  F4: 'float4_e2m1fn',
  F6_E2M3: 'float6_e2m3fn',
  F6_E3M2: 'float6_e3m2fn',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U64: 'uint64',
  U32: 'uint32',
  U16: 'uint16',
  U8: 'uint8',
  BOOL: 'bool',
  C64: 'complex64',
};

const JSON_WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

export function looksLikeSafetensors(src: ByteSource): boolean {
  if (src.size < 10) return false;
  const head = src.readSync(0, Math.min(src.size, 8 + 64));
  const n = head.readBigUInt64LE(0);
  if (n < 2n || n > BigInt(src.size - 8)) return false;
  // The JSON may be led by whitespace (writers pad it to align the data); then comes its "{".
  let i = 8;
  while (i < head.length && JSON_WHITESPACE.has(head[i])) i++;
  return head[i] === 0x7b;
}

export function readSafetensors(path: string, src: ByteSource): DumpFile {
  if (src.size < 8) fail('invalid-safetensors', `file is ${src.size} bytes, too short for a safetensors header length`, path);
  const n64 = src.readSync(0, 8).readBigUInt64LE(0);
  if (n64 > BigInt(MAX_HEADER_BYTES)) fail('limit-exceeded', `safetensors header length ${n64} exceeds the ${MAX_HEADER_BYTES}-byte limit`, path);
  const n = Number(n64);
  if (8 + n > src.size) fail('truncated', `safetensors header (${n} bytes) runs past the end of the file (${src.size} bytes)`, path);
  const headerBytes = src.readSync(8, n);
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
    if (!text.trimStart().startsWith('{')) fail('invalid-safetensors', 'safetensors header does not start with "{"', `${path}: header`);
    header = JSON.parse(text);
  } catch (err) {
    if (err instanceof QuantLensError) throw err;
    fail('invalid-safetensors', `safetensors header is not valid UTF-8 JSON: ${(err as Error).message}`, `${path}: header`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    fail('invalid-safetensors', 'safetensors header is not a JSON object', `${path}: header`);
  const dataStart = 8 + n;
  const dataLen = src.size - dataStart;
  let metadata: Record<string, string> | null = null;
  const entries: { name: string; dtype: DType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    const where = `${path}: header.${name}`;
    if (name === '__metadata__') {
      if (info === null) continue; // the reference reader's Option: null is "no metadata"
      if (typeof info !== 'object' || info === null || Array.isArray(info)) fail('invalid-safetensors', '__metadata__ is not an object', where);
      metadata = {};
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') fail('invalid-safetensors', `__metadata__.${k} is not a string`, where);
        metadata[k] = v;
      }
      continue;
    }
    if (typeof info !== 'object' || info === null) fail('invalid-safetensors', 'tensor entry is not an object', where);
    const { dtype, shape, data_offsets } = info as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in SAFETENSORS_DTYPES)) fail('invalid-safetensors', `unknown dtype ${JSON.stringify(dtype)}`, where);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail('invalid-safetensors', `invalid shape ${JSON.stringify(shape)}`, where);
    if (!Array.isArray(data_offsets) || data_offsets.length !== 2 || !data_offsets.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail('invalid-safetensors', `invalid data_offsets ${JSON.stringify(data_offsets)}`, where);
    }
    const dt = SAFETENSORS_DTYPES[dtype];
    const numel = numelOf(shape as number[]);
    const bits = numel * ITEM_SIZE[dt] * 8;
    if (!Number.isSafeInteger(bits)) fail('invalid-safetensors', `shape ${JSON.stringify(shape)} overflows`, where);
    if (bits % 8 !== 0) fail('invalid-safetensors', `shape ${JSON.stringify(shape)} of ${dtype} is ${bits} bits, not a whole number of bytes`, where);
    const bytes = bits / 8;
    const [begin, end] = data_offsets as number[];
    if (end < begin) fail('invalid-safetensors', `data_offsets [${begin}, ${end}] end before they begin`, where);
    if (end - begin !== bytes)
      fail('invalid-safetensors', `shape ${JSON.stringify(shape)} of ${dtype} needs ${bytes} bytes but data_offsets span ${end - begin}`, where);
    entries.push({ name, dtype: dt, shape: shape as number[], begin, end });
  }
  // As the reference: byte ranges sorted by offset must tile the data region exactly.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    if (e.begin !== cursor) {
      fail(
        'invalid-safetensors',
        e.begin < cursor
          ? `tensor data overlaps the previous tensor (begins at ${e.begin}, previous ends at ${cursor})`
          : `gap in tensor data before offset ${e.begin} (previous ends at ${cursor})`,
        `${path}: header.${e.name}`,
      );
    }
    cursor = e.end;
  }
  if (cursor !== dataLen) fail('invalid-safetensors', `tensor data covers ${cursor} bytes but the file holds ${dataLen} after the header`, path);
  const tensors: TensorRef[] = entries.map((e) => ({
    name: e.name,
    dtype: e.dtype,
    shape: e.shape,
    strides: contiguousStrides(e.shape),
    storageOffset: 0,
    quantization: null,
    storage: {
      source: new SliceSource(src, dataStart + e.begin, e.end - e.begin, `${path}: ${e.name}`),
      dtype: e.dtype,
      numel: numelOf(e.shape),
      littleEndian: true,
    },
  }));
  return { path, format: 'safetensors', metadata, tensors, objects: [], close: () => src.close() };
}
