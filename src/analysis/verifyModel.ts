/**
 * `verify DIR`: every dump under a folder, with a sharded checkpoint (`*.safetensors.index.json`) seen
 * as one model, so a weight in one shard pairs with its scale in another. One table row per judged
 * tensor, a summary, and the per-file figures; an unreadable file is reported, not fatal.
 */
import * as fs from 'fs';
import * as path from 'path';
import { openDump } from '../formats/open';
import { DumpFile } from '../formats/dump';
import { listDumpFiles } from '../formats/dumpFiles';
import { describeError, CancelledError, ErrorCode, FormatError } from '../core/errors';
import { VerifyFileOptions, VerifyReport, verifyDump } from './verifyFile';
import { VerifyResult } from './verify';
import { quantizationConfigFor } from './quantConfig';

export interface LayerRow {
  file: string;
  tensor: string;
  dtype: string;
  /** codes (integer dtype range check), per_tensor, per_channel or per_group. */
  scheme: string;
  bits: number;
  granularity: string;
  scale_source: string | null;
  verdict: 'pass' | 'fail';
  /** Largest |x/s − q| over the tensor: already in units of the scale, so in LSB. */
  max_deviation_lsb: number;
  saturation_pct: number;
}

export interface ModelReport {
  file: string;
  /** Every judged tensor of every file, each with the file (or sharded model) it came from, and for shards the shard. */
  results: (VerifyResult & { file: string; shard?: string })[];
  skipped: { file: string; shard?: string; name: string; reason: string }[];
  not_quantized: { file: string; shard?: string; name: string; dtype: string; reason: string }[];
  files: { file: string; shards?: string[]; judged: number; failed: number; verdict: 'pass' | 'fail' }[];
  errors: { file: string; code: ErrorCode; message: string }[];
  layers: LayerRow[];
  summary: { files: number; judged: number; passed: number; failed: number; not_quantized: number; skipped: number; unreadable: number };
  /** `quantization_config` of the model's config.json, where there is one. */
  quantization_config: Record<string, unknown> | null;
}

/** The tensors of several shards as one dump: pairing (weight ↔ scale) then works across shards. */
function combined(dir: string, parts: DumpFile[]): DumpFile {
  return {
    path: dir,
    format: parts[0]?.format ?? 'safetensors',
    metadata: Object.assign({}, ...parts.map((p) => p.metadata ?? {})),
    tensors: parts.flatMap((p) => p.tensors),
    objects: parts.flatMap((p) => p.objects),
    close: () => parts.forEach((p) => p.close()),
  };
}

/** Sharded checkpoints: each index file's weight_map names its shards (relative to the folder). */
function shardSets(dir: string, files: string[]): { index: string; shards: string[] }[] {
  const sets: { index: string; shards: string[] }[] = [];
  for (const rel of fs.readdirSync(dir).filter((n) => n.endsWith('.safetensors.index.json'))) {
    try {
      const doc = JSON.parse(fs.readFileSync(path.join(dir, rel), 'utf8')) as { weight_map?: Record<string, string> };
      const shards = [...new Set(Object.values(doc.weight_map ?? {}))].filter((s) => files.includes(s)).sort();
      if (shards.length) sets.push({ index: rel, shards });
    } catch {
      // A malformed index only loses the grouping: its shards are verified one by one.
    }
  }
  return sets;
}

function rowOf(file: string, r: VerifyResult): LayerRow {
  const scheme = r.scheme
    ? `${r.scheme}${r.format ? ` (${r.format})` : ''}`
    : r.scale === null
      ? 'codes'
      : !Array.isArray(r.scale)
        ? 'per_tensor'
        : r.granularity === 'group'
          ? 'per_group'
          : 'per_channel';
  const levels = r.code_histogram.length;
  return {
    file,
    tensor: r.name,
    dtype: r.dtype,
    scheme,
    bits: r.bits ?? Math.round(Math.log2(Math.max(2, levels))),
    granularity: r.block_size
      ? `block ${r.block_size.join('×')}`
      : scheme === 'per_channel'
        ? `channel (axis ${r.axis ?? 0})`
        : scheme === 'per_group'
          ? 'group'
          : 'tensor',
    scale_source: r.scale_source,
    verdict: r.verdict,
    max_deviation_lsb: r.max_deviation,
    saturation_pct: r.n ? (100 * (r.saturated_pos + r.saturated_neg)) / r.n : 0,
  };
}

export async function verifyModel(
  dir: string,
  opts: VerifyFileOptions & { onFile?: (done: number, total: number, file: string) => void } = {},
): Promise<ModelReport> {
  const files = listDumpFiles(dir);
  if (!files.length) throw new FormatError('unrecognized-format', 'no dump files (.pt, .pth, .bin, .safetensors, .npy, .npz) under this folder', dir);
  const groups: { label: string; members: string[] }[] = [];
  const grouped = new Set<string>();
  for (const set of shardSets(dir, files)) {
    groups.push({ label: set.index.replace(/\.index\.json$/, ''), members: set.shards });
    set.shards.forEach((s) => grouped.add(s));
  }
  for (const f of files) if (!grouped.has(f)) groups.push({ label: f, members: [f] });
  const report: ModelReport = {
    file: dir,
    results: [],
    skipped: [],
    not_quantized: [],
    files: [],
    errors: [],
    layers: [],
    summary: { files: files.length, judged: 0, passed: 0, failed: 0, not_quantized: 0, skipped: 0, unreadable: 0 },
    quantization_config: quantizationConfigFor(dir),
  };
  for (const [i, g] of groups.entries()) {
    opts.onFile?.(i, groups.length, g.label);
    const opened: DumpFile[] = [];
    /** For a sharded model, which shard holds each tensor (Problems and badges belong to that file). */
    const shardOf = new Map<string, string>();
    let r: VerifyReport;
    try {
      for (const m of g.members) {
        const part = openDump(path.join(dir, m));
        opened.push(part);
        if (g.members.length > 1) for (const t of part.tensors) shardOf.set(t.name, m);
      }
      const dump = opened.length === 1 ? opened[0] : combined(dir, opened);
      r = await verifyDump(path.join(dir, g.members[0]), dump, opts);
    } catch (err) {
      if (err instanceof CancelledError) throw err;
      const e = describeError(err);
      report.errors.push({ file: g.label, code: e.code, message: e.message });
      report.summary.unreadable += g.members.length;
      continue;
    } finally {
      for (const d of opened) d.close();
    }
    const failed = r.results.filter((x) => x.verdict === 'fail').length;
    report.files.push({
      file: g.label,
      ...(g.members.length > 1 ? { shards: g.members } : {}),
      judged: r.results.length,
      failed,
      verdict: failed ? 'fail' : 'pass',
    });
    const shard = (name: string): { shard?: string } => (shardOf.has(name) ? { shard: shardOf.get(name) } : {});
    for (const x of r.results) {
      report.results.push({ ...x, file: g.label, ...shard(x.name) });
      report.layers.push(rowOf(g.label, x));
    }
    report.skipped.push(...r.skipped.map((x) => ({ file: g.label, ...shard(x.name), ...x })));
    report.not_quantized.push(...r.not_quantized.map((x) => ({ file: g.label, ...shard(x.name), ...x })));
  }
  const s = report.summary;
  s.judged = report.results.length;
  s.failed = report.results.filter((x) => x.verdict === 'fail').length;
  s.passed = s.judged - s.failed;
  s.not_quantized = report.not_quantized.length;
  s.skipped = report.skipped.length;
  return report;
}
