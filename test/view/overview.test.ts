/**
 * The tensor viewer's whole-tensor overview and per-channel pages, on files PyTorch wrote and on a
 * large .npy with one NaN and one off-grid value: every tile checked against the pages (the
 * element-by-element classification the heatmap paints), and the worst element found where it is.
 */
import * as path from 'path';
import * as fs from 'fs';
import * as os from 'os';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { fixture } from '../support/fixtures';
import { npyBytes } from '../support/writers';
import { TensorSession } from '../../src/view/tensorSession';
import { MAX_PAGE, ELEMENT_CLASSES, NO_CLASS, Overview, OVERVIEW_TILES } from '../../src/view/protocol';
import { readAllFloat64 } from '../../src/formats/tensor';
import { CancelledError } from '../../src/core/errors';
import type { Slice } from '../../src/view/layout';
import { classifyInto, elementScales } from '../../src/view/elementGrid';
import { gridElement } from '../../src/analysis/explain';
import { loadNative } from '../../src/native/addon';

const RANK: Record<string, number> = { exact: 0, code: 0, fp32_artifact: 1, out_of_range: 2, off_grid: 3, non_finite: 4 };

/** The overview recomputed from the session's pages, one element at a time: the oracle for the chunked builder. */
async function overviewFromPages(s: TensorSession, name: string, n: number, o: Overview, slice?: Slice) {
  const tiles = o.tileRows * o.tileCols;
  const worst = new Array<number>(tiles).fill(-1),
    problems = new Array<number>(tiles).fill(0),
    peak = new Array<number>(tiles).fill(0);
  const tileOf = (pos: number): number => Math.floor(Math.floor(pos / o.cols) / o.rowsPerTile) * o.tileCols + Math.floor((pos % o.cols) / o.colsPerTile);
  for (let start = 0; start < n; start += MAX_PAGE) {
    const p = await s.page(name, start, MAX_PAGE, slice);
    for (let k = 0; k < p.values.length; k++) {
      const t = tileOf(start + k);
      const cls = p.cls ? ELEMENT_CLASSES[p.cls[k]] : Number.isFinite(p.values[k]) ? null : 'non_finite';
      worst[t] = Math.max(worst[t], cls ? RANK[cls] : 0);
      if (cls === 'off_grid' || cls === 'non_finite' || cls === 'out_of_range') problems[t]++;
      const m = o.measure === 'deviation' ? p.dev![k] : Math.abs(p.values[k]);
      if (cls !== 'non_finite' && Math.fround(m) > peak[t]) peak[t] = Math.fround(m);
    }
  }
  return { worst, problems, peak };
}

function assertMatchesPages(o: Overview, want: Awaited<ReturnType<typeof overviewFromPages>>): void {
  const rank = (c: number): number => (c === NO_CLASS ? 0 : RANK[ELEMENT_CLASSES[c]]);
  assert.deepEqual([...o.worst].map(rank), want.worst, 'worst class per tile');
  assert.deepEqual([...o.problems], want.problems, 'problems per tile');
  assert.deepEqual([...o.peak], want.peak, 'largest measure per tile');
  // Every tile's worst element lies in that tile.
  for (let t = 0; t < o.at.length; t++) {
    const pos = o.at[t];
    assert.equal(
      Math.floor(Math.floor(pos / o.cols) / o.rowsPerTile) * o.tileCols + Math.floor((pos % o.cols) / o.colsPerTile),
      t,
      `tile ${t}'s worst element ${pos}`,
    );
  }
}

