/**
 * Host side of the diff view's heatmap pair: pages of the two tensors of a compared pair, each
 * classified on its own run's grid exactly as the tensor viewer does. No vscode import.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DiffReport } from '../analysis/diff';
import { FormatError } from '../core/errors';
import { TensorSession } from './tensorSession';
import { Page } from './protocol';
import { Handlers } from './router';

export class DiffSession {
  private sessions = new Map<string, TensorSession>();
  private readonly dirs: { a: boolean; b: boolean };

  constructor(readonly report: DiffReport) {
    this.dirs = { a: fs.statSync(report.a).isDirectory(), b: fs.statSync(report.b).isDirectory() };
  }

  /** The dump file and tensor name of one side of a pair (folders are paired by relative path). */
  locate(key: string, side: 'a' | 'b'): { file: string; tensor: string } {
    const pair = this.report.pairs.find((p) => p.key === key);
    if (!pair) throw new FormatError('invalid-argument', `no compared pair ${JSON.stringify(key)}`);
    const root = this.report[side];
    return { file: this.dirs[side] ? path.join(root, pair.file) : root, tensor: pair.name };
  }

  async page(key: string, side: 'a' | 'b', start: number, count: number): Promise<Page> {
    const { file, tensor } = this.locate(key, side);
    let s = this.sessions.get(file);
    if (!s) {
      s = new TensorSession(file);
      this.sessions.set(file, s);
    }
    return s.page(tensor, start, count);
  }

  dispose(): void {
    for (const s of this.sessions.values()) s.dispose();
    this.sessions.clear();
  }
}

/** The diff view's requests: pages of either side of a compared pair. */
export function diffHandlers(diff: DiffSession): Handlers {
  return { pairPage: (r) => diff.page(r.key, r.side, r.start, r.count) };
}
