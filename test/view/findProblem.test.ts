/**
 * Next/previous problem in the tensor viewer: the host's search for the first element off its grid,
 * NaN/Inf or with a code out of range after (or before) a position, checked against every page of the
 * tensor (the classes the heatmap paints), across read chunks, with and without the overview's skips,
 * in a slice, on integer codes, and cancelled.
 */
import * as path from 'path';
import * as fs from 'fs';
import * as os from 'os';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { npyBytes } from '../support/writers';
import { fixture } from '../support/fixtures';
import { numelOf } from '../../src/formats/tensor';
import { TensorSession } from '../../src/view/tensorSession';
import { MAX_PAGE, ELEMENT_CLASSES } from '../../src/view/protocol';
import { sliceIndex, Slice } from '../../src/view/layout';
import { CancelledError } from '../../src/core/errors';
import type { VerifyOptions } from '../../src/analysis/verify';

const PROBLEM_CLASSES = new Set(['off_grid', 'non_finite', 'out_of_range']);

/** Every problem position of the picture, from its pages: the oracle. */
async function problemsFromPages(s: TensorSession, name: string, n: number, slice?: Slice): Promise<number[]> {
  const found: number[] = [];
  for (let start = 0; start < n; start += MAX_PAGE) {
    const p = await s.page(name, start, MAX_PAGE, slice);
    for (let k = 0; k < p.values.length; k++) {
      const cls = p.cls ? ELEMENT_CLASSES[p.cls[k]] : Number.isFinite(p.values[k]) ? 'none' : 'non_finite';
      if (PROBLEM_CLASSES.has(cls)) found.push(start + k);
    }
  }
  return found;
}

/** Follows next (or previous) problem from the edge until the search finds none: the positions it visits. */
async function walk(s: TensorSession, name: string, n: number, dir: 1 | -1, slice?: Slice, cols?: number): Promise<{ at: number[]; scanned: number[] }> {
  const at: number[] = [],
    scanned: number[] = [];
  let from = dir > 0 ? -1 : n;
  for (;;) {
    const f = await s.findProblem(name, from, dir, slice, cols);
    scanned.push(f.scanned);
    if (f.at === null) return { at, scanned };
    assert.ok(PROBLEM_CLASSES.has(f.class!), `found a ${f.class}`);
    at.push(f.at);
    from = f.at;
  }
}

function writeNpy(dir: string, name: string, descr: string, shape: number[], data: Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, npyBytes(`{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')},), }`, data));
  return file;
}

function session(file: string, opts: VerifyOptions = {}): TensorSession {
  return new TensorSession(file, () => opts);
}

