/**
 * Where a tensor's quantization scale comes from, in order: given explicitly; the same file (a key
 * or safetensors metadata); a sibling file (`<stem>_scale.pt`, the layer's dict or params file in the
 * same or parent folder); the quantized tensor's own q_scale; inferred from the data. The source is
 * always reported.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DumpFile } from '../formats/dump';
import { openDump } from '../formats/open';
import { TensorRef, numelOf, readRawElements } from '../formats/tensor';
import { decodeToFloat32, isIntegerDType } from '../formats/dtypes';
import { findScalar, ScalarHit } from './scalars';
import { loadNative } from '../native/addon';
import { dumpStem } from '../formats/dumpFiles';
import { listFolder } from '../formats/folderListing';
import { scaleKeysForRole, splitLayerName, tensorRole } from './roles';

export type ScaleInfo =
  | { kind: 'per_tensor'; scale: number; zeroPoint: number; source: string; confidence?: number; distinctCodes?: number }
  | {
      kind: 'per_channel';
      scales: number[];
      zeroPoints: number[];
      axis: number;
      source: string;
      /** Elements that share one scale in a row: the channel stride, or the group size of per-group scales. */
      inner?: number;
      granularity?: 'channel' | 'group';
    };

/** Sampled elements that must lie exactly on an inferred grid before it counts as evidence of quantization. */
export const INFERRED_SCALE_MIN_CONFIDENCE = 0.99;
/** ...and on at least this many distinct codes: a constant or two-valued tensor (a norm's ones, a mask) lies on every grid. */
export const INFERRED_SCALE_MIN_CODES = 8;

async function findInDump(dump: DumpFile, keys: string[], prefix: string): Promise<ScalarHit | undefined> {
  for (const k of keys) {
    const hit = await findScalar(dump, k, { prefix, accept: (v) => v > 0 });
    if (hit) return hit;
  }
  return undefined;
}

/** Files that may hold the scale of a tensor dumped in `file`, nearest first. */
export function siblingScaleFiles(file: string): string[] {
  const dir = path.dirname(file),
    stem = dumpStem(file);
  const { layer } = splitLayerName(stem);
  const names: string[] = [`${stem}_scale.pt`, `${stem}_scale.safetensors`];
  if (layer) names.push(`${layer}.pt`, `${layer}_params.pt`, `${layer}.safetensors`, `${layer}_params.safetensors`);
  const out: string[] = [];
  for (const d of [dir, path.dirname(dir)]) {
    for (const n of names) {
      const p = path.join(d, n);
      if (path.resolve(p) !== path.resolve(file) && fs.existsSync(p)) out.push(p);
    }
  }
  if (layer) {
    // Any params file of the layer in the folder (`layer23_conv1d_params_v2.pt` and the like).
    for (const d of [dir, path.dirname(dir)]) {
      let entries: readonly string[] = [];
      try {
        entries = listFolder(d);
      } catch {
        /* unreadable folder: skip */
      }
      for (const e of entries) if (e.startsWith(`${layer}_param`) && !out.includes(path.join(d, e))) out.push(path.join(d, e));
    }
  }
  return out;
}

/** At most this many elements are sampled to infer a scale (16 blocks of 1024): whole tensors up to it, else evenly spaced blocks. Enough to tell 99% membership, small enough that inference costs less than the verification it precedes. */
const INFER_SAMPLE = 1 << 14;
const INFER_BLOCK = 1024;
/** Tensors up to this many elements (4 MB of FP32) are sampled from one read. */
const INFER_ONE_READ = 1 << 20;

/**
 * The one read a small tensor's sample takes lands in this buffer, reused: a fresh 256 KiB Buffer per
 * tensor cost a page fault per 4 KiB, half of that read's 100 us on a VM (a folder of small dumps).
 * One inference holds it at a time; another meanwhile reads into a buffer of its own.
 */
const SCRATCH_BYTES = 1 << 20;
let scratch: Buffer | undefined;
let scratchBusy = false;

/** A bounded sample of a tensor in a few large reads (one read of 64 KiB-sized blocks, never one read per element); it may view `reuse`. */
async function sampleOf(t: TensorRef, reuse?: Buffer): Promise<Float32Array> {
  const n = numelOf(t.shape);
  if (n <= INFER_SAMPLE) return decodeToFloat32(t.dtype, await readRawElements(t, 0, n, reuse), t.storage.littleEndian);
  const blocks = INFER_SAMPLE / INFER_BLOCK;
  const out = new Float32Array(INFER_SAMPLE);
  const startOf = (b: number): number => Math.floor(((n - INFER_BLOCK) * b) / (blocks - 1));
  if (n <= INFER_ONE_READ) {
    // A small tensor costs less in one read than in 64 (a folder of small dumps is mostly per-read overhead).
    const all = decodeToFloat32(t.dtype, await readRawElements(t, 0, n, reuse), t.storage.littleEndian);
    for (let b = 0; b < blocks; b++) out.set(all.subarray(startOf(b), startOf(b) + INFER_BLOCK), b * INFER_BLOCK);
    return out;
  }
  for (let b = 0; b < blocks; b++)
    out.set(decodeToFloat32(t.dtype, await readRawElements(t, startOf(b), INFER_BLOCK), t.storage.littleEndian), b * INFER_BLOCK);
  return out;
}

/** Guesses a per-tensor scale from the data: absmax/qmax, with the fraction of exact grid members as confidence. */
export async function inferScale(t: TensorRef, qmax = 127): Promise<ScaleInfo | undefined> {
  const n = numelOf(t.shape);
  if (!n) return undefined;
  const useScratch = !scratchBusy;
  if (useScratch) {
    scratchBusy = true;
    scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES);
  }
  try {
    return fitCandidates(await sampleOf(t, useScratch ? scratch : undefined), qmax);
  } finally {
    if (useScratch) scratchBusy = false;
  }
}

