/**
 * Host side of the tensor viewer: owns one opened dump and answers the webview's requests
 * (tree, per-tensor summary, pages of values with their grid classification, explanations).
 * No vscode import: the custom editor wires it to a webview, the tests call it directly.
 */
import { openDump } from '../formats/open';
import { DumpFile, formatObjectValue } from '../formats/dump';
import { TensorRef, numelOf, readRawElements, float32ChunksReadAhead, float32FileRegion, channelStride } from '../formats/tensor';
import { loadNative, NativeOverviewOptions } from '../native/addon';
import { decodeToFloat32, isIntegerDType } from '../formats/dtypes';
import { tensorStats } from '../analysis/stats';
import { ScaleInfo } from '../analysis/scale';
import { GridPlan, judgeTensor, planGridCheck } from '../analysis/gridPlan';
import { VerifyOptions, codeRange, storageOf } from '../analysis/verify';
import { explainValue, Explanation } from '../analysis/explain';
import { FormatError, CancelledError } from '../core/errors';
import { TreeNode, TensorSummary, Page, PageBlock, MAX_PAGE, Explained, Problem, Overview, NO_CLASS, FoundProblem, ELEMENT_CLASSES } from './protocol';
import { SharedJobs, JobOptions } from './sharedJobs';
import { CLASS_INDEX, ElementScales, classifyElements, classifyInto, elementScales } from './elementGrid';
import { OverviewBuilder, isProblem } from './overview';
import { Handlers } from './router';
import { Slice, SliceIndex, sliceIndex, sliceProblem } from './layout';

/** The widest run of flat indices read at once to gather a strided slice page from it (16 MB of FP32). */
const SLICE_SPAN_READ = 1 << 22;
/** Runs this long on average (1 KB of FP32) are read one by one rather than gathered from their span. */
const MIN_RUN_READ = 256;
/** Positions next/previous problem reads at once (4 MB of FP32). */
const FIND_CHUNK = 1 << 20;

/** How many of the largest deviations a summary lists for next/previous problem. */
export const PROBLEMS_LISTED = 64;

/** A summary reads the tensor once for its statistics and once to verify it: progress counts both passes. */
export type SummaryOptions = JobOptions;

/** Positions per call when the addon builds an overview: 64 MiB of FP32, for progress and cancel. */
const OVERVIEW_SLICE = 1 << 24;

export class TensorSession {
  readonly dump: DumpFile;
  private plans = new Map<string, GridPlan>();
  // Summaries and overviews are kept (a few KB, ~100 KB), so switching back to a tab or tensor never recomputes one.
  private summaries = new SharedJobs<TensorSummary>();
  private overviews = new SharedJobs<Overview>();

  /**
   * `native: false` builds every overview in JavaScript (the tests compare the two ways); by default an
   * FP32 tensor of a plain file on a grid is read and tiled by the addon's threads.
   */
  constructor(
    readonly file: string,
    private verifyOptions: () => VerifyOptions = () => ({}),
    private readonly ways: { native?: boolean } = {},
  ) {
    this.dump = openDump(file);
  }

  dispose(): void {
    this.dump.close();
  }

  tree(): TreeNode[] {
    const nodes: TreeNode[] = this.dump.tensors.map((t) => ({
      kind: 'tensor',
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      quantization: t.quantization
        ? 'scale' in t.quantization
          ? `${t.quantization.scheme} scale=${t.quantization.scale}`
          : `${t.quantization.scheme} axis=${t.quantization.axis}`
        : null,
    }));
    for (const o of this.dump.objects) nodes.push({ kind: 'object', name: o.name, value: formatObjectValue(o) });
    return nodes;
  }

  tensor(name: string): TensorRef {
    const t = this.dump.tensors.find((x) => x.name === name);
    if (!t) throw new FormatError('tensor-not-found', `no tensor named ${JSON.stringify(name)}`, this.file);
    return t;
  }