test('next/previous problem walks every off-grid, NaN and out-of-range element of a 2.5M-element tensor in order, across read chunks; the overview lets it skip clean bands', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-find-'));
  const rows = 1000,
    cols = 2500,
    n = rows * cols,
    s = 0.0625;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (((i * 7919) % 255) - 127) * s;
  x[123] += s / 3; // off the grid
  x[1_500_000] = 130 * s; // on the grid, code 130 > 127
  x[2_400_001] = NaN;
  x[2_400_002] = -129 * s; // on the grid, code −129 < −128
  const file = writeNpy(dir, 'act.npy', '<f4', [rows, cols], Buffer.from(x.buffer));
  const ses = session(file);
  try {
    const name = ses.tensor('').name;
    assert.equal((await ses.summary(name)).scale, s, 'judged on the inferred grid of 1/16');
    const want = await problemsFromPages(ses, name, n);
    assert.deepEqual(want, [123, 1_500_000, 2_400_001, 2_400_002], 'the pages class exactly these as problems');
    const forward = await walk(ses, name, n, 1);
    assert.deepEqual(forward.at, want);
    const backward = await walk(ses, name, n, -1);
    assert.deepEqual(backward.at, [...want].reverse());
    assert.deepEqual(
      await Promise.all(want.map(async (p) => (await ses.findProblem(name, p, 1)).class)),
      ['out_of_range', 'non_finite', 'out_of_range', null],
      'each search reports the class of what it found',
    );
    // Without an overview the search from 123 to 1.5M reads every position between; with one kept, bands of clean tiles are skipped.
    const plain = (await ses.findProblem(name, 123, 1)).scanned;
    assert.equal(plain, 1_500_000 - 123);
    const o = await ses.overview(name, cols);
    assert.ok(o.rowsPerTile > 1);
    const skipped = await walk(ses, name, n, 1, undefined, cols);
    assert.deepEqual(skipped.at, want, 'the same problems with the overview');
    assert.ok(skipped.scanned[1] < plain / 10, `with the overview: ${skipped.scanned[1]} positions read, without: ${plain}`);
    assert.deepEqual((await walk(ses, name, n, -1, undefined, cols)).at, [...want].reverse());
    // Cancelled: the first progress report aborts it.
    const abort = new AbortController();
    await assert.rejects(ses.findProblem(name, 124, 1, undefined, undefined, { signal: abort.signal, onProgress: () => abort.abort() }), CancelledError);
    await assert.rejects(ses.findProblem(name, 0, 0 as 1), /direction/);
  } finally {
    ses.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('next problem in a 2-D slice of an N-D tensor: positions of the slice, only its own problems', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-find-'));
  const shape = [4, 300, 50],
    n = 4 * 300 * 50,
    s = 0.5;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = ((i % 200) - 100) * s;
  const flat = (a: number, b: number, c: number): number => (a * 300 + b) * 50 + c;
  x[flat(2, 17, 3)] = NaN;
  x[flat(2, 250, 49)] += s / 4;
  x[flat(1, 5, 5)] = NaN; // another slice
  const file = writeNpy(dir, 'x.npy', '<f4', shape, Buffer.from(x.buffer));
  const ses = session(file);
  try {
    const name = ses.tensor('').name;
    // Time (axis 1) down, the last axis across, at index 2 of axis 0; and the transposed picture.
    for (const slice of [
      { rows: 1, cols: 2, at: [2, 0, 0] },
      { rows: 2, cols: 1, at: [2, 0, 0] },
    ] as Slice[]) {
      const index = sliceIndex(shape, slice);
      const want = await problemsFromPages(ses, name, index.n, slice);
      assert.deepEqual(
        want.map((p) => index.flatOf(p)).sort((a, b) => a - b),
        [flat(2, 17, 3), flat(2, 250, 49)],
      );
      assert.deepEqual((await walk(ses, name, index.n, 1, slice)).at, want);
      assert.deepEqual((await walk(ses, name, index.n, -1, slice)).at, [...want].reverse());
    }
  } finally {
    ses.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('integer codes: a value outside the configured range is a problem (out_of_range) on its page and for next problem; inside the dtype’s own range none is', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-find-'));
  const codes = Int8Array.from({ length: 5000 }, (_, i) => (i % 200) - 100);
  codes[4321] = -128;
  const file = writeNpy(dir, 'codes.npy', '|i1', [5000], Buffer.from(codes.buffer));
  const narrow = session(file, { qmin: -127, qmax: 127 }),
    full = session(file);
  try {
    const name = narrow.tensor('').name;
    const page = await narrow.page(name, 4320, 3);
    assert.deepEqual(
      [...page.cls!].map((c) => ELEMENT_CLASSES[c]),
      ['code', 'out_of_range', 'code'],
    );
    assert.deepEqual((await walk(narrow, name, 5000, 1)).at, [4321]);
    assert.deepEqual((await walk(full, name, 5000, 1)).at, [], 'int8 holds −128: no problem under the dtype’s own range');
  } finally {
    narrow.dispose();
    full.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a per-channel weight PyTorch wrote (torch 2.11, one corrupted value): next problem finds exactly that value, on its channel’s scale, and nothing else either way', async () => {
  const ses = new TensorSession(fixture('checkpoints', 'torch-2.11/fake_quant_per_channel_corrupted.pt'));
  try {
    const name = 'layers.0.proj.weight';
    const n = numelOf(ses.tensor(name).shape);
    const want = await problemsFromPages(ses, name, n);
    assert.equal(want.length, 1, 'the pages class one element as a problem');
    assert.deepEqual((await walk(ses, name, n, 1)).at, want);
    assert.deepEqual((await walk(ses, name, n, -1)).at, want);
    assert.equal((await ses.findProblem(name, -1, 1)).class, 'off_grid');
  } finally {
    ses.dispose();
  }
});
