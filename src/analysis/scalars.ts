/** Numbers stored in a dump by name (scales, zero points, layer constants): one lookup rule for every caller. */
import { DumpFile } from '../formats/dump';
import { numelOf, readRawElements } from '../formats/tensor';
import { decodeToFloat64 } from '../formats/dtypes';

export interface ScalarHit {
  value: number;
  /** The key it was found under: `name`, or `metadata.name` for a safetensors metadata entry. */
  where: string;
}

export interface ScalarLookup {
  /** Look under this dotted prefix first (`conv` for `conv.weight`), then at the root. */
  prefix?: string;
  /** Also accept the one `*.key` anywhere in the file (a layer file nesting its params); never an ambiguous one. */
  anyDepth?: boolean;
  /** Which values count (a scale must be positive); others are passed over. */
  accept?: (v: number) => boolean;
}

/** A number named exactly `name`: a pickled int or float, a one-element tensor, or a metadata string. */
async function scalarNamed(dump: DumpFile, name: string, accept: (v: number) => boolean): Promise<ScalarHit | undefined> {
  const o = dump.objects.find((x) => x.name === name && typeof x.value === 'number');
  if (o && accept(o.value as number)) return { value: o.value as number, where: name };
  const t = dump.tensors.find((x) => x.name === name && numelOf(x.shape) === 1);
  if (t) {
    const v = decodeToFloat64(t.dtype, await readRawElements(t, 0, 1), t.storage.littleEndian)[0];
    if (accept(v)) return { value: v, where: name };
  }
  const m = dump.metadata?.[name];
  if (m !== undefined && m.trim() !== '' && accept(Number(m))) return { value: Number(m), where: `metadata.${name}` };
  return undefined;
}

/** The number stored under `key`, by the rule in ScalarLookup. */
export async function findScalar(dump: DumpFile, key: string, opts: ScalarLookup = {}): Promise<ScalarHit | undefined> {
  const accept = (v: number): boolean => Number.isFinite(v) && (opts.accept ? opts.accept(v) : true);
  if (opts.prefix) {
    const hit = await scalarNamed(dump, `${opts.prefix}.${key}`, accept);
    if (hit) return hit;
  }
  const root = await scalarNamed(dump, key, accept);
  if (root || !opts.anyDepth) return root;
  const nested = new Set([...dump.objects.map((o) => o.name), ...dump.tensors.map((t) => t.name)].filter((n) => n.endsWith(`.${key}`)));
  return nested.size === 1 ? scalarNamed(dump, [...nested][0], accept) : undefined;
}