  /** Whether and how the tensor is judged against a grid: the same rule as `verify` (analysis/gridPlan.ts). */
  async planOf(t: TensorRef): Promise<GridPlan> {
    if (!this.plans.has(t.name)) this.plans.set(t.name, await planGridCheck(this.file, this.dump, t));
    return this.plans.get(t.name)!;
  }

  async scaleOf(t: TensorRef): Promise<ScaleInfo | undefined> {
    const plan = await this.planOf(t);
    return plan.judge ? plan.scale : undefined;
  }

  /**
   * The tensor's statistics and verification. Computed once: later calls get the kept summary, and
   * calls while it is computed join that computation; it stops when every caller has cancelled.
   */
  summary(name: string, opts: SummaryOptions = {}): Promise<TensorSummary> {
    return this.summaries.get(name, (signal, progress) => this.computeSummary(name, signal, progress), opts);
  }

  private async computeSummary(name: string, signal: AbortSignal, progress: (done: number, total: number) => void): Promise<TensorSummary> {
    const t = this.tensor(name);
    const n = numelOf(t.shape);
    const plan = await this.planOf(t);
    const total = plan.judge ? 2 * n : n;
    let done = 0;
    const onElements = (count: number): void => {
      done += count;
      progress(Math.min(done, total), total);
    };
    const stats = await tensorStats(t, { signal, onElements });
    const scale = plan.judge ? plan.scale : undefined;
    const perTensor = scale?.kind === 'per_tensor' ? scale.scale : null;
    let verify: TensorSummary['verify'] = null;
    if (plan.judge) {
      const r = await judgeTensor(t, plan, { ...this.verifyOptions(), worst: PROBLEMS_LISTED, signal, onElements });
      const problems: Problem[] = [...(r.worst ?? [])].sort((x, y) => x.index - y.index); // fp8 and packed codes list none
      verify = {
        verdict: r.verdict,
        reasons: r.reasons,
        fp32_artifacts: r.fp32_artifacts,
        true_offgrid: r.true_offgrid,
        saturated_pos: r.saturated_pos,
        saturated_neg: r.saturated_neg,
        max_deviation: r.max_deviation,
        code_histogram: r.code_histogram,
        code_histogram_min: r.code_histogram_min,
        int_min: r.int_min,
        int_max: r.int_max,
        problems,
        problems_listed: PROBLEMS_LISTED,
      };
    }
    if (signal.aborted) throw new CancelledError();
    return {
      name,
      dtype: t.dtype,
      shape: t.shape,
      n: numelOf(t.shape),
      stats,
      scale: perTensor,
      scaleSource: scale?.source ?? null,
      grid: plan.judge ? plan.evidence : plan.reason,
      verify,
      columns: t.shape.length ? t.shape[t.shape.length - 1] : 1,
    };
  }

  /** Values [start, start+count) with q, deviation and class computed as the verifier does (FP32, exact membership). */
  async page(name: string, start: number, count: number, slice?: Slice, block?: PageBlock): Promise<Page> {
    const t = this.tensor(name);
    const { index, n } = pictureOf(t, slice);
    // The page's positions in the picture (flat indices, or positions in the slice), and their flat indices.
    let s: number, c: number, posOf: (k: number) => number;
    if (block) {
      const problem = blockProblem(block, n);
      if (problem) throw new FormatError('invalid-argument', `${JSON.stringify(name)}: ${problem}`);
      const { row, col, rows, cols, pictureCols } = block;
      s = row * pictureCols + col;
      c = rows * cols;
      posOf = (k) => (row + Math.floor(k / cols)) * pictureCols + col + (k % cols);
    } else {
      s = Math.max(0, Math.min(start, n));
      c = Math.max(0, Math.min(count, MAX_PAGE, n - s));
      posOf = (k) => s + k;
    }
    const flatOf = index ? (k: number) => index.flatOf(posOf(k)) : posOf;
    const values = await this.readPositions(t, flatOf, c);
    const page: Page = { tensor: name, start: s, values, ...(block ? { block } : {}) };
    const grid = await this.gridOf(t);
    if (grid.kind === 'codes') {
      page.cls = new Uint8Array(values.length);
      classifyChunk(grid, values, flatOf, page.cls, new Float32Array(values.length));
      page.q = Float32Array.from(values);
      return page;
    }
    if (grid.kind === 'none') return page;
    const { scales } = grid;
    Object.assign(page, classifyElements(values, flatOf, scales, grid.storage));
    // Per channel: each element's own scale travels with it (the tooltip and the cursor show it).
    if (!scales.perTensor) page.scales = Float32Array.from({ length: values.length }, (_, k) => scales.at(flatOf(k)));
    return page;
  }

