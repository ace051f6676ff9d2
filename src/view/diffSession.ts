/**
 * Host side of the diff view: pages of the two tensors of a compared pair, each classified on its own
 * run's grid exactly as the tensor viewer does; per-channel profiles of their difference; both values
 * of one element explained. No vscode import.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DiffReport, PairResult } from '../analysis/diff';
import { explainValue } from '../analysis/explain';
import { FormatError } from '../core/errors';
import { isIntegerDType } from '../formats/dtypes';
import { float32ChunkPairs, numelOf, unravel } from '../formats/tensor';
import { TensorSession } from './tensorSession';
import { naturalLayout, channelOf } from './layout';
import { pairCoding, elementDelta } from './pairCodes';
import { Page, PageBlock, ChannelProfile, PairExplained, PairSide, PROFILE_ENTRIES } from './protocol';
import { Handlers } from './router';
import { OverviewBuilder } from './overview';

type Side = 'a' | 'b';

export class DiffSession {
  private sessions = new Map<string, TensorSession>();
  private profiles = new Map<string, ChannelProfile>();
  private readonly dirs: { a: boolean; b: boolean };

  constructor(readonly report: DiffReport) {
    this.dirs = { a: fs.statSync(report.a).isDirectory(), b: fs.statSync(report.b).isDirectory() };
  }

  private pair(key: string): PairResult {
    const pair = this.report.pairs.find((p) => p.key === key);
    if (!pair) throw new FormatError('invalid-argument', `no compared pair ${JSON.stringify(key)}`);
    return pair;
  }

  /** The dump file and tensor name of one side of a pair (folders are paired by relative path). */
  locate(key: string, side: Side): { file: string; tensor: string } {
    const pair = this.pair(key);
    const root = this.report[side];
    return { file: this.dirs[side] ? path.join(root, pair.file) : root, tensor: pair.name };
  }

  private side(key: string, side: Side): { session: TensorSession; tensor: string } {
    const { file, tensor } = this.locate(key, side);
    let s = this.sessions.get(file);
    if (!s) {
      s = new TensorSession(file);
      this.sessions.set(file, s);
    }
    return { session: s, tensor };
  }

  page(key: string, side: Side, start: number, count: number, block?: PageBlock): Promise<Page> {
    const { session, tensor } = this.side(key, side);
    return session.page(tensor, start, count, undefined, block);
  }

  /**
   * Max and mean |Δq| (or |Δ|) per channel, over every element, and with `cols` the pair's overview
   * (|Δ| per tile of the picture that wide) from the same read; kept once computed.
   */
  async profile(key: string, opts: { cols?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<ChannelProfile> {
    if (opts.cols !== undefined && !(Number.isInteger(opts.cols) && opts.cols > 0))
      throw new FormatError('invalid-argument', `pair overview of ${JSON.stringify(key)}: columns must be a positive integer, got ${opts.cols}`);
    const keptAs = JSON.stringify([key, opts.cols ?? null]);
    const kept = this.profiles.get(keptAs);
    if (kept) return kept;
    const pair = this.pair(key);
    const [a, b] = (['a', 'b'] as const).map((side) => {
      const { session, tensor } = this.side(key, side);
      return session.tensor(tensor);
    });
    if (pair.error || a.shape.join(',') !== b.shape.join(','))
      throw new FormatError('invalid-argument', `${key}: ${pair.error ?? 'shapes differ'}, no per-channel profile`);
    const layout = naturalLayout(a.shape, a.name || key);
    // The diff's own scales, so the profile's largest value is the table's max |Δq|.
    const coding = pairCoding(pair);
    const group = Math.ceil(layout.channels / PROFILE_ENTRIES),
      entries = Math.ceil(layout.channels / group);
    const max = new Float64Array(entries),
      sum = new Float64Array(entries),
      count = new Float64Array(entries);
    const n = numelOf(a.shape);
    const overview = opts.cols ? new OverviewBuilder(key, n, opts.cols, 'delta') : undefined;
    for await (const chunk of float32ChunkPairs(a, b, opts.signal)) {
      const delta = new Float32Array(chunk.a.length);
      for (let k = 0; k < chunk.a.length; k++) {
        const d = Math.abs(elementDelta(coding, chunk.a[k], chunk.b[k]));
        const c = Math.floor(channelOf(layout, chunk.start + k) / group);
        if (d > max[c]) max[c] = d;
        sum[c] += d;
        count[c]++;
        delta[k] = d;
      }
      overview?.add(chunk.start, null, delta);
      opts.onProgress?.(chunk.start + chunk.a.length, n);
    }
    const profile: ChannelProfile = {
      key,
      axis: layout.channelAxis,
      channels: layout.channels,
      group,
      unit: coding.lsb ? 'LSB' : 'value',
      max,
      mean: sum.map((s, c) => (count[c] ? s / count[c] : 0)),
      ...(overview ? { overview: overview.result() } : {}),
    };
    this.profiles.set(keptAs, profile);
    return profile;
  }

  /**
   * Both runs' value of element `index`, each with the FP32 round trip on the grid the comparison used
   * (the diff's scale for that run), else on the run's own grid as its viewer judges it, else as stored.
   */
  async explain(key: string, index: number): Promise<PairExplained> {
    const pair = this.pair(key);
    const one = async (side: Side): Promise<PairSide> => {
      const { session, tensor } = this.side(key, side);
      const t = session.tensor(tensor);
      if (!(index >= 0 && index < numelOf(t.shape))) throw new FormatError('invalid-argument', `index ${index} outside ${JSON.stringify(key)}`);
      const value = (await session.page(tensor, index, 1)).values[0];
      const plain = (why: string): PairSide => ({
        value,
        q: null,
        class: null,
        scale: null,
        scale_source: null,
        deviation: null,
        roundtrip: null,
        steps: [why],
      });
      if (isIntegerDType(t.dtype)) return { ...plain(`${t.dtype} tensor: the value is the code itself.`), q: value, class: 'code' };
      if (!Number.isFinite(value)) return { ...plain('not a finite number: it has no code.'), class: 'non_finite' };
      const reported = side === 'a' ? pair.scale_a : pair.scale_b;
      const own = reported ? undefined : await session.scaleOf(t);
      const scale = reported ?? (own?.kind === 'per_tensor' ? own.scale : null);
      if (!scale) return plain('no per-tensor scale known for this run: the value is shown as stored, not judged.');
      const e = explainValue(value, scale);
      return {
        value,
        q: e.q,
        class: e.class,
        scale: e.scale_f32,
        scale_source: (reported ? (side === 'a' ? pair.scale_source_a : pair.scale_source_b) : own?.source) ?? null,
        deviation: e.deviation,
        roundtrip: e.roundtrip,
        steps: e.steps,
      };
    };
    const [a, b] = await Promise.all([one('a'), one('b')]);
    return { key, index, coords: unravel(index, pair.shape ?? []), a, b };
  }

  dispose(): void {
    for (const s of this.sessions.values()) s.dispose();
    this.sessions.clear();
  }
}

/** The diff view's requests: pages, per-channel profiles and explanations of either side of a compared pair. */
export function diffHandlers(diff: DiffSession): Handlers {
  return {
    pairPage: (r) => diff.page(r.key, r.side, r.start, r.count, r.block),
    pairProfile: (r, ctx) => diff.profile(r.key, { cols: r.cols, signal: ctx.signal, onProgress: ctx.progress }),
    pairExplain: (r) => diff.explain(r.key, r.index),
  };
}
