/** Finding a layer's parameters in a dump by name: the same rules for every layer runner. */
import { DumpFile } from '../formats/dump';
import { TensorRef, numelOf, readRawElements } from '../formats/tensor';
import { decodeToFloat32 } from '../formats/dtypes';
import { FormatError } from '../formats/errors';

/** A tensor named `name`, at the root or as the last component of a nested name (`layer.weight`). */
export function findTensor(d: DumpFile, name: string): TensorRef | undefined {
  return d.tensors.find((t) => t.name === name || t.name.endsWith(`.${name}`));
}

/** As findTensor, but missing (or of another dtype than `dtypes`, when given) is a clear error. */
export function needTensor(d: DumpFile, name: string, dtypes?: string[]): TensorRef {
  const t = findTensor(d, name);
  if (!t) throw new FormatError(`tensor ${name} not found`, d.path);
  if (dtypes && !dtypes.includes(t.dtype)) throw new FormatError(`tensor ${name} is ${t.dtype}, expected ${dtypes.join(' or ')}`, d.path);
  return t;
}

/** A numeric scalar named `key`: a pickled number (possibly nested) or a safetensors metadata entry. */
export function scalarOf(d: DumpFile, key: string): number | undefined {
  const o = d.objects.find((x) => x.name === key || x.name.endsWith(`.${key}`));
  if (o && typeof o.value === 'number') return o.value;
  const m = d.metadata?.[key];
  return m !== undefined && Number.isFinite(Number(m)) ? Number(m) : undefined;
}

export function needScalar(d: DumpFile, key: string): number {
  const v = scalarOf(d, key);
  if (v === undefined) throw new FormatError(`parameter ${key} not found`, d.path);
  return v;
}

/** Layer evaluations read whole tensors into memory: refuse what could not fit. */
export const MAX_LAYER_ELEMENTS = 1 << 28;

export function checkLayerSize(t: TensorRef): number {
  const n = numelOf(t.shape);
  if (n > MAX_LAYER_ELEMENTS) throw new FormatError(`tensor ${t.name} has ${n} elements: too large for a layer evaluation`, t.name);
  return n;
}

/** A whole (size-checked) tensor as an FP32 array the caller owns. */
export async function readLayerFloat32(t: TensorRef): Promise<Float32Array> {
  return decodeToFloat32(t.dtype, await readRawElements(t, 0, checkLayerSize(t)), t.storage.littleEndian).slice();
}
