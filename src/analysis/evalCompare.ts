/**
 * Is the difference between two evaluation runs real? The input guard first, as for tensors: runs
 * that scored different documents are not compared. Then, per task and 0/1 metric, a paired test
 * (McNemar's exact test, and the interval of the per-document differences) when both runs logged
 * their samples, else the unpaired z test on the reported aggregates and standard errors.
 */
import { EvalRun, SampleRecord, findEvalRun, readSamples } from '../formats/lmEvalRun';
import { UsageError } from '../core/errors';
import { Z95, mcnemarExactP, twoSidedNormalP } from './significance';

export interface RunFigure {
  value: number | null;
  stderr: number | null;
}

export interface TaskComparison {
  task: string;
  metric: string;
  /** The harness' filter of this metric (`none` for most multiple-choice tasks). */
  filter: string;
  n: number | null;
  a: RunFigure;
  b: RunFigure;
  diff: number | null;
  ci95: [number, number] | null;
  test: 'mcnemar' | 'unpaired_z';
  p_value: number | null;
  a_only: number | null;
  b_only: number | null;
  significant: boolean;
  /** Unpaired test only: diff / √(se_a² + se_b²). */
  z?: number | null;
  /** What the figures mean, in words, and what would settle an open question. */
  note: string;
}

export interface EvalComparison {
  a: string;
  b: string;
  valid: boolean;
  reason: string | null;
  tasks: TaskComparison[];
  results_a: string;
  results_b: string;
}

/** Metrics that are 0/1 per document when no samples show it. */
const BINARY_METRIC = /^(acc|acc_norm|exact_match|em|mc1|contains|accuracy|correct|pass@1)$/;

interface MetricKey {
  metric: string;
  filter: string;
  key: string;
  stderrKey: string;
}

