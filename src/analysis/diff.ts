/**
 * Compares two runs: two files, or two dump folders paired by relative path and tensor name.
 * Inputs are compared first: if the runs processed different inputs, every other difference is
 * meaningless, and the whole comparison is marked invalid.
 */
import * as fs from 'fs';
import * as path from 'path';
import { openDump } from '../formats/open';
import { DumpFile } from '../formats/dump';
import { TensorRef, float32ChunkPairs, numelOf } from '../formats/tensor';
import { isIntegerDType } from '../formats/dtypes';
import { FormatError } from '../core/errors';
import { listDumpFiles } from '../formats/dumpFiles';
import { loadNative, NativeDiffResult } from '../native/addon';
import { discoverScale, ScaleInfo } from './scale';
import { isInputName } from './roles';
import { dumpStem } from '../formats/dumpFiles';
import { LayerDiff, layerTable } from './diffLayers';

export interface PairResult extends Partial<NativeDiffResult> {
  file: string;
  name: string;
  key: string;
  is_input: boolean;
  dtype_a?: string;
  dtype_b?: string;
  shape?: number[];
  scale_a?: number | null;
  scale_b?: number | null;
  scale_source_a?: string | null;
  scale_source_b?: string | null;
  inputs_match?: boolean | null;
  error?: string;
  /**
   * The key of an earlier pair holding the same tensor (a per-tensor file `layer23_conv1d_input.pt`
   * and `input` inside the per-layer dict `layer23_conv1d.pt`, with identical figures): views show it once.
   */
  same_as?: string;
}

export interface DiffReport {
  a: string;
  b: string;
  valid: boolean;
  reason: string | null;
  inputs_match: boolean | null;
  pairs: PairResult[];
  only_in_a: string[];
  only_in_b: string[];
  /** One row per layer, in layer order (analysis/diffLayers.ts). */
  layers: LayerDiff[];
  /** The first layer whose outputs differ, or null. */
  first_divergent_layer: string | null;
}

export interface DiffOptions {
  threads?: number;
  top?: number;
  signal?: AbortSignal;
  /** Progress over the tensor pairs: (compared so far, total, pair being compared). */
  onProgress?: (done: number, total: number, key: string) => void;
}

function scaleOf(s: ScaleInfo | undefined): number | null {
  return s && s.kind === 'per_tensor' ? s.scale : null;
}

async function diffTensors(
  fileA: string,
  dumpA: DumpFile,
  ta: TensorRef,
  fileB: string,
  dumpB: DumpFile,
  tb: TensorRef,
  opts: DiffOptions,
): Promise<Partial<PairResult>> {
  if (numelOf(ta.shape) !== numelOf(tb.shape) || ta.shape.join(',') !== tb.shape.join(',')) {
    return { error: `shapes differ: [${ta.shape}] vs [${tb.shape}]`, dtype_a: ta.dtype, dtype_b: tb.dtype };
  }
  const sa = await discoverScale(fileA, dumpA, ta, { infer: false });
  const sb = await discoverScale(fileB, dumpB, tb, { infer: false });
  const codesA = isIntegerDType(ta.dtype),
    codesB = isIntegerDType(tb.dtype);
  const d = new (loadNative().Differ)({ scaleA: scaleOf(sa) ?? 0, scaleB: scaleOf(sb) ?? 0, codesA, codesB, top: opts.top ?? 10, threads: opts.threads });
  for await (const { start, a, b } of float32ChunkPairs(ta, tb, opts.signal)) await d.push(a, b, start);
  return {
    dtype_a: ta.dtype,
    dtype_b: tb.dtype,
    shape: ta.shape,
    scale_a: scaleOf(sa),
    scale_b: scaleOf(sb),
    scale_source_a: sa?.source ?? null,
    scale_source_b: sb?.source ?? null,
    ...d.result(),
  };
}

/** Where a pair's tensor lives, independent of packing: `dir/layer23_conv1d_input` for the file and for `input` in `dir/layer23_conv1d.pt`. */
function tensorPlace(p: PairResult): string {
  const dir = path.dirname(p.file);
  const stem = dumpStem(p.file) + (p.name ? `_${p.name.replace(/\./g, '_')}` : '');
  return dir === '.' ? stem : `${dir}/${stem}`;
}

const FIGURES = ['n', 'max_abs_diff', 'mean_abs_diff', 'exact_match_pct', 'exact_pct', 'max_abs_int', 'mean_abs_int', 'sqnr_db', 'cosine'] as const;

/** Marks the later of two pairs that hold the same tensor in two packings, with the same shape and figures. */
function markRepeatedPairs(pairs: PairResult[]): void {
  const seen = new Map<string, PairResult>();
  for (const p of pairs) {
    if (p.error || !p.shape) continue;
    const place = tensorPlace(p);
    const first = seen.get(place);
    if (!first) {
      seen.set(place, p);
      continue;
    }
    if (first.shape!.join(',') === p.shape.join(',') && FIGURES.every((f) => Object.is(first[f], p[f]))) p.same_as = first.key;
  }
}

