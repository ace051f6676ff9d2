import * as os from 'os';
import { ByteSource, FileRegion } from './source';
import { DType, ITEM_SIZE, decodeToFloat32, decodeToFloat64, isSubByte } from './dtypes';
import { fail, CancelledError } from '../core/errors';

export type Quantization =
  | { scheme: 'per_tensor_affine' | 'per_tensor_symmetric'; scale: number; zero_point: number }
  | { scheme: 'per_channel_affine' | 'per_channel_symmetric' | 'per_channel_affine_float_qparams'; scales: number[]; zero_points: number[]; axis: number };

/** Where a tensor's bytes live: a storage (a byte source) plus an element offset into it. */
export interface Storage {
  source: ByteSource;
  dtype: DType;
  /** Number of elements the storage holds. */
  numel: number;
  littleEndian: boolean;
}

/** One tensor of any format: metadata is known at open time, values are read on demand. */
export interface TensorRef {
  name: string;
  dtype: DType;
  shape: number[];
  strides: number[];
  storageOffset: number;
  storage: Storage;
  quantization: Quantization | null;
}

export const numelOf = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

export function contiguousStrides(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function isContiguous(t: Pick<TensorRef, 'shape' | 'strides'>): boolean {
  let expected = 1;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.strides[i] !== expected) return false;
    expected *= t.shape[i];
  }
  return true;
}

/**
 * Checks that every element the view can address lies inside its storage, so a lying header
 * can never make a read run past the data it was given.
 */
export function checkViewBounds(t: TensorRef, where: string): void {
  const { shape, strides, storageOffset, storage } = t;
  if (shape.length !== strides.length) fail('invalid-tensor', `shape has ${shape.length} dims but stride has ${strides.length}`, where);
  for (const d of shape) if (!Number.isSafeInteger(d) || d < 0) fail('invalid-tensor', `invalid dimension ${d} in shape [${shape}]`, where);
  for (const s of strides) if (!Number.isSafeInteger(s) || s < 0) fail('invalid-tensor', `invalid stride ${s} in [${strides}]`, where);
  if (!Number.isSafeInteger(storageOffset) || storageOffset < 0) fail('invalid-tensor', `invalid storage offset ${storageOffset}`, where);
  const n = numelOf(shape);
  if (!Number.isSafeInteger(n)) fail('limit-exceeded', `shape [${shape}] has too many elements`, where);
  if (n === 0) return;
  let last = storageOffset;
  for (let i = 0; i < shape.length; i++) last += (shape[i] - 1) * strides[i];
  if (!Number.isSafeInteger(last) || last >= storage.numel) {
    fail(
      'invalid-tensor',
      `view (shape [${shape}], stride [${strides}], offset ${storageOffset}) reaches element ${last} but its storage holds ${storage.numel}`,
      where,
    );
  }
}

/** Largest byte span read at once for a strided gather. */
const GATHER_SPAN_BYTES = 64 << 20;

/**
 * Reads the raw bytes of elements [start, start+count) in row-major order.
 * Contiguous tensors read one range; strided views gather from the covering span
 * (or row by row when the span is large), so no read is unbounded.
 */
export async function readRawElements(t: TensorRef, start: number, count: number, reuse?: Buffer): Promise<Buffer> {
  const item = ITEM_SIZE[t.dtype];
  if (isSubByte(t.dtype)) fail('unsupported', `values of ${t.dtype} (${item * 8} bits, packed) are listed but not read per element`, t.name);
  const n = numelOf(t.shape);
  if (start < 0 || count < 0 || start + count > n) fail('invalid-tensor', `element range [${start}, ${start + count}) outside tensor of ${n}`, t.name);
  if (count === 0) return Buffer.alloc(0);
  const src = t.storage.source;
  if (isContiguous(t)) {
    const off = (t.storageOffset + start) * item;
    return reuse && src.readInto && reuse.length >= count * item ? src.readInto(reuse, off, count * item) : src.read(off, count * item);
  }
  const out = reuse && reuse.length >= count * item ? reuse.subarray(0, count * item) : Buffer.allocUnsafe(count * item);
  const idx = unravel(start, t.shape);
  const rank = t.shape.length;
  let written = 0;
  while (written < count) {
    // One run along the last dimension.
    const inner = rank ? t.shape[rank - 1] - idx[rank - 1] : 1;
    const run = Math.min(inner, count - written);
    let base = t.storageOffset;
    for (let d = 0; d < rank; d++) base += idx[d] * t.strides[d];
    const st = rank ? t.strides[rank - 1] : 1;
    const spanElems = (run - 1) * st + 1;
    if (spanElems * item <= GATHER_SPAN_BYTES) {
      const span = await t.storage.source.read(base * item, spanElems * item);
      for (let k = 0; k < run; k++) span.copy(out, (written + k) * item, k * st * item, k * st * item + item);
    } else {
      for (let k = 0; k < run; k++) (await t.storage.source.read((base + k * st) * item, item)).copy(out, (written + k) * item);
    }
    written += run;
    // Advance the multi-index by `run`.
    let carry = run;
    for (let d = rank - 1; d >= 0 && carry; d--) {
      const v = idx[d] + carry;
      idx[d] = v % t.shape[d];
      carry = Math.floor(v / t.shape[d]);
    }
  }
  return out;
}

