/**
 * Long computations (a tensor's summary, its overview) that several requests may want at once: each key
 * is computed once and kept; requests made while it runs join it and get its progress; it stops when
 * every request for it has cancelled.
 */
import { CancelledError } from '../core/errors';

export interface JobOptions {
  signal?: AbortSignal;
  /** Work done so far of `total`. */
  onProgress?: (done: number, total: number) => void;
}

interface Job<T> {
  promise: Promise<T>;
  abort: AbortController;
  waiters: number;
  listeners: Set<(done: number, total: number) => void>;
}

export class SharedJobs<T> {
  private kept = new Map<string, T>();
  private jobs = new Map<string, Job<T>>();

  /** The kept result of `key`, if it has been computed (nothing is started). */
  peek(key: string): T | undefined {
    return this.kept.get(key);
  }

  /** The kept result of `key`, or the result of `compute` (started now, or joined while it runs). */
  get(key: string, compute: (signal: AbortSignal, progress: (done: number, total: number) => void) => Promise<T>, opts: JobOptions = {}): Promise<T> {
    const kept = this.kept.get(key);
    if (kept !== undefined) return Promise.resolve(kept);
    if (opts.signal?.aborted) return Promise.reject(new CancelledError());
    let job = this.jobs.get(key);
    if (!job || job.abort.signal.aborted) {
      const abort = new AbortController(),
        listeners = new Set<(done: number, total: number) => void>();
      const created: Job<T> = {
        abort,
        listeners,
        waiters: 0,
        promise: compute(abort.signal, (done, total) => listeners.forEach((l) => l(done, total))).then((result) => {
          this.kept.set(key, result);
          return result;
        }),
      };
      created.promise
        .finally(() => {
          if (this.jobs.get(key) === created) this.jobs.delete(key);
        })
        .catch(() => undefined); // a job every caller left rejects with no one waiting
      this.jobs.set(key, created);
      job = created;
    }
    const j = job;
    j.waiters++;
    if (opts.onProgress) j.listeners.add(opts.onProgress);
    return new Promise<T>((resolve, reject) => {
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
        (result) => {
          leave();
          resolve(result);
        },
        (err) => {
          leave();
          reject(err);
        },
      );
    });
  }
}