  /**
   * The tensor (or one 2-D slice of it) as a picture `cols` wide, summed up into tiles that keep their
   * worst element: one full read, with progress and cancel; kept once computed.
   */
  overview(name: string, cols: number, slice?: Slice, opts: JobOptions = {}): Promise<Overview> {
    const key = JSON.stringify([name, cols, slice ?? null]);
    return this.overviews.get(key, (signal, progress) => this.computeOverview(name, cols, slice, signal, progress), opts);
  }

  private async computeOverview(
    name: string,
    cols: number,
    slice: Slice | undefined,
    signal: AbortSignal,
    progress: (done: number, total: number) => void,
  ): Promise<Overview> {
    const t = this.tensor(name);
    if (!(Number.isInteger(cols) && cols >= 1))
      throw new FormatError('invalid-argument', `overview of ${JSON.stringify(name)}: columns must be a positive integer, got ${cols}`);
    const { index, n } = pictureOf(t, slice);
    const grid = await this.gridOf(t);
    const builder = new OverviewBuilder(name, n, cols, grid.kind === 'grid' ? 'deviation' : 'value');
    // One pair of scratch arrays for every chunk (chunks are at most DEFAULT_CHUNK_ELEMENTS).
    let cls = new Uint8Array(0),
      measure = new Float32Array(0);
    const addChunk = (start: number, values: Float32Array, flatOf: (k: number) => number): void => {
      if (cls.length < values.length) {
        cls = new Uint8Array(values.length);
        measure = new Float32Array(values.length);
      }
      const c = cls.subarray(0, values.length),
        m = measure.subarray(0, values.length);
      classifyChunk(grid, values, flatOf, c, m);
      builder.add(start, c, m);
      progress(Math.min(n, start + values.length), n);
    };
    const region = !index && grid.kind === 'grid' && this.ways.native !== false ? float32FileRegion(t) : undefined;
    const scale = region ? await this.scaleOf(t) : undefined;
    if (region && scale && grid.kind === 'grid') {
      // The addon reads and tiles it (about 20x the loop below), a slice per call for progress and cancel.
      const perChannel = scale.kind === 'per_channel' ? scale : undefined;
      const options: NativeOverviewOptions = {
        scales: perChannel ? Float64Array.from(perChannel.scales) : Float64Array.of(scale.kind === 'per_tensor' ? scale.scale : 1),
        zeroPoints: perChannel
          ? Float64Array.from(perChannel.scales, (_, c) => perChannel.zeroPoints[c] ?? 0)
          : Float64Array.of(scale.kind === 'per_tensor' ? scale.zeroPoint : 0),
        inner: perChannel ? (perChannel.inner ?? channelStride(t.shape, perChannel.axis)) : 1,
        qmin: grid.scales.qmin,
        qmax: grid.scales.qmax,
        ...builder.tiling(),
        ...(this.verifyOptions().threads ? { threads: this.verifyOptions().threads } : {}),
      };
      const native = loadNative();
      for (let start = 0; start < n; start += OVERVIEW_SLICE) {
        if (signal.aborted) throw new CancelledError();
        const count = Math.min(OVERVIEW_SLICE, n - start);
        builder.merge(await native.overview(region.fd, region.offset + 4 * start, count, start, options));
        progress(start + count, n);
      }
    } else if (index) {
      for (let start = 0; start < n; start += MAX_PAGE) {
        if (signal.aborted) throw new CancelledError();
        const count = Math.min(MAX_PAGE, n - start);
        const flatOf = (k: number): number => index.flatOf(start + k);
        addChunk(start, await this.readPositions(t, flatOf, count), flatOf);
      }
    } else {
      for await (const { start, values } of float32ChunksReadAhead(t)) {
        if (signal.aborted) throw new CancelledError();
        addChunk(start, values, (k) => start + k);
      }
    }
    if (signal.aborted) throw new CancelledError();
    return builder.result();
  }

