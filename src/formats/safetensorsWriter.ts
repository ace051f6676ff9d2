import * as fs from 'fs';
import { DType, ITEM_SIZE } from './dtypes';
import { QuantLensError } from '../core/errors';

const ST_NAMES: Partial<Record<DType, string>> = {
  float32: 'F32',
  float64: 'F64',
  int8: 'I8',
  uint8: 'U8',
  int32: 'I32',
  int64: 'I64',
  float16: 'F16',
  bfloat16: 'BF16',
  int16: 'I16',
};

export interface NamedArray {
  name: string;
  dtype: DType;
  shape: number[];
  data: ArrayBufferView;
}

/** Serializes tensors as safetensors (8-byte header length, JSON header padded to 8 bytes, data). */
export function encodeSafetensors(tensors: NamedArray[], metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const st = ST_NAMES[t.dtype];
    if (!st) throw new QuantLensError('unsupported', `cannot write dtype ${t.dtype} to safetensors`);
    const bytes = t.shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[t.dtype];
    if (bytes !== t.data.byteLength) throw new QuantLensError('invalid-argument', `tensor ${t.name}: ${t.data.byteLength} bytes for shape [${t.shape}]`);
    header[t.name] = { dtype: st, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  // Pad by bytes, not characters: a tensor named "é" is one character but two UTF-8 bytes.
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(padded.length));
  return Buffer.concat([head, padded, ...tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))]);
}

/** Writes to a new file only (never over an existing dump unless the user named it as the output). */
export function writeSafetensors(file: string, tensors: NamedArray[], metadata?: Record<string, string>): void {
  fs.writeFileSync(file, encodeSafetensors(tensors, metadata));
}