/** A pair matches when its integer codes agree everywhere (or, with no scales, its values do). */
function pairMatches(p: PairResult): boolean {
  if (p.error) return false;
  if (p.exact_pct !== null && p.exact_pct !== undefined) return p.exact_pct === 100;
  return p.exact_match_pct === 100;
}

export async function diffPaths(a: string, b: string, opts: DiffOptions = {}): Promise<DiffReport> {
  const statA = fs.statSync(a),
    statB = fs.statSync(b);
  let rels: [string, string, string][];
  // Two files of different roles (an input against an output): compared value by value, no input guard.
  let rolesDiffer = false;
  const onlyA: string[] = [],
    onlyB: string[] = [];
  if (statA.isDirectory() && statB.isDirectory()) {
    const la = listDumpFiles(a),
      lb = new Set(listDumpFiles(b));
    rels = [];
    for (const r of la) {
      if (lb.has(r)) {
        rels.push([r, path.join(a, r), path.join(b, r)]);
        lb.delete(r);
      } else onlyA.push(r);
    }
    onlyB.push(...lb);
  } else if (statA.isFile() && statB.isFile()) {
    rels = [[path.basename(a), a, b]];
    if (isInputName(path.basename(a)) !== isInputName(path.basename(b))) rolesDiffer = true;
  } else {
    throw new FormatError('invalid-argument', 'diff compares two files or two folders, not a file with a folder');
  }
  const pairs: PairResult[] = [];
  const jobs: { rel: string; fa: string; fb: string; da: DumpFile; db: DumpFile; ta: TensorRef; tb: TensorRef; key: string }[] = [];
  const opened: DumpFile[] = [];
  try {
    for (const [rel, fa, fb] of rels) {
      const da = openDump(fa);
      opened.push(da);
      const db = openDump(fb);
      opened.push(db);
      const byName = new Map(db.tensors.map((t) => [t.name, t]));
      for (const ta of da.tensors) {
        const key = ta.name ? `${rel}:${ta.name}` : rel;
        const tb = byName.get(ta.name);
        if (!tb) {
          onlyA.push(key);
          continue;
        }
        byName.delete(ta.name);
        jobs.push({ rel, fa, fb, da, db, ta, tb, key });
      }
      for (const name of byName.keys()) onlyB.push(name ? `${rel}:${name}` : rel);
    }
    // Inputs first: they decide whether the rest means anything.
    jobs.sort((x, y) => Number(isInputName(y.key)) - Number(isInputName(x.key)));
    for (const [i, j] of jobs.entries()) {
      opts.onProgress?.(i, jobs.length, j.key);
      const base: PairResult = { file: j.rel, name: j.ta.name, key: j.key, is_input: !rolesDiffer && isInputName(j.key) };
      pairs.push({ ...base, ...(await diffTensors(j.fa, j.da, j.ta, j.fb, j.db, j.tb, opts)) });
    }
  } finally {
    for (const d of opened) d.close();
  }
  const inputs = pairs.filter((p) => p.is_input);
  const mismatched = inputs.filter((p) => !pairMatches(p));
  const inputsMatch = inputs.length ? mismatched.length === 0 : null;
  for (const p of pairs) p.inputs_match = inputsMatch;
  let reason: string | null = null;
  if (inputsMatch === false) {
    const m = mismatched[0];
    const detail =
      m.error ??
      (m.exact_pct !== null && m.exact_pct !== undefined
        ? `${m.exact_pct.toFixed(2)}% of codes equal, max |Δq| ${m.max_abs_int}`
        : `${(m.exact_match_pct ?? 0).toFixed(2)}% of values equal, max |Δ| ${m.max_abs_diff}`);
    reason = `the runs processed different inputs: ${m.key} differs (${detail}); comparing their outputs is meaningless`;
  } else if (rolesDiffer) {
    const [ra, rb] = [a, b].map((f) => (isInputName(path.basename(f)) ? 'an input' : 'an output'));
    reason =
      `A (${path.basename(a)}) is ${ra} and B (${path.basename(b)}) is ${rb}: they are compared element by element as two tensors, ` +
      'not as two runs, so no input guard applies and a difference says nothing about either run';
  } else if (inputsMatch === null) {
    reason = 'no input tensors found: could not check that both runs processed the same inputs';
  }
  markRepeatedPairs(pairs);
  const layers = layerTable(pairs);
  return {
    a,
    b,
    valid: inputsMatch !== false,
    reason,
    inputs_match: inputsMatch,
    pairs,
    only_in_a: onlyA,
    only_in_b: onlyB,
    layers,
    first_divergent_layer: layers.find((l) => l.first_divergence)?.layer ?? null,
  };
}