  /** How the tensor's elements are classed: on its grid, as integer codes in a range, or on no grid. */
  private async gridOf(t: TensorRef): Promise<ChunkGrid> {
    const range = codeRange(t.dtype, this.verifyOptions());
    if (isIntegerDType(t.dtype)) return { kind: 'codes', ...range };
    const scale = await this.scaleOf(t);
    return scale ? { kind: 'grid', scales: elementScales(scale, t.shape, range), storage: storageOf(t.dtype) } : { kind: 'none' };
  }

  /**
   * The first problem after (dir 1) or before (dir −1) position `from` of the picture: read in chunks
   * of FIND_CHUNK positions, classed as pages are. Where the overview of this picture (`cols` wide) is
   * already kept, bands of tile rows it found no problem in are skipped.
   */
  async findProblem(name: string, from: number, dir: 1 | -1, slice?: Slice, cols?: number, opts: JobOptions = {}): Promise<FoundProblem> {
    const t = this.tensor(name);
    if (!Number.isFinite(from) || (dir !== 1 && dir !== -1))
      throw new FormatError('invalid-argument', `find problem in ${JSON.stringify(name)}: needs a position and a direction 1 or -1`);
    const { index, n } = pictureOf(t, slice);
    const grid = await this.gridOf(t);
    const overview = cols ? this.overviews.peek(JSON.stringify([name, cols, slice ?? null])) : undefined;
    // Position p's band of tile rows: [its first position, one past its last), and whether the overview saw a problem in it.
    const bandOf = (p: number): { first: number; end: number; clean: boolean } | null => {
      if (!overview) return null;
      const band = Math.floor(Math.floor(p / overview.cols) / overview.rowsPerTile);
      let clean = true;
      for (let tile = band * overview.tileCols; tile < (band + 1) * overview.tileCols; tile++) if (overview.problems[tile]) clean = false;
      const first = band * overview.rowsPerTile * overview.cols;
      return { first, end: Math.min(n, first + overview.rowsPerTile * overview.cols), clean };
    };
    const cls = new Uint8Array(FIND_CHUNK),
      measure = new Float32Array(FIND_CHUNK);
    let scanned = 0;
    const total = dir > 0 ? Math.max(0, n - Math.max(0, from + 1)) : Math.max(0, Math.min(n, from));
    let p = dir > 0 ? Math.max(0, Math.floor(from) + 1) : Math.min(n, Math.ceil(from)) - 1; // the next position to look at
    while (dir > 0 ? p < n : p >= 0) {
      if (opts.signal?.aborted) throw new CancelledError();
      const band = bandOf(p);
      if (band?.clean) {
        p = dir > 0 ? band.end : band.first - 1;
        continue;
      }
      // The chunk [a, b): forwards from p, or backwards ending at p; within p's band where the overview has bands.
      const a = dir > 0 ? p : Math.max(band?.first ?? 0, p - FIND_CHUNK + 1),
        b = dir > 0 ? Math.min(band?.end ?? n, p + FIND_CHUNK) : p + 1;
      const flatOf = index ? (k: number) => index.flatOf(a + k) : (k: number) => a + k;
      const values = await this.readPositions(t, flatOf, b - a);
      const c = cls.subarray(0, b - a);
      classifyChunk(grid, values, flatOf, c, measure.subarray(0, b - a));
      if (dir > 0) {
        for (let k = 0; k < c.length; k++) if (isProblem(c[k])) return { tensor: name, at: a + k, class: ELEMENT_CLASSES[c[k]], scanned: scanned + k + 1 };
      } else {
        for (let k = c.length - 1; k >= 0; k--)
          if (isProblem(c[k])) return { tensor: name, at: a + k, class: ELEMENT_CLASSES[c[k]], scanned: scanned + c.length - k };
      }
      scanned += b - a;
      opts.onProgress?.(Math.min(scanned, total), total);
      p = dir > 0 ? b : a - 1;
    }
    return { tensor: name, at: null, class: null, scanned };
  }

