import { fail } from '../core/errors';

/** Element types, named as torch prints them without the `torch.` prefix. */
export type DType =
  | 'float64'
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'float8_e4m3fn'
  | 'float8_e5m2'
  | 'float8_e4m3fnuz'
  | 'float8_e5m2fnuz'
  | 'float8_e8m0fnu'
  | 'float4_e2m1fn'
  | 'float6_e2m3fn'
  | 'float6_e3m2fn'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint64'
  | 'uint32'
  | 'uint16'
  | 'uint8'
  | 'bool'
  | 'complex64'
  | 'complex128'
  | 'qint8'
  | 'quint8'
  | 'qint32';

/**
 * Bytes per element. The OCP microscaling types F4 and F6 are sub-byte (0.5 and 0.75): a file may
 * list them (safetensors does, packed), but their values are not addressable per element; see
 * `isSubByte`.
 */
export const ITEM_SIZE: Record<DType, number> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float8_e4m3fn: 1,
  float8_e5m2: 1,
  float8_e4m3fnuz: 1,
  float8_e5m2fnuz: 1,
  float8_e8m0fnu: 1,
  float4_e2m1fn: 0.5,
  float6_e2m3fn: 0.75,
  float6_e3m2fn: 0.75,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint64: 8,
  uint32: 4,
  uint16: 2,
  uint8: 1,
  bool: 1,
  complex64: 8,
  complex128: 16,
  qint8: 1,
  quint8: 1,
  qint32: 4,
};

export const isSubByte = (d: DType): boolean => !Number.isInteger(ITEM_SIZE[d]);
/** The FP8 element types, whose codes carry their own exponent (checked for NaN and saturation, not against an integer grid). */
export const FP8_DTYPES: readonly DType[] = ['float8_e4m3fn', 'float8_e5m2', 'float8_e4m3fnuz', 'float8_e5m2fnuz'];
export const isQuantizedDType = (d: DType): boolean => d === 'qint8' || d === 'quint8' || d === 'qint32';
export const isComplex = (d: DType): boolean => d === 'complex64' || d === 'complex128';
export const isIntegerDType = (d: DType): boolean =>
  ['int64', 'int32', 'int16', 'int8', 'uint64', 'uint32', 'uint16', 'uint8', 'bool', 'qint8', 'quint8', 'qint32'].includes(d);

/** torch storage class (as pickled: `torch FloatStorage`) → dtype. */
export const TORCH_STORAGE_DTYPE: Record<string, DType> = {
  DoubleStorage: 'float64',
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  ComplexFloatStorage: 'complex64',
  ComplexDoubleStorage: 'complex128',
  QInt8Storage: 'qint8',
  QUInt8Storage: 'quint8',
  QInt32Storage: 'qint32',
  Float8_e4m3fnStorage: 'float8_e4m3fn',
  Float8_e5m2Storage: 'float8_e5m2',
  Float8_e4m3fnuzStorage: 'float8_e4m3fnuz',
  Float8_e5m2fnuzStorage: 'float8_e5m2fnuz',
  Float8_e8m0fnuStorage: 'float8_e8m0fnu',
  UInt16Storage: 'uint16',
  UInt32Storage: 'uint32',
  UInt64Storage: 'uint64',
};

/** `torch.float32` and friends, as pickled dtype objects (`torch float32`). */
export const TORCH_DTYPE_NAMES: Record<string, DType> = {
  float64: 'float64',
  double: 'float64',
  float32: 'float32',
  float: 'float32',
  float16: 'float16',
  half: 'float16',
  bfloat16: 'bfloat16',
  float8_e4m3fn: 'float8_e4m3fn',
  float8_e5m2: 'float8_e5m2',
  float8_e4m3fnuz: 'float8_e4m3fnuz',
  float8_e5m2fnuz: 'float8_e5m2fnuz',
  float8_e8m0fnu: 'float8_e8m0fnu',
  int64: 'int64',
  long: 'int64',
  int32: 'int32',
  int: 'int32',
  int16: 'int16',
  short: 'int16',
  int8: 'int8',
  uint8: 'uint8',
  uint16: 'uint16',
  uint32: 'uint32',
  uint64: 'uint64',
  bool: 'bool',
  complex64: 'complex64',
  cfloat: 'complex64',
  complex128: 'complex128',
  cdouble: 'complex128',
  qint8: 'qint8',
  quint8: 'quint8',
  qint32: 'qint32',
};

const f32scratch = new Float32Array(1);
const u32scratch = new Uint32Array(f32scratch.buffer);

function bf16(bits: number): number {
  u32scratch[0] = bits << 16;
  return f32scratch[0];
}