test('overview of a real Mamba dump (FP32 artifacts, no off-grid): every tile as the pages classify it, within the tile limits', async () => {
  const s = new TensorSession(fixture('torch-2.11', 'mamba_conv1d/mode2/layer23_conv1d.pt'));
  try {
    const sum = await s.summary('input');
    const o = await s.overview('input', 64);
    assert.equal(o.measure, 'deviation');
    assert.ok(o.tileRows <= OVERVIEW_TILES.rows && o.tileCols <= OVERVIEW_TILES.cols);
    assert.equal(o.rows, sum.n / 64);
    assertMatchesPages(o, await overviewFromPages(s, 'input', sum.n, o));
    // No value is off the grid; the artifacts show as artifact tiles, as many tiles as hold one.
    assert.equal(
      o.problems.reduce((a, b) => a + b, 0),
      sum.verify!.true_offgrid,
    );
    assert.ok([...o.worst].some((c) => ELEMENT_CLASSES[c] === 'fp32_artifact'));
    assert.equal(Math.max(...o.peak), Math.fround(sum.verify!.max_deviation));
    // Kept: asking again gives the same object, not a second read.
    assert.equal(await s.overview('input', 64), o);
    // Integer codes: tiles of codes, measured by |code|.
    const codes = await s.overview('weight', 4); // int8 [1536, 1, 4]
    assert.equal(codes.measure, 'value');
    assert.ok([...codes.worst].every((c) => ELEMENT_CLASSES[c] === 'code'));
  } finally {
    s.dispose();
  }
});

test('overview of a 2-D slice of an N-D tensor matches the slice pages', async () => {
  const s = new TensorSession(fixture('torch-2.11', 'mamba_conv1d/mode2/layer23_conv1d.pt'));
  try {
    const shape = s.tensor('input').shape; // [1, 1536, 64]
    const slice: Slice = { rows: 2, cols: 1, at: [0, 0, 0] }; // time × channels
    const o = await s.overview('input', shape[1], slice);
    assert.equal(o.n, shape[1] * shape[2]);
    assertMatchesPages(o, await overviewFromPages(s, 'input', o.n, o, slice));
    await assert.rejects(s.overview('input', 64, { rows: 1, cols: 1, at: [0, 0, 0] }), /two different axes/);
  } finally {
    s.dispose();
  }
});

test('a per-channel tensor written by PyTorch: pages carry each element’s channel scale; one corrupted value is the overview’s only problem tile and is explained on its channel’s scale', async () => {
  const s = new TensorSession(fixture('checkpoints', 'torch-2.11/fake_quant_per_channel_corrupted.pt'));
  try {
    const name = 'layers.0.proj.weight'; // [24, 40], one scale per row; the script corrupted [3, 7]
    const scales = await readAllFloat64(s.tensor('layers.0.proj.weight_scale'));
    const p = await s.page(name, 0, MAX_PAGE);
    assert.equal(p.values.length, 24 * 40);
    for (let k = 0; k < p.values.length; k++) assert.equal(p.scales![k], Math.fround(scales[Math.floor(k / 40)]), `element ${k}'s scale`);
    const off = [...p.cls!.keys()].filter((k) => ELEMENT_CLASSES[p.cls![k]] === 'off_grid');
    assert.deepEqual(off, [3 * 40 + 7]);
    const o = await s.overview(name, 40);
    assertMatchesPages(o, await overviewFromPages(s, name, 24 * 40, o));
    const bad = [...o.problems.keys()].filter((t) => o.problems[t]);
    assert.equal(bad.length, 1);
    assert.equal(ELEMENT_CLASSES[o.worst[bad[0]]], 'off_grid');
    assert.equal(o.at[bad[0]], 127);
    const e = await s.explain(name, 127);
    assert.equal(e.class, 'off_grid');
    assert.equal(e.channel, 3);
    assert.match(e.scale_source, /channel 3$/);
    assert.equal(e.scale_f32, Math.fround(scales[3]));
  } finally {
    s.dispose();
  }
});