export function unravel(flat: number, shape: number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return idx;
}

export const DEFAULT_CHUNK_ELEMENTS = 1 << 22;

/** Streams a tensor's values as doubles, in row-major chunks (bounded memory). */
export async function* float64Chunks(t: TensorRef, chunk = DEFAULT_CHUNK_ELEMENTS): AsyncGenerator<{ start: number; values: Float64Array }> {
  const n = numelOf(t.shape);
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    const raw = await readRawElements(t, start, count);
    yield { start, values: decodeToFloat64(t.dtype, raw, t.storage.littleEndian) };
  }
}

/**
 * Streams a tensor's values as FP32 (the numeric kernels' input). Read buffers are reused (fresh
 * 16 MB buffers cost a page fault per page): with one buffer each chunk's values are valid only
 * until the consumer asks for the next chunk; with two (for `readAhead`), until it asks for the one
 * after that.
 */
export async function* float32Chunks(
  t: TensorRef,
  chunk = DEFAULT_CHUNK_ELEMENTS,
  buffers: 1 | 2 = 1,
): AsyncGenerator<{ start: number; values: Float32Array }> {
  const n = numelOf(t.shape);
  const reuse = Array.from({ length: n > chunk ? buffers : 1 }, () => Buffer.allocUnsafeSlow(Math.min(chunk, n) * ITEM_SIZE[t.dtype]));
  for (let start = 0, k = 0; start < n; start += chunk, k++) {
    const count = Math.min(chunk, n - start);
    const raw = await readRawElements(t, start, count, reuse[k % reuse.length]);
    yield { start, values: decodeToFloat32(t.dtype, raw, t.storage.littleEndian) };
  }
}

/**
 * Yields what `source` yields, asking it for the next item as soon as this one is handed out, so
 * that reading the next chunk overlaps the consumer's (native, off-thread) work on this one. The
 * source must keep an item valid until the item after next is asked for: float32Chunks with two
 * buffers. Stopping early waits for the read in flight and closes the source.
 */
export async function* readAhead<T>(source: AsyncGenerator<T>): AsyncGenerator<T> {
  let next: Promise<IteratorResult<T>> | undefined = source.next();
  try {
    for (;;) {
      const r: IteratorResult<T> = await next;
      next = undefined;
      if (r.done) return;
      next = source.next();
      yield r.value;
    }
  } finally {
    if (next) await next.catch(() => undefined);
    await source.return(undefined);
  }
}

/** float32Chunks with the next chunk read while the consumer works on this one (two buffers, as readAhead needs). */
export function float32ChunksReadAhead(t: TensorRef, chunk = DEFAULT_CHUNK_ELEMENTS): AsyncGenerator<{ start: number; values: Float32Array }> {
  return readAhead(float32Chunks(t, chunk, 2));
}

/**
 * Two tensors of the same length read in step, chunk by chunk, each with read-ahead (the comparison of
 * two runs). Between chunks an aborted `signal` throws CancelledError; stopping early, for any reason,
 * waits for the reads in flight, so none is left behind.
 */
export async function* float32ChunkPairs(
  a: TensorRef,
  b: TensorRef,
  signal?: AbortSignal,
): AsyncGenerator<{ start: number; a: Float32Array; b: Float32Array }> {
  const ga = float32ChunksReadAhead(a),
    gb = float32ChunksReadAhead(b);
  try {
    for (;;) {
      if (signal?.aborted) throw new CancelledError();
      const [x, y] = await Promise.all([ga.next(), gb.next()]);
      if (x.done || y.done) return;
      yield { start: x.value.start, a: x.value.values, b: y.value.values };
    }
  } finally {
    await Promise.all([ga.return(undefined), gb.return(undefined)]);
  }
}

/**
 * The file run that holds a tensor's values as native FP32 (float32, contiguous, in this machine's byte
 * order, stored uncompressed in a file), for kernels that read it themselves; undefined otherwise.
 */
export function float32FileRegion(t: TensorRef): FileRegion | undefined {
  if (t.dtype !== 'float32' || !isContiguous(t) || t.storage.littleEndian !== (os.endianness() === 'LE')) return undefined;
  const n = numelOf(t.shape);
  if (n === 0) return undefined;
  return t.storage.source.fileRegion?.(t.storageOffset * 4, n * 4);
}

/** Reads a whole (small) tensor as doubles; refuses anything over `limit` elements. */
export async function readAllFloat64(t: TensorRef, limit = 1 << 26): Promise<Float64Array> {
  const n = numelOf(t.shape);
  if (n > limit) fail('limit-exceeded', `tensor has ${n} elements, more than the ${limit} read at once`, t.name);
  return decodeToFloat64(t.dtype, await readRawElements(t, 0, n), t.storage.littleEndian);
}

/** Per-element channel for per-channel quantization: index → channel along `axis`. */
export function channelStride(shape: number[], axis: number): number {
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  return inner;
}
