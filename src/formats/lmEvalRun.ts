/**
 * lm-evaluation-harness outputs: `results_<time>.json` (aggregates per task: `"acc,none"`,
 * `"acc_stderr,none"`, or `"acc"`/`"acc_stderr"` before filters existed) and, written with
 * --log_samples, `samples_<task>_<time>.jsonl` (one document per line: doc_id, filter, doc_hash,
 * prompt_hash, and each metric's per-document value). Read as data only; samples are streamed.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { FormatError } from '../core/errors';

export interface EvalRun {
  /** The path the user named. */
  path: string;
  resultsFile: string;
  /** results[task][key], as the harness wrote it. */
  results: Record<string, Record<string, unknown>>;
  /** The per-document log of each task, when the run was made with --log_samples. */
  samplesFiles: Map<string, string>;
}

export interface SampleRecord {
  docId: string;
  filter: string;
  docHash: string | null;
  promptHash: string | null;
  /** Per-document metric values (booleans as 0/1); non-numeric ones are left out. */
  metrics: Map<string, number>;
}

const MAX_DEPTH = 4;
const MAX_SAMPLE_LINES = 20_000_000;
const RESULTS_NAME = /^results.*\.json$/;
const SAMPLES_NAME = /^samples_(.+)_(\d{4}-\d{2}-\d{2}T[\d\-.:]+)\.jsonl$/;
const TIMESTAMP = /(\d{4}-\d{2}-\d{2}T[\d\-.:]+)\.json$/;

function walk(dir: string, depth: number, out: string[]): void {
  if (depth > MAX_DEPTH) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, depth + 1, out);
    else if (e.isFile() && RESULTS_NAME.test(e.name)) out.push(p);
  }
}

function readResults(file: string): Record<string, Record<string, unknown>> {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new FormatError('invalid-argument', `not a JSON results file: ${(err as Error).message}`, file);
  }
  const results = (doc as { results?: unknown } | null)?.results;
  if (typeof results !== 'object' || results === null || Array.isArray(results)) {
    throw new FormatError('invalid-argument', 'not an lm-evaluation-harness results file: no "results" object', file);
  }
  return results as Record<string, Record<string, unknown>>;
}

/** The samples files beside `resultsFile`, one per task: the one written with it, else the newest. */
function samplesBeside(resultsFile: string): Map<string, string> {
  const stamp = TIMESTAMP.exec(path.basename(resultsFile))?.[1];
  const byTask = new Map<string, { file: string; time: string }>();
  for (const name of fs.readdirSync(path.dirname(resultsFile)).sort()) {
    const m = SAMPLES_NAME.exec(name);
    if (!m) continue;
    const [, task, time] = m;
    const prev = byTask.get(task);
    const better = !prev || (prev.time !== stamp && (time === stamp || time > prev.time));
    if (better) byTask.set(task, { file: path.join(path.dirname(resultsFile), name), time });
  }
  return new Map([...byTask].map(([task, v]) => [task, v.file]));
}

/**
 * A run: a results JSON file (aggregates only), or a folder searched for its results file and the
 * samples written beside it. Several result files in one folder: the newest (by the harness' timestamp).
 */
export function findEvalRun(p: string): EvalRun {
  const st = fs.statSync(p);
  if (st.isFile()) return { path: p, resultsFile: p, results: readResults(p), samplesFiles: new Map() };
  const found: string[] = [];
  walk(p, 0, found);
  if (!found.length) throw new FormatError('invalid-argument', 'no results_*.json under this folder: not an lm-evaluation-harness output', p);
  const dirs = new Set(found.map((f) => path.dirname(f)));
  if (dirs.size > 1) {
    throw new FormatError(
      'invalid-argument',
      `results of several runs under this folder (${[...dirs].map((d) => path.relative(p, d) || '.').join(', ')}): name one of them`,
      p,
    );
  }
  const resultsFile = found.sort((x, y) => path.basename(x).localeCompare(path.basename(y))).at(-1)!;
  return { path: p, resultsFile, results: readResults(resultsFile), samplesFiles: samplesBeside(resultsFile) };
}

const STRUCTURAL_KEYS = new Set([
  'doc_id',
  'doc',
  'target',
  'arguments',
  'resps',
  'filtered_resps',
  'filter',
  'metrics',
  'doc_hash',
  'prompt_hash',
  'target_hash',
]);

const asMetric = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'boolean' ? Number(v) : undefined);

/** Streams a samples file; each line one document. A line that is no JSON object is an error naming it. */
export async function readSamples(file: string): Promise<SampleRecord[]> {
  const out: SampleRecord[] = [];
  const lines = readline.createInterface({ input: fs.createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (lineNo > MAX_SAMPLE_LINES) throw new FormatError('limit-exceeded', `more than ${MAX_SAMPLE_LINES} lines`, file);
    if (!line.trim()) continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line);
    } catch (err) {
      throw new FormatError('invalid-argument', `line ${lineNo} is not JSON: ${(err as Error).message}`, file);
    }
    if (typeof rec !== 'object' || rec === null || rec.doc_id === undefined) {
      throw new FormatError('invalid-argument', `line ${lineNo} has no doc_id: not an lm-evaluation-harness samples file`, file);
    }
    // Newer harness versions list the metric names; older ones only merged them into the record.
    const metricNames = Array.isArray(rec.metrics)
      ? (rec.metrics as unknown[]).filter((m): m is string => typeof m === 'string')
      : Object.keys(rec).filter((k) => !STRUCTURAL_KEYS.has(k));
    const metrics = new Map<string, number>();
    for (const name of metricNames) {
      const v = asMetric(rec[name]);
      if (v !== undefined) metrics.set(name, v);
    }
    out.push({
      docId: String(rec.doc_id),
      filter: typeof rec.filter === 'string' ? rec.filter : 'none',
      docHash: typeof rec.doc_hash === 'string' ? rec.doc_hash : null,
      promptHash: typeof rec.prompt_hash === 'string' ? rec.prompt_hash : null,
      metrics,
    });
  }
  return out;
}