function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1,
    e = (h >> 10) & 0x1f,
    m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** OCP float8 formats; the `fnuz` variants have bias+1, no negative zero and NaN at 0x80. */
function f8(b: number, expBits: number, manBits: number, bias: number, kind: 'fn' | 'e5m2' | 'fnuz'): number {
  if (kind === 'fnuz' && b === 0x80) return NaN;
  const s = b & 0x80 ? -1 : 1,
    e = (b >> manBits) & ((1 << expBits) - 1),
    m = b & ((1 << manBits) - 1);
  const emax = (1 << expBits) - 1;
  if (kind === 'fn' && e === emax && m === (1 << manBits) - 1) return NaN; // e4m3fn: only S.1111.111 is NaN
  if (kind === 'e5m2' && e === emax) return m ? NaN : s * Infinity;
  if (e === 0) return s * m * 2 ** (1 - bias - manBits);
  return s * (1 + m / (1 << manBits)) * 2 ** (e - bias);
}

/**
 * Decode `count` elements from raw little- or big-endian bytes into doubles.
 * Complex numbers give their real part (stats of complex tensors are of the real part; documented).
 */
export function decodeToFloat64(dtype: DType, bytes: Buffer, littleEndian = true): Float64Array {
  if (isSubByte(dtype)) fail('unsupported', `values of ${dtype} (${ITEM_SIZE[dtype] * 8} bits, packed) are listed but not decoded`);
  const size = ITEM_SIZE[dtype];
  const n = Math.floor(bytes.length / size);
  const out = new Float64Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = littleEndian;
  switch (dtype) {
    case 'float64':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, le);
      break;
    case 'float32':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, le);
      break;
    case 'complex64':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 8, le);
      break;
    case 'complex128':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 16, le);
      break;
    case 'float16':
      for (let i = 0; i < n; i++) out[i] = f16(dv.getUint16(i * 2, le));
      break;
    case 'bfloat16':
      for (let i = 0; i < n; i++) out[i] = bf16(dv.getUint16(i * 2, le));
      break;
    case 'float8_e4m3fn':
      for (let i = 0; i < n; i++) out[i] = f8(bytes[i], 4, 3, 7, 'fn');
      break;
    case 'float8_e5m2':
      for (let i = 0; i < n; i++) out[i] = f8(bytes[i], 5, 2, 15, 'e5m2');
      break;
    case 'float8_e4m3fnuz':
      for (let i = 0; i < n; i++) out[i] = f8(bytes[i], 4, 3, 8, 'fnuz');
      break;
    case 'float8_e5m2fnuz':
      for (let i = 0; i < n; i++) out[i] = f8(bytes[i], 5, 2, 16, 'fnuz');
      break;
    case 'float8_e8m0fnu':
      // OCP E8M0: an exponent only, 2^(b-127); 0xFF is NaN. Used for MX block scales.
      for (let i = 0; i < n; i++) out[i] = bytes[i] === 0xff ? NaN : 2 ** (bytes[i] - 127);
      break;
    case 'int64':
      for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(i * 8, le));
      break;
    case 'uint64':
      for (let i = 0; i < n; i++) out[i] = Number(dv.getBigUint64(i * 8, le));
      break;
    case 'int32':
    case 'qint32':
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, le);
      break;
    case 'uint32':
      for (let i = 0; i < n; i++) out[i] = dv.getUint32(i * 4, le);
      break;
    case 'int16':
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, le);
      break;
    case 'uint16':
      for (let i = 0; i < n; i++) out[i] = dv.getUint16(i * 2, le);
      break;
    case 'int8':
    case 'qint8':
      for (let i = 0; i < n; i++) out[i] = dv.getInt8(i);
      break;
    case 'uint8':
    case 'quint8':
      for (let i = 0; i < n; i++) out[i] = bytes[i];
      break;
    case 'bool':
      for (let i = 0; i < n; i++) out[i] = bytes[i] ? 1 : 0;
      break;
    default:
      fail('unsupported', `cannot decode dtype ${dtype as string}`);
  }
  return out;
}

/**
 * Decode to FP32 for the numeric kernels. Exact for every type the kernels care about
 * (f32, f16, bf16, f8, int8/uint8/int16, int32 up to 2^24); f64 is rounded to f32.
 */
export function decodeToFloat32(dtype: DType, bytes: Buffer, littleEndian = true): Float32Array {
  if (dtype === 'float32' && littleEndian && bytes.byteOffset % 4 === 0) {
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  }
  if (dtype === 'float32' && littleEndian) {
    const copy = Buffer.from(bytes);
    return new Float32Array(copy.buffer, copy.byteOffset, copy.length / 4);
  }
  return Float32Array.from(decodeToFloat64(dtype, bytes, littleEndian));
}