  /**
   * The values at flat indices flatOf(0), …, flatOf(c − 1) (a run of the tensor, a block's rows, a slice).
   * In long runs of consecutive indices (a row, when the columns are the last axis) each run is one read;
   * scattered ones (a transposed or strided slice) are gathered from one read of their span when it is
   * at most SLICE_SPAN_READ elements, and read run by run otherwise.
   */
  private async readPositions(t: TensorRef, flatOf: (k: number) => number, c: number): Promise<Float32Array> {
    const values = new Float32Array(c);
    const runs: [at: number, first: number, length: number][] = [];
    let lo = Infinity,
      hi = -Infinity;
    for (let k = 0; k < c; k++) {
      const f = flatOf(k);
      if (f < lo) lo = f;
      if (f > hi) hi = f;
      const last = runs[runs.length - 1];
      if (last && f === last[1] + last[2]) last[2]++;
      else runs.push([k, f, 1]);
    }
    const decode = (raw: Buffer): Float32Array => decodeToFloat32(t.dtype, raw, t.storage.littleEndian);
    if (c / Math.max(1, runs.length) < MIN_RUN_READ && hi - lo + 1 <= SLICE_SPAN_READ) {
      const span = decode(await readRawElements(t, lo, hi - lo + 1));
      for (let k = 0; k < c; k++) values[k] = span[flatOf(k) - lo];
      return values;
    }
    await Promise.all(runs.map(async ([at, first, length]) => values.set(decode(await readRawElements(t, first, length)), at)));
    return values;
  }

  async explain(name: string, index: number): Promise<Omit<Explanation, 'class'> & Explained & { scale_source: string; channel: number | null }> {
    const t = this.tensor(name);
    if (!(index >= 0 && index < numelOf(t.shape))) throw new FormatError('invalid-argument', `index ${index} outside tensor ${JSON.stringify(name)}`);
    const v = decodeToFloat32(t.dtype, await readRawElements(t, index, 1), t.storage.littleEndian)[0];
    const scale = await this.scaleOf(t);
    if (!scale) throw new FormatError('invalid-argument', `no scale known for ${JSON.stringify(name)}`);
    const scales = elementScales(scale, t.shape, codeRange(t.dtype, this.verifyOptions()));
    const channel = scales.channel(index);
    // A per-channel scale says which channel's (or group's) scale explained the element.
    const source =
      channel === null ? scale.source : `${scale.source}, ${scale.kind === 'per_channel' && scale.granularity === 'group' ? 'group' : 'channel'} ${channel}`;
    const e = explainValue(v, scales.at(index));
    // On the grid with a code no INT8 tensor holds: the page's class, and the step that decides it.
    const code = e.q + scales.zeroPoint(index);
    const outOfRange = e.class !== 'off_grid' && Number.isFinite(v) && (code < scales.qmin || code > scales.qmax);
    const steps = outOfRange ? [...e.steps, `code q + zp = ${code} is outside [${scales.qmin}, ${scales.qmax}]: on the grid, but out of range`] : e.steps;
    return { ...e, steps, class: outOfRange ? 'out_of_range' : e.class, index, tensor: name, scale_source: source, channel };
  }
}

