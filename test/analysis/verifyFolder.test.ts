import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fixture } from '../support/fixtures';
import { listDumpFiles } from '../../src/formats/dumpFiles';
import { verifyFile } from '../../src/analysis/verifyFile';
import { forEachLimited } from '../../src/view/concurrency';
import { CancelledError } from '../../src/core/errors';

/** A folder of 2,000 real dump files (copies of PyTorch-written int8 and quantized fixtures). */
function makeFolder(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-load-'));
  const sources = [
    fixture('torch-2.11', 'format/int8_tensor.pt'),
    fixture('torch-1.13', 'format/int8_tensor.pt'),
    fixture('torch-2.11', 'format/quantized.pt'),
  ];
  for (let i = 0; i < 2000; i++) {
    const sub = path.join(dir, `run${i % 20}`);
    fs.mkdirSync(sub, { recursive: true });
    fs.copyFileSync(sources[i % sources.length], path.join(sub, `layer${i}_dump.pt`));
  }
  return dir;
}

/** Largest gap between 10 ms timer ticks while `work` runs: how long the event loop was blocked. */
async function maxEventLoopLag<T>(work: () => Promise<T>): Promise<{ lag: number; result: T }> {
  let last = performance.now(),
    lag = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    lag = Math.max(lag, now - last - 10);
    last = now;
  }, 10);
  try {
    const result = await work();
    return { lag, result };
  } finally {
    clearInterval(timer);
  }
}

test('verifying a folder of 2,000 dump files keeps memory bounded and the event loop responsive', async () => {
  const dir = makeFolder();
  try {
    const files = listDumpFiles(dir).map((r) => path.join(dir, r));
    assert.equal(files.length, 2000);
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    let verdicts = 0,
      peakHeap = heapBefore;
    const { lag } = await maxEventLoopLag(() =>
      forEachLimited(files, 4, async (f) => {
        const r = await verifyFile(f);
        verdicts += r.results.length;
        peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
      }),
    );
    assert.ok(verdicts >= 2000, `${verdicts} tensors verified`);
    const grewMb = (peakHeap - heapBefore) / 2 ** 20;
    console.log(`# 2,000 files: heap grew at most ${grewMb.toFixed(1)} MB, longest event-loop stall ${lag.toFixed(0)} ms`);
    assert.ok(grewMb < 200, `heap grew ${grewMb} MB`);
    assert.ok(lag < 250, `event loop blocked for ${lag} ms`);
    assert.ok(fs.readdirSync(dir).length === 20, 'nothing written into the dump folder');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('cancelling a folder verification stops it promptly', async () => {
  const dir = makeFolder();
  try {
    const files = listDumpFiles(dir).map((r) => path.join(dir, r));
    const abort = new AbortController();
    let done = 0,
      abortedAt = 0,
      finishedAt = 0;
    let cancelledInFlight = 0;
    await forEachLimited(
      files,
      4,
      async (f) => {
        // As the extension's command does: work in flight when the user cancels ends with CancelledError.
        try {
          await verifyFile(f, { signal: abort.signal });
        } catch (err) {
          if (!(err instanceof CancelledError)) throw err;
          cancelledInFlight++;
          return;
        }
        done++;
        if (done === 100) {
          abortedAt = performance.now();
          abort.abort();
        }
      },
      abort.signal,
    );
    finishedAt = performance.now();
    assert.ok(done >= 100 && done < 110, `${done} files verified after cancelling at 100 (${cancelledInFlight} cancelled in flight)`);
    assert.ok(finishedAt - abortedAt < 500, `stopped ${finishedAt - abortedAt} ms after the cancel`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
