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
import { FormatError } from '../core/errors';
import { TreeNode, TensorSummary, Page, MAX_PAGE, ElementClassName } from './protocol';

export class TensorSession {
  readonly dump: DumpFile;
  private plans = new Map<string, GridPlan>();

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

  async summary(name: string): Promise<TensorSummary> {
    const t = this.tensor(name);
    const stats = await tensorStats(t);
    const plan = await this.planOf(t);
    const scale = plan.judge ? plan.scale : undefined;
    const perTensor = scale?.kind === 'per_tensor' ? scale.scale : null;
    let verify: TensorSummary['verify'] = null;
    if (plan.judge) {
      const r = await judgeTensor(t, plan, this.verifyOptions());
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
      };
    }
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
  async page(name: string, start: number, count: number): Promise<Page> {
    const t = this.tensor(name);
    const n = numelOf(t.shape);
    const s = Math.max(0, Math.min(start, n)),
      c = Math.max(0, Math.min(count, MAX_PAGE, n - s));
    const values = Array.from(decodeToFloat32(t.dtype, await readRawElements(t, s, c), t.storage.littleEndian));
    const page: Page = { tensor: name, start: s, values };
    if (isIntegerDType(t.dtype)) {
      page.cls = values.map((): ElementClassName => 'code');
      page.q = values;
      return page;
    }
    const scale = await this.scaleOf(t);
    if (!scale || scale.kind !== 'per_tensor') return page;
    const sf = Math.fround(scale.scale);
    page.q = [];
    page.dev = [];
    page.cls = [];
    for (const v of values) {
      if (!Number.isFinite(v)) {
        page.q.push(0);
        page.dev.push(0);
        page.cls.push('non_finite');
        continue;
      }
      const e = gridElement(v, sf, storageOf(t.dtype));
      page.q.push(e.q);
      page.dev.push(e.deviation);
      page.cls.push(e.class);
    }
    return page;
  }

  async explain(name: string, index: number): Promise<Explanation & { index: number; tensor: string; scale_source: string }> {
    const t = this.tensor(name);
    if (!(index >= 0 && index < numelOf(t.shape))) throw new FormatError('invalid-argument', `index ${index} outside tensor ${JSON.stringify(name)}`);
    const v = decodeToFloat32(t.dtype, await readRawElements(t, index, 1), t.storage.littleEndian)[0];
    const scale = await this.scaleOf(t);
    if (!scale || scale.kind !== 'per_tensor') throw new FormatError('invalid-argument', `no per-tensor scale known for ${JSON.stringify(name)}`);
    return { ...explainValue(v, scale.scale), index, tensor: name, scale_source: scale.source };
  }
}