/** How a tensor's elements are classed (TensorSession.gridOf). */
type ChunkGrid =
  { kind: 'grid'; scales: ElementScales; storage: 'float32' | 'bfloat16' | 'float16' } | { kind: 'codes'; qmin: number; qmax: number } | { kind: 'none' };

/**
 * Classes and measures of a chunk of values, as the overview and next/previous problem see them: on a
 * grid, each class and |x/s − q|; integer codes, `code` or `out_of_range` and |value|; values on no
 * grid, NO_CLASS (NaN/Inf: non_finite) and |value|.
 */
function classifyChunk(grid: ChunkGrid, values: Float32Array, flatOf: (k: number) => number, cls: Uint8Array, measure: Float32Array): void {
  if (grid.kind === 'grid') {
    classifyInto(values, flatOf, grid.scales, grid.storage, { cls, dev: measure });
    return;
  }
  const { CODE, OUT, NON_FINITE } = { CODE: CLASS_INDEX.code, OUT: CLASS_INDEX.out_of_range, NON_FINITE: CLASS_INDEX.non_finite };
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    measure[k] = Math.abs(v);
    if (grid.kind === 'codes') cls[k] = v < grid.qmin || v > grid.qmax ? OUT : CODE;
    else cls[k] = Number.isFinite(v) ? NO_CLASS : NON_FINITE;
  }
}

/** The positions a heatmap shows: the whole tensor (flat indices), or one 2-D slice of it (checked). */
function pictureOf(t: TensorRef, slice: Slice | undefined): { index: SliceIndex | undefined; n: number } {
  if (!slice) return { index: undefined, n: numelOf(t.shape) };
  const problem = sliceProblem(t.shape, slice);
  if (problem) throw new FormatError('invalid-argument', `${JSON.stringify(t.name)}: ${problem}`);
  const index = sliceIndex(t.shape, slice);
  return { index, n: index.n };
}

/** What is wrong with a requested block of a picture of `n` positions, or null. */
function blockProblem(b: PageBlock, n: number): string | null {
  const ints = [b.row, b.col, b.rows, b.cols, b.pictureCols];
  if (!ints.every((v) => Number.isInteger(v) && v >= 0) || b.rows < 1 || b.cols < 1 || b.pictureCols < 1)
    return `a page block needs non-negative integers, got ${JSON.stringify(b)}`;
  if (b.col + b.cols > b.pictureCols) return `block columns ${b.col}–${b.col + b.cols - 1} outside a picture ${b.pictureCols} wide`;
  if (b.rows * b.cols > MAX_PAGE) return `a block of ${b.rows * b.cols} positions is more than a page (${MAX_PAGE})`;
  if ((b.row + b.rows - 1) * b.pictureCols + b.col + b.cols > n) return `block rows ${b.row}–${b.row + b.rows - 1} outside the picture of ${n} positions`;
  return null;
}

/** The tensor viewer's requests, answered from one session; `explained` shows the explanation (the host's panel). */
export function tensorHandlers(session: TensorSession, explained: (e: Awaited<ReturnType<TensorSession['explain']>>) => void = () => undefined): Handlers {
  return {
    tree: () => ({ file: session.file, format: session.dump.format, nodes: session.tree() }),
    summary: (r, ctx) => session.summary(r.tensor, { signal: ctx.signal, onProgress: ctx.progress }),
    page: (r) => session.page(r.tensor, r.start, r.count, r.slice, r.block),
    overview: (r, ctx) => session.overview(r.tensor, r.cols, r.slice, { signal: ctx.signal, onProgress: ctx.progress }),
    findProblem: (r, ctx) => session.findProblem(r.tensor, r.from, r.dir, r.slice, r.cols, { signal: ctx.signal, onProgress: ctx.progress }),
    explain: async (r) => {
      const e = await session.explain(r.tensor, r.index);
      explained(e);
      return e;
    },
  };
}
