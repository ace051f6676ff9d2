/** NumPy `.npy` and `.npz` readers. Object arrays are refused: they are pickles. */
import { ByteSource, SliceSource } from './source';
import { ZipArchive } from './zip';
import { DType, ITEM_SIZE } from './dtypes';
import { fail, QuantLensError } from '../core/errors';
import { TensorRef, contiguousStrides, numelOf } from './tensor';
import { DumpFile, ObjectEntry } from './dump';

/** Error codes that mean "a valid array of a kind we do not decode", as opposed to a damaged one. */
const NOT_NUMERIC = new Set(['unsupported']);

const MAGIC = Buffer.from('\x93NUMPY', 'latin1');

const NPY_DTYPES: Record<string, DType> = {
  f8: 'float64',
  f4: 'float32',
  f2: 'float16',
  i8: 'int64',
  i4: 'int32',
  i2: 'int16',
  i1: 'int8',
  u8: 'uint64',
  u4: 'uint32',
  u2: 'uint16',
  u1: 'uint8',
  b1: 'bool',
  c8: 'complex64',
  c16: 'complex128',
};

export const looksLikeNpy = (src: ByteSource): boolean => src.size >= 10 && src.readSync(0, 6).equals(MAGIC);

function parseHeader(text: string, where: string): { descr: string; fortran: boolean; shape: number[] } {
  if (/['"]descr['"]\s*:\s*\[/.test(text)) fail('unsupported', 'npy array has a structured (record) dtype, not numeric elements', where);
  // As numpy: exactly the three keys, no more (a dict with an extra key is not an npy header).
  const keys = [...text.matchAll(/['"]([A-Za-z_]+)['"]\s*:/g)].map((m) => m[1]).sort();
  if (keys.join(',') !== 'descr,fortran_order,shape')
    fail('invalid-npy', `npy header keys are ${JSON.stringify(keys)}, not exactly descr, fortran_order and shape`, where);
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) fail('invalid-npy', `npy header is not a descr/fortran_order/shape dict: ${JSON.stringify(text.slice(0, 120))}`, where);
  const dims = shape[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length);
  // Python 2 wrote longs with an L suffix, `(2L, 3L)`; numpy still reads those files.
  if (!dims.every((d) => /^\d+L?$/.test(d))) fail('invalid-npy', `npy shape (${shape[1]}) is not a tuple of non-negative integers`, where);
  return { descr: descr[1], fortran: fortran[1] === 'True', shape: dims.map((d) => Number(d.replace(/L$/, ''))) };
}

/** One array stored at `src` (a file or an npz member). */
export function readNpyArray(name: string, src: ByteSource, where: string): TensorRef {
  if (!looksLikeNpy(src)) fail('invalid-npy', 'not an .npy array (magic missing)', where);
  const head = src.readSync(0, 10);
  const major = head[6];
  if (head[7] !== 0 || major < 1 || major > 3) fail('unsupported', `unsupported npy format version ${major}.${head[7]} (numpy writes 1.0, 2.0 and 3.0)`, where);
  let hlen: number, hstart: number;
  if (major === 1) {
    hlen = head.readUInt16LE(8);
    hstart = 10;
  } else if (major === 2 || major === 3) {
    if (src.size < 12) fail('truncated', 'npy header truncated', where);
    hlen = src.readSync(8, 4).readUInt32LE(0);
    hstart = 12;
  } else fail('unsupported', `unsupported npy format version ${major}`, where);
  if (hlen > 1 << 20) fail('invalid-npy', `npy header length ${hlen} is implausible`, where);
  if (hstart + hlen > src.size) fail('truncated', `npy header (${hlen} bytes) runs past the end of the data`, where);
  const { descr, fortran, shape } = parseHeader(src.readSync(hstart, hlen).toString('latin1'), where);
  const m = /^([<>|=])([a-zA-Z]\d+)$/.exec(descr);
  if (descr.includes('O')) fail('unsupported', 'npy array holds Python objects (a pickle); refused', where);
  if (!m || !(m[2] in NPY_DTYPES)) fail('unsupported', `unsupported npy dtype ${JSON.stringify(descr)}`, where);
  const dtype = NPY_DTYPES[m[2]];
  const numel = numelOf(shape);
  const bytes = numel * ITEM_SIZE[dtype];
  const dataStart = hstart + hlen;
  if (!Number.isSafeInteger(bytes) || dataStart + bytes > src.size) {
    fail('invalid-npy', `npy header declares shape (${shape}) of ${descr} (${bytes} bytes) but only ${src.size - dataStart} bytes follow`, where);
  }
  const strides = fortran ? contiguousStrides([...shape].reverse()).reverse() : contiguousStrides(shape);
  return {
    name,
    dtype,
    shape,
    strides,
    storageOffset: 0,
    quantization: null,
    storage: { source: new SliceSource(src, dataStart, bytes, where), dtype, numel, littleEndian: m[1] !== '>' },
  };
}

export function readNpy(path: string, src: ByteSource): DumpFile {
  return { path, format: 'npy', metadata: null, tensors: [readNpyArray('', src, path)], objects: [], close: () => src.close() };
}

/**
 * An archive is read member by member: a member that is not a numeric array (strings, Python
 * objects, records) is listed as skipped with the reason, and the arrays beside it stay readable.
 * A member that is damaged (truncated, bad header) still fails the archive: that is corruption.
 */
export function readNpz(path: string, src: ByteSource, zip = new ZipArchive(src)): DumpFile {
  const tensors: TensorRef[] = [];
  const objects: ObjectEntry[] = [];
  for (const entry of zip.entries.keys()) {
    if (!entry.endsWith('.npy')) continue;
    const name = entry.slice(0, -4);
    try {
      tensors.push(readNpyArray(name, zip.open(entry), `${path}: ${entry}`));
    } catch (err) {
      if (!(err instanceof QuantLensError) || !NOT_NUMERIC.has(err.code)) throw err;
      objects.push({ name, type: 'other', class: 'numpy array (skipped)', value: err.message });
    }
  }
  return { path, format: 'npz', metadata: null, tensors, objects, close: () => src.close() };
}