/** The best of the candidate grids for a sample (absmax/qmax, the smallest nonzero magnitude, absmax/(qmax+1)), in that order. */
function fitCandidates(sample: Float32Array, qmax: number): ScaleInfo | undefined {
  const native = loadNative();
  // The smallest nonzero magnitude is often one grid step: it is tried as well.
  const { absMax: absmax, minNonzero: minNz } = native.absRange(sample);
  if (!absmax) return undefined;
  let best: ScaleInfo | undefined;
  for (const s of [absmax / qmax, minNz, absmax / (qmax + 1)]) {
    if (!(s > 0) || !Number.isFinite(s)) continue;
    const sf = Math.fround(s);
    // A candidate that rounds to 0 in FP32 has no members (x / 0 is never a code).
    const { members, distinctCodes } = sf > 0 ? native.gridFit(sample, sf, qmax) : { members: 0, distinctCodes: 0 };
    const confidence = members / sample.length;
    if (!best || confidence > (best as { confidence: number }).confidence)
      best = { kind: 'per_tensor', scale: sf, zeroPoint: 0, source: 'inferred', confidence, distinctCodes };
    if (members === sample.length) break; // every sampled element on this grid: no other candidate can do better
  }
  return best;
}

/**
 * Per-channel or per-group scales stored beside a tensor, as checkpoints name them: `X.weight_scale`
 * (and `X.weight_zero_point`) of shape [out], [out, 1] or [out, in/group] (compressed-tensors,
 * llm-compressor, fake-quant exports), or bitsandbytes' `X.SCB` (row absmax: scale = SCB / 127).
 */
async function pairedScaleTensor(dump: DumpFile, t: TensorRef, prefix: string, role: string): Promise<ScaleInfo | undefined> {
  const name = (key: string): string => (prefix ? `${prefix}.${key}` : key);
  const tensorNamed = (key: string): TensorRef | undefined => dump.tensors.find((x) => x.name === name(key));
  const candidates: [TensorRef | undefined, number, string][] = [[tensorNamed(`${role}_scale`), 1, '']];
  if (role === 'weight') candidates.push([tensorNamed('SCB'), 1 / 127, ' (÷127)']);
  for (const [st, factor, note] of candidates) {
    if (!st || numelOf(st.shape) <= 1 || t.shape.length === 0) continue;
    const count = numelOf(st.shape);
    const values = Array.from(decodeToFloat32(st.dtype, await readRawElements(st, 0, count), st.storage.littleEndian), (v) => Math.fround(v * factor));
    if (!values.every((v) => v > 0 && Number.isFinite(v))) continue;
    const zpT = factor === 1 ? tensorNamed(`${role}_zero_point`) : undefined;
    const zeroPoints =
      zpT && numelOf(zpT.shape) === count
        ? Array.from(decodeToFloat32(zpT.dtype, await readRawElements(zpT, 0, count), zpT.storage.littleEndian))
        : values.map(() => 0);
    const source = `file:${st.name}${note}`;
    const out = t.shape[0];
    if (count === out) return { kind: 'per_channel', scales: values, zeroPoints, axis: 0, source, granularity: 'channel' };
    // [out, groups] for a [out, in] tensor: consecutive runs of in/groups elements share a scale.
    const inner = numelOf(t.shape) / out;
    if (st.shape.length === 2 && st.shape[0] === out && inner % st.shape[1] === 0) {
      return { kind: 'per_channel', scales: values, zeroPoints, axis: 1, source, inner: inner / st.shape[1], granularity: 'group' };
    }
  }
  return undefined;
}

export { roundHalfEven } from './rint';

export interface DiscoverOptions {
  explicit?: number;
  infer?: boolean;
}

export async function discoverScale(file: string, dump: DumpFile, t: TensorRef, opts: DiscoverOptions = {}): Promise<ScaleInfo | undefined> {
  if (opts.explicit !== undefined) return { kind: 'per_tensor', scale: opts.explicit, zeroPoint: 0, source: 'cli' };
  const role = tensorRole(file, t.name);
  const keys = scaleKeysForRole(role);
  const prefix = t.name.includes('.') ? t.name.slice(0, t.name.lastIndexOf('.')) : '';
  // A tensor's own q_scale is authoritative for a quantized tensor.
  const q = t.quantization;
  if (q) {
    if ('scale' in q) return { kind: 'per_tensor', scale: q.scale, zeroPoint: q.zero_point, source: 'q_scale' };
    return { kind: 'per_channel', scales: q.scales, zeroPoints: q.zero_points, axis: q.axis, source: 'q_per_channel_scales' };
  }
  const paired = await pairedScaleTensor(dump, t, prefix, role);
  if (paired) return paired;
  const own = await findInDump(dump, t.name ? [`${t.name}_scale`, ...keys] : keys, prefix);
  // README's scale_source forms: `file:KEY` for a stored number, `metadata.KEY` for a safetensors metadata entry.
  if (own) return { kind: 'per_tensor', scale: own.value, zeroPoint: 0, source: own.where.startsWith('metadata.') ? own.where : `file:${own.where}` };
  for (const sib of siblingScaleFiles(file)) {
    let other: DumpFile | undefined;
    try {
      other = openDump(sib);
      const hit = await findInDump(other, keys, '');
      if (hit) return { kind: 'per_tensor', scale: hit.value, zeroPoint: 0, source: `sibling:${path.relative(path.dirname(file), sib)}#${hit.where}` };
    } catch {
      // An unreadable sibling is not this tensor's problem: keep looking.
    } finally {
      other?.close();
    }
  }
  if (opts.infer !== false && !isIntegerDType(t.dtype)) return inferScale(t);
  return undefined;
}