/** The metrics a task reports: `acc,none` (metric, filter) or, in old results files, `acc`. */
function metricKeys(taskResults: Record<string, unknown>): MetricKey[] {
  const out: MetricKey[] = [];
  for (const [key, value] of Object.entries(taskResults)) {
    if (typeof value !== 'number' || key === 'alias') continue;
    const [metric, filter] = key.includes(',') ? [key.slice(0, key.indexOf(',')), key.slice(key.indexOf(',') + 1)] : [key, 'none'];
    if (metric.endsWith('_stderr')) continue;
    out.push({ metric, filter, key, stderrKey: key.includes(',') ? `${metric}_stderr,${filter}` : `${metric}_stderr` });
  }
  return out;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The first document the two logs do not share, or whose content or prompt differs; null when they match. */
function firstDifferentDocument(a: SampleRecord[], b: SampleRecord[]): string | null {
  const key = (r: SampleRecord): string => `${r.filter}\u0000${r.docId}`;
  const inB = new Map(b.map((r) => [key(r), r]));
  for (const ra of a) {
    const rb = inB.get(key(ra));
    if (!rb) return `document ${ra.docId} is in A only`;
    if (ra.docHash !== rb.docHash) return `document ${ra.docId} differs (doc_hash ${ra.docHash?.slice(0, 12)}… vs ${rb.docHash?.slice(0, 12)}…)`;
    if (ra.promptHash !== rb.promptHash)
      return `document ${ra.docId} was prompted differently (prompt_hash ${ra.promptHash?.slice(0, 12)}… vs ${rb.promptHash?.slice(0, 12)}…)`;
    inB.delete(key(ra));
  }
  const extra = inB.values().next();
  return extra.done ? null : `document ${extra.value.docId} is in B only`;
}

function pairedComparison(task: string, m: MetricKey, a: RunFigure, b: RunFigure, sa: SampleRecord[], sb: SampleRecord[]): TaskComparison | null {
  const bByDoc = new Map(sb.filter((r) => r.filter === m.filter).map((r) => [r.docId, r.metrics.get(m.metric)]));
  const diffs: number[] = [];
  let aOnly = 0;
  let bOnly = 0;
  for (const ra of sa) {
    if (ra.filter !== m.filter) continue;
    const va = ra.metrics.get(m.metric);
    const vb = bByDoc.get(ra.docId);
    if (va === undefined || vb === undefined) return null;
    if ((va !== 0 && va !== 1) || (vb !== 0 && vb !== 1)) return null; // not a 0/1 metric
    aOnly += Number(va === 1 && vb === 0);
    bOnly += Number(va === 0 && vb === 1);
    diffs.push(vb - va);
  }
  const n = diffs.length;
  if (n === 0) return null;
  const mean = diffs.reduce((s, d) => s + d, 0) / n;
  const sd = n > 1 ? Math.sqrt(diffs.reduce((s, d) => s + (d - mean) ** 2, 0) / (n - 1)) : 0;
  const half = (Z95 * sd) / Math.sqrt(n);
  const p = mcnemarExactP(aOnly, bOnly);
  const significant = p < 0.05;
  return {
    task,
    metric: m.filter === 'none' ? m.metric : m.key,
    filter: m.filter,
    n,
    a,
    b,
    diff: mean,
    ci95: [mean - half, mean + half],
    test: 'mcnemar',
    p_value: p,
    a_only: aOnly,
    b_only: bOnly,
    significant,
    note: `paired over ${n} documents: ${aOnly} right in A only, ${bOnly} in B only; ${significant ? 'the difference is significant at 5%' : 'not significant at 5%'} (McNemar exact p = ${p.toPrecision(3)})`,
  };
}

function unpairedComparison(task: string, m: MetricKey, a: RunFigure, b: RunFigure, why: string): TaskComparison {
  const base = {
    task,
    metric: m.filter === 'none' ? m.metric : m.key,
    filter: m.filter,
    n: null,
    a,
    b,
    test: 'unpaired_z' as const,
    a_only: null,
    b_only: null,
  };
  if (a.value === null || b.value === null) return { ...base, diff: null, ci95: null, p_value: null, z: null, significant: false, note: 'a value is missing' };
  const diff = b.value - a.value;
  if (a.stderr === null || b.stderr === null || a.stderr + b.stderr === 0) {
    return { ...base, diff, ci95: null, p_value: null, z: null, significant: false, note: `no standard errors to test with; ${why}` };
  }
  const se = Math.sqrt(a.stderr ** 2 + b.stderr ** 2);
  const z = diff / se;
  const p = twoSidedNormalP(z);
  const significant = p < 0.05;
  return {
    ...base,
    diff,
    ci95: [diff - Z95 * se, diff + Z95 * se],
    p_value: p,
    z,
    significant,
    note: `${significant ? 'significant' : 'not significant'} at 5% by the unpaired z test on the aggregates (z = ${z.toFixed(2)}, p = ${p.toPrecision(3)}); ${why}`,
  };
}

const SETTLE = 'per-document results (lm_eval --log_samples) would allow the paired McNemar test, which is far more sensitive';

export interface EvalCompareOptions {
  task?: string;
}

export async function compareEvalRuns(pathA: string, pathB: string, opts: EvalCompareOptions = {}): Promise<EvalComparison> {
  const ra: EvalRun = findEvalRun(pathA);
  const rb: EvalRun = findEvalRun(pathB);
  let tasks = Object.keys(ra.results)
    .filter((t) => t in rb.results)
    .sort();
  if (opts.task !== undefined) {
    if (!tasks.includes(opts.task)) throw new UsageError(`task ${JSON.stringify(opts.task)} is not in both runs (common tasks: ${tasks.join(', ') || 'none'})`);
    tasks = [opts.task];
  }
  const doc: EvalComparison = { a: pathA, b: pathB, valid: true, reason: null, tasks: [], results_a: ra.resultsFile, results_b: rb.resultsFile };
  if (!tasks.length) {
    doc.reason = 'the runs share no task';
    return doc;
  }
  const samples = new Map<string, [SampleRecord[], SampleRecord[]]>();
  // The guard first, over every task, before any figure is compared.
  for (const t of tasks) {
    const fa = ra.samplesFiles.get(t);
    const fb = rb.samplesFiles.get(t);
    if (!fa || !fb) continue;
    const pair: [SampleRecord[], SampleRecord[]] = [await readSamples(fa), await readSamples(fb)];
    const differs = firstDifferentDocument(...pair);
    if (differs) {
      return { ...doc, valid: false, reason: `task ${t}: ${differs}: the runs evaluated different documents, so their scores are not comparable` };
    }
    samples.set(t, pair);
  }
  for (const t of tasks) {
    const pair = samples.get(t);
    const keysB = new Set(metricKeys(rb.results[t]).map((k) => k.key));
    for (const m of metricKeys(ra.results[t]).filter((k) => keysB.has(k.key))) {
      const a = { value: num(ra.results[t][m.key]), stderr: num(ra.results[t][m.stderrKey]) };
      const b = { value: num(rb.results[t][m.key]), stderr: num(rb.results[t][m.stderrKey]) };
      const paired = pair ? pairedComparison(t, m, a, b, pair[0], pair[1]) : null;
      if (paired) doc.tasks.push(paired);
      else if (!pair && BINARY_METRIC.test(m.metric)) {
        const why = ra.samplesFiles.has(t) || rb.samplesFiles.has(t) ? `only one run logged its samples; ${SETTLE}` : SETTLE;
        doc.tasks.push(unpairedComparison(t, m, a, b, why));
      }
    }
  }
  return doc;
}
