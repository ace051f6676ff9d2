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
import { dumpStem } from '../formats/dumpFiles';
import { scaleKeysForRole, splitLayerName, tensorRole } from './roles';

export type ScaleInfo =
  | { kind: 'per_tensor'; scale: number; zeroPoint: number; source: string; confidence?: number }
  | { kind: 'per_channel'; scales: number[]; zeroPoints: number[]; axis: number; source: string };

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
      let entries: string[] = [];
      try {
        entries = fs.readdirSync(d);
      } catch {
        /* unreadable folder: skip */
      }
      for (const e of entries) if (e.startsWith(`${layer}_param`) && !out.includes(path.join(d, e))) out.push(path.join(d, e));
    }
  }
  return out;
}

/** Guesses a per-tensor scale from the data: absmax/qmax, with the fraction of exact grid members as confidence. */
export async function inferScale(t: TensorRef, qmax = 127): Promise<ScaleInfo | undefined> {
  const n = numelOf(t.shape);
  if (!n) return undefined;
  const sampleN = Math.min(n, 1 << 16);
  const step = Math.max(1, Math.floor(n / sampleN));
  const sample: number[] = [];
  for (let i = 0; i < n && sample.length < sampleN; i += step) {
    sample.push(decodeToFloat32(t.dtype, await readRawElements(t, i, 1), t.storage.littleEndian)[0]);
  }
  let absmax = 0;
  for (const v of sample) if (Number.isFinite(v)) absmax = Math.max(absmax, Math.abs(v));
  if (!absmax) return undefined;
  // The smallest nonzero magnitude is often one grid step: try both candidates, keep the better.
  let minNz = Infinity;
  for (const v of sample) if (v !== 0 && Number.isFinite(v)) minNz = Math.min(minNz, Math.abs(v));
  let best: ScaleInfo | undefined;
  for (const s of [absmax / qmax, minNz, absmax / (qmax + 1)]) {
    if (!(s > 0) || !Number.isFinite(s)) continue;
    const sf = Math.fround(s);
    let member = 0;
    for (const v of sample) {
      const q = roundHalfEven(Math.fround(v / sf));
      if (Math.fround(q * sf) === v && Math.abs(q) <= qmax + 1) member++;
    }
    const confidence = member / sample.length;
    if (!best || confidence > (best as { confidence: number }).confidence)
      best = { kind: 'per_tensor', scale: sf, zeroPoint: 0, source: 'inferred', confidence };
  }
  return best;
}

export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

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
  const own = await findInDump(dump, t.name ? [`${t.name}_scale`, ...keys] : keys, prefix);
  if (own) return { kind: 'per_tensor', scale: own.value, zeroPoint: 0, source: `file:${own.where}` };
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
