/** Reading a layer's parameters and inputs out of dumps: the same rules for every layer runner. */
import { DumpFile } from '../../formats/dump';
import { TensorRef, numelOf, readRawElements } from '../../formats/tensor';
import { decodeToFloat32 } from '../../formats/dtypes';
import { FormatError } from '../../core/errors';
import { findScalar } from '../scalars';

/** A tensor named `name`, at the root or as the last component of a nested name (`layer.weight`). */
export function findTensor(d: DumpFile, name: string): TensorRef | undefined {
  return d.tensors.find((t) => t.name === name) ?? d.tensors.find((t) => t.name.endsWith(`.${name}`));
}

/** As findTensor, but missing (or of another dtype than `dtypes`, when given) is a clear error. */
export function needTensor(d: DumpFile, name: string, dtypes?: readonly string[]): TensorRef {
  const t = findTensor(d, name);
  if (!t) throw new FormatError('tensor-not-found', `tensor ${name} not found`, d.path);
  if (dtypes && !dtypes.includes(t.dtype)) throw new FormatError('invalid-layer', `tensor ${name} is ${t.dtype}, expected ${dtypes.join(' or ')}`, d.path);
  return t;
}

/** The file's root tensor (a file that holds one bare tensor), else the first of `names` found. */
export function rootOrNamed(d: DumpFile, names: readonly string[]): TensorRef {
  const t = d.tensors.find((x) => x.name === '') ?? names.map((n) => findTensor(d, n)).find((x) => x !== undefined);
  if (!t) throw new FormatError('tensor-not-found', `no input tensor (a root tensor or one named ${names.join(', ')})`, d.path);
  return t;
}

/** A positive number `key` of the layer (a scale): pickled, one-element tensor or metadata, at any depth. */
export async function needScale(d: DumpFile, key: string): Promise<number> {
  const hit = await findScalar(d, key, { anyDepth: true, accept: (v) => v > 0 });
  if (!hit) throw new FormatError('scale-not-found', `parameter ${key} not found (or not positive)`, d.path);
  return hit.value;
}

/** Layer evaluations read whole tensors into memory: refuse what could not fit. */
export const MAX_LAYER_ELEMENTS = 1 << 28;

function checkLayerSize(t: TensorRef): number {
  const n = numelOf(t.shape);
  if (n > MAX_LAYER_ELEMENTS) throw new FormatError('limit-exceeded', `tensor ${t.name} has ${n} elements: too large for a layer evaluation`, t.name);
  return n;
}

/** A whole (size-checked) tensor as an FP32 array the caller owns. */
export async function readLayerFloat32(t: TensorRef): Promise<Float32Array> {
  return decodeToFloat32(t.dtype, await readRawElements(t, 0, checkLayerSize(t)), t.storage.littleEndian).slice();
}

/** An int8 tensor's codes. */
export async function readLayerInt8(t: TensorRef): Promise<Int8Array> {
  const b = Buffer.from(await readRawElements(t, 0, checkLayerSize(t)));
  return new Int8Array(b.buffer, b.byteOffset, b.length);
}

/** An int32 tensor exactly: never through float32, which rounds 16777217 to 16777216. */
export async function readLayerInt32(t: TensorRef): Promise<Int32Array> {
  if (t.dtype !== 'int32') throw new FormatError('invalid-layer', `tensor ${t.name} is ${t.dtype}, expected int32`, t.name);
  const n = checkLayerSize(t);
  const b = Buffer.from(await readRawElements(t, 0, n));
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = t.storage.littleEndian ? b.readInt32LE(i * 4) : b.readInt32BE(i * 4);
  return out;
}