test('overview of a 4.5M-element .npy: one NaN and one off-grid value among values on the grid are each a tile of their own, across read chunks; cancel stops it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-overview-'));
  const file = path.join(dir, 'activations.npy');
  const n = 4_500_000,
    cols = 3000,
    s = 0.0625;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = ((i * 7919) % 255) * s - 127 * s;
  const nan = 4_300_001,
    off = 123;
  x[nan] = NaN;
  x[off] = x[off] + s / 3;
  fs.writeFileSync(file, npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (${n / cols}, ${cols}), }`, Buffer.from(x.buffer)));
  const session = new TensorSession(file);
  try {
    const name = session.tensor('').name;
    const sum = await session.summary(name);
    assert.ok(sum.verify, `judged on an inferred grid: ${sum.grid}`);
    assert.equal(sum.scale, s);
    let progressed = 0;
    const o = await session.overview(name, cols, undefined, { onProgress: (done) => (progressed = done) });
    assert.equal(progressed, n);
    const bad = [...o.problems.keys()].filter((t) => o.problems[t]);
    assert.equal(bad.length, 2);
    assert.deepEqual(
      bad.map((t) => [ELEMENT_CLASSES[o.worst[t]], o.at[t]]),
      [
        ['off_grid', off],
        ['non_finite', nan],
      ],
    );
    // Cancelled before it finishes (another column count, so not the kept one): it stops with CancelledError.
    const abort = new AbortController();
    const pending = session.overview(name, cols / 2, undefined, { signal: abort.signal, onProgress: () => abort.abort() });
    await assert.rejects(pending, CancelledError);
  } finally {
    session.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the overview’s classification is gridElement’s, element for element, with codes outside [qmin, qmax] out of range: ties, artifacts, off-grid, NaN/Inf, each storage type, per-channel scales and zero points', () => {
  const s = Math.fround(0.0121623231);
  const values: number[] = [];
  for (let q = -300; q <= 300; q++) {
    values.push(Math.fround(q * s), Math.fround((q + 0.5) * s), Math.fround((q + 0.3) * s));
    values.push(Math.fround(q * s) + 2 ** -24 * Math.abs(q * s)); // one FP32 step off fl32(q·s)
  }
  values.push(NaN, Infinity, -Infinity, 0, -0, 3.4e38, -3.4e38, 1e-45);
  const x = Float32Array.from(values);
  for (const storage of ['float32', 'bfloat16', 'float16'] as const) {
    const zeroPoints = [0, 5];
    const scales = elementScales({ kind: 'per_channel', scales: [s, Math.fround(s * 3)], zeroPoints, axis: 0, source: 'test', inner: 7 }, [x.length], {
      qmin: -128,
      qmax: 127,
    });
    let outOfRange = 0;
    const out = { cls: new Uint8Array(x.length), dev: new Float64Array(x.length), q: new Float64Array(x.length) };
    classifyInto(x, (k) => k, scales, storage, out);
    for (let k = 0; k < x.length; k++) {
      if (!Number.isFinite(x[k])) {
        assert.equal(ELEMENT_CLASSES[out.cls[k]], 'non_finite');
        continue;
      }
      const e = gridElement(x[k], scales.at(k), storage);
      const code = e.q + zeroPoints[Math.floor(k / 7) % 2];
      const want = e.class !== 'off_grid' && (code < -128 || code > 127) ? 'out_of_range' : e.class;
      outOfRange += Number(want === 'out_of_range');
      assert.equal(ELEMENT_CLASSES[out.cls[k]], want, `${storage} element ${k} (${x[k]})`);
      assert.equal(out.dev[k], e.deviation);
      assert.ok(Object.is(out.q[k], e.q), `q of ${x[k]}`);
    }
    if (storage === 'float32') assert.ok(outOfRange > 100, `codes past ±128 on the grid are out of range (${outOfRange})`);
  }
});

test('a block page (a rectangle of a wide picture) holds exactly the positions, values and classes of the run pages it covers, in a slice too; blocks outside are refused', async () => {
  const s = new TensorSession(fixture('torch-2.11', 'mamba_conv1d/mode2/layer23_conv1d.pt'));
  try {
    // The [1, 1536, 64] input as time × channels: a picture 1536 wide, paged in blocks.
    const slice: Slice = { rows: 2, cols: 1, at: [0, 0, 0] };
    const block = { row: 10, col: 1000, rows: 50, cols: 536, pictureCols: 1536 };
    const b = await s.page('input', 0, 0, slice, block);
    assert.equal(b.values.length, 50 * 536);
    assert.deepEqual(b.block, block);
    assert.equal(b.start, 10 * 1536 + 1000);
    for (let r = 0; r < block.rows; r++) {
      const run = await s.page('input', (block.row + r) * 1536 + block.col, block.cols, slice);
      for (let c = 0; c < block.cols; c++) {
        const k = r * block.cols + c;
        assert.ok(Object.is(b.values[k], run.values[c]), `row ${r} col ${c}`);
        assert.equal(b.cls![k], run.cls![c]);
        assert.equal(b.dev![k], run.dev![c]);
      }
    }
    await assert.rejects(s.page('input', 0, 0, slice, { ...block, col: 1100 }), /outside a picture 1536 wide/);
    await assert.rejects(s.page('input', 0, 0, slice, { ...block, row: 30 }), /outside the picture/);
    await assert.rejects(s.page('input', 0, 0, slice, { ...block, rows: 200 }), /more than a page/);
  } finally {
    s.dispose();
  }
});

test('the addon’s overview equals the JavaScript one tile for tile (class, position, measure, problems): per tensor over several slices, per channel with zero points, codes out of a narrower range, NaN/Inf, quotients that overflow', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-overview-native-'));
  try {
    // 17M values (two of the addon's 16M-position slices) on the grid of 0.0625 with every kind of problem.
    const n = (1 << 24) + 333_333,
      cols = 4099,
      s = 0.0625;
    const x = new Float32Array(n);
    let seed = 3;
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      x[i] = ((seed >>> 8) % 255) * s - 127 * s;
    }
    const marks: [number, number][] = [
      [77, NaN],
      [9_000_001, Infinity],
      [16_777_300, -Infinity],
      [5, 1e38],
      [12_345_678, 0.01],
    ];
    for (const [i, v] of marks) x[i] = v;
    for (let i = 1000; i < n; i += 1_000_003) x[i] = Math.fround(x[i] + s / 7); // off the grid
    const big = path.join(dir, 'big.npy');
    fs.writeFileSync(big, npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (${n},), }`, Buffer.from(x.buffer)));
    const cases: { file: string; cols: number; range?: { qmin: number; qmax: number } }[] = [
      { file: big, cols },
      { file: big, cols: 1000, range: { qmin: -100, qmax: 100 } }, // codes past ±100 are out of range
      { file: fixture('checkpoints', 'torch-2.11/fake_quant_per_channel_corrupted.pt'), cols: 7 },
      { file: fixture('torch-2.11', 'mamba_conv1d/mode2/layer23_conv1d.pt'), cols: 64 },
    ];
    // Counted, so the test knows the addon built one side (the sessions choose it themselves).
    const addon = loadNative(),
      overviewOfFile = addon.overview;
    let nativeCalls = 0;
    addon.overview = (...args) => {
      nativeCalls++;
      return overviewOfFile(...args);
    };
    for (const c of cases) {
      const options = () => ({ ...(c.range ?? {}) });
      const native = new TensorSession(c.file, options),
        plain = new TensorSession(c.file, options, { native: false });
      try {
        for (const t of native.dump.tensors.filter((t) => t.dtype === 'float32')) {
          const before = nativeCalls;
          const a = await native.overview(t.name, c.cols);
          const calls = nativeCalls - before;
          const b = await plain.overview(t.name, c.cols);
          assert.equal(nativeCalls - before, calls, 'the JavaScript session does not call the addon');
          const what = `${path.basename(c.file)}:${t.name} (${c.cols} wide${c.range ? `, range ${c.range.qmin}..${c.range.qmax}` : ''})`;
          assert.equal(a.measure, b.measure, what);
          assert.deepEqual([...a.worst], [...b.worst], `${what}: worst class per tile`);
          assert.deepEqual([...a.at], [...b.at], `${what}: worst element per tile`);
          assert.deepEqual([...a.peak], [...b.peak], `${what}: largest deviation per tile`);
          assert.deepEqual([...a.problems], [...b.problems], `${what}: problems per tile`);
          if ((await native.summary(t.name)).verify) assert.ok(calls > 0, `${what}: the addon built it`);
          if (c.file === big) {
            const classes = new Set([...a.worst].map((w) => ELEMENT_CLASSES[w]));
            for (const want of ['non_finite', 'off_grid', ...(c.range ? ['out_of_range'] : [])])
              assert.ok(classes.has(want as never), `${what}: some tile's worst is ${want}`);
          }
        }
      } finally {
        native.dispose();
        plain.dispose();
      }
    }
    addon.overview = overviewOfFile;
    assert.ok(nativeCalls >= 3, `the addon built the overviews of the FP32 files on a grid (${nativeCalls} calls)`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
