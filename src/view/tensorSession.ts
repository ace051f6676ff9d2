/**
 * Host side of the tensor viewer: owns one opened dump and answers the webview's requests
 * (tree, per-tensor summary, pages of values with their grid classification, explanations).
 * No vscode import: the custom editor wires it to a webview, the tests call it directly.
 */
import { openDump } from '../formats/open';
import { DumpFile, formatObjectValue } from '../formats/dump';
import { TensorRef, numelOf, readRawElements } from '../formats/tensor';
import { decodeToFloat32, isIntegerDType } from '../formats/dtypes';
import { tensorStats } from '../analysis/stats';
import { ScaleInfo } from '../analysis/scale';
import { GridPlan, judgeTensor, planGridCheck } from '../analysis/gridPlan';
import { VerifyOptions, storageOf } from '../analysis/verify';
import { explainValue, gridElement, Explanation } from '../analysis/explain';
import { FormatError, CancelledError } from '../core/errors';
import { TreeNode, TensorSummary, Page, MAX_PAGE, ELEMENT_CLASSES, ElementClassName, Explained, Problem } from './protocol';
import { Handlers } from './router';
import { Slice, SliceIndex, sliceIndex, sliceProblem } from './layout';

/** How many of the largest deviations a summary lists for next/previous problem. */
export const PROBLEMS_LISTED = 64;

const CLASS_INDEX = Object.fromEntries(ELEMENT_CLASSES.map((c, i) => [c, i])) as Record<ElementClassName, number>;

export interface SummaryOptions {
  signal?: AbortSignal;
  /** Elements processed so far of `total` (a summary reads the tensor once for its statistics and once to verify it). */
  onProgress?: (done: number, total: number) => void;
}

/** A summary being computed, shared by every request for it until the last one cancels. */
interface SummaryJob {
  promise: Promise<TensorSummary>;
  abort: AbortController;
  waiters: number;
  listeners: Set<(done: number, total: number) => void>;
}

export class TensorSession {
  readonly dump: DumpFile;
  private plans = new Map<string, GridPlan>();
  // Summaries are kept (a few KB each), so switching back to a tab or tensor never recomputes one.
  private summaries = new Map<string, TensorSummary>();
  private jobs = new Map<string, SummaryJob>();

  constructor(
    readonly file: string,
    private verifyOptions: () => VerifyOptions = () => ({}),
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
    const kept = this.summaries.get(name);
    if (kept) return Promise.resolve(kept);
    if (opts.signal?.aborted) return Promise.reject(new CancelledError());
    let job = this.jobs.get(name);
    if (!job || job.abort.signal.aborted) {
      const abort = new AbortController(),
        listeners = new Set<(done: number, total: number) => void>();
      const created: SummaryJob = {
        abort,
        listeners,
        waiters: 0,
        promise: this.computeSummary(name, abort.signal, (done, total) => listeners.forEach((l) => l(done, total))).then((summary) => {
          this.summaries.set(name, summary);
          return summary;
        }),
      };
      created.promise
        .finally(() => {
          if (this.jobs.get(name) === created) this.jobs.delete(name);
        })
        .catch(() => undefined); // a job every caller left rejects with no one waiting
      this.jobs.set(name, created);
      job = created;
    }
    const j = job;
    j.waiters++;
    if (opts.onProgress) j.listeners.add(opts.onProgress);
    return new Promise<TensorSummary>((resolve, reject) => {
      let left = false;
      const leave = (): void => {
        if (left) return;
        left = true;
        j.waiters--;
        if (opts.onProgress) j.listeners.delete(opts.onProgress);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        leave();
        if (j.waiters === 0) j.abort.abort();
        reject(new CancelledError());
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      j.promise.then(
        (summary) => {
          leave();
          resolve(summary);
        },
        (err) => {
          leave();
          reject(err);
        },
      );
    });
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
  async page(name: string, start: number, count: number, slice?: Slice): Promise<Page> {
    const t = this.tensor(name);
    let index: SliceIndex | undefined;
    if (slice) {
      const problem = sliceProblem(t.shape, slice);
      if (problem) throw new FormatError('invalid-argument', `${JSON.stringify(name)}: ${problem}`);
      index = sliceIndex(t.shape, slice);
    }
    const n = index ? index.n : numelOf(t.shape);
    const s = Math.max(0, Math.min(start, n)),
      c = Math.max(0, Math.min(count, MAX_PAGE, n - s));
    const values = index
      ? await this.sliceValues(t, index, s, c)
      : Float32Array.from(decodeToFloat32(t.dtype, await readRawElements(t, s, c), t.storage.littleEndian));
    const page: Page = { tensor: name, start: s, values };
    if (isIntegerDType(t.dtype)) {
      page.cls = new Uint8Array(values.length).fill(CLASS_INDEX.code);
      page.q = Float64Array.from(values);
      return page;
    }
    const scale = await this.scaleOf(t);
    if (!scale || scale.kind !== 'per_tensor') return page;
    const sf = Math.fround(scale.scale),
      storage = storageOf(t.dtype);
    const q = (page.q = new Float64Array(values.length)),
      dev = (page.dev = new Float64Array(values.length)),
      cls = (page.cls = new Uint8Array(values.length));
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) {
        cls[i] = CLASS_INDEX.non_finite;
        continue;
      }
      const e = gridElement(v, sf, storage);
      q[i] = e.q;
      dev[i] = e.deviation;
      cls[i] = CLASS_INDEX[e.class];
    }
    return page;
  }

  /** Values of slice positions [s, s + c): read in runs of consecutive flat indices (a row, when the columns are the last axis). */
  private async sliceValues(t: TensorRef, index: SliceIndex, s: number, c: number): Promise<Float32Array> {
    const values = new Float32Array(c);
    for (let k = 0; k < c;) {
      const first = index.flatOf(s + k);
      let run = 1;
      while (k + run < c && index.flatOf(s + k + run) === first + run) run++;
      values.set(decodeToFloat32(t.dtype, await readRawElements(t, first, run), t.storage.littleEndian), k);
      k += run;
    }
    return values;
  }

  async explain(name: string, index: number): Promise<Explanation & Explained & { scale_source: string }> {
    const t = this.tensor(name);
    if (!(index >= 0 && index < numelOf(t.shape))) throw new FormatError('invalid-argument', `index ${index} outside tensor ${JSON.stringify(name)}`);
    const v = decodeToFloat32(t.dtype, await readRawElements(t, index, 1), t.storage.littleEndian)[0];
    const scale = await this.scaleOf(t);
    if (!scale || scale.kind !== 'per_tensor') throw new FormatError('invalid-argument', `no per-tensor scale known for ${JSON.stringify(name)}`);
    return { ...explainValue(v, scale.scale), index, tensor: name, scale_source: scale.source };
  }
}

/** The tensor viewer's requests, answered from one session; `explained` shows the explanation (the host's panel). */
export function tensorHandlers(session: TensorSession, explained: (e: Awaited<ReturnType<TensorSession['explain']>>) => void = () => undefined): Handlers {
  return {
    tree: () => ({ file: session.file, format: session.dump.format, nodes: session.tree() }),
    summary: (r, ctx) => session.summary(r.tensor, { signal: ctx.signal, onProgress: ctx.progress }),
    page: (r) => session.page(r.tensor, r.start, r.count, r.slice),
    explain: async (r) => {
      const e = await session.explain(r.tensor, r.index);
      explained(e);
      return e;
    },
  };
}
