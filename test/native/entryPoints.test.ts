// The addon's entry points refuse sizes, offsets and ranges that JavaScript can pass but that do
// not describe the buffers (validate.cpp): a RangeError naming the problem, never a wrong read.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadNative } from '../../src/native/addon';

const native = loadNative();
const f32 = (n: number) => new Float32Array(n);

test('Verifier: a chunk start that is negative, fractional or past 2^53 is refused', async () => {
  const v = new native.Verifier({ scales: [0.5, 0.25], inner: 2 });
  for (const start of [-1, 0.5, NaN, 2 ** 60]) {
    assert.throws(() => v.push(f32(4), start), /chunk start must be a non-negative integer/, String(start));
  }
  assert.throws(() => v.push(f32(4), 2 ** 53 - 2), /past the largest supported index/);
  await v.push(new Float32Array([0.5, 1, 0.25, 0.5]), 0);
  assert.equal(v.result().n, 4);
});

test('Verifier: options out of range are refused by name', () => {
  assert.throws(() => new native.Verifier({ scales: [] }), /at least one scale/);
  assert.throws(() => new native.Verifier({ scales: [1e39] }), /scales must be finite and positive/);
  assert.throws(() => new native.Verifier({ scales: [1], inner: 0 }), /inner must be a positive integer/);
  assert.throws(() => new native.Verifier({ scales: [1], qmin: -2147483648, qmax: 2147483647 }), /integer range is invalid/);
  assert.throws(() => new native.Verifier({ scales: [1], zeroPoints: [0.5] }), /zero points must be 32-bit integers/);
  // worst: 0 is allowed and lists nothing (libFuzzer found it read past an empty list)
  assert.doesNotThrow(() => new native.Verifier({ scales: [1], worst: 0 }));
});

test('conv1d: a shape whose element count overflows int64 is refused, not wrapped', () => {
  const base = { mode: 'baseline' as const, x: f32(8), weight: new Int8Array(8), bias: new Int32Array(2), inputScale: 0.1, weightScale: 0.1, biasScale: 0.01, outputScale: 0.1 };
  // 2^32 * 2^32 * 2 wraps to 0 in 64-bit arithmetic; x has 8 elements.
  assert.throws(() => native.conv1d({ ...base, batch: 2 ** 32, channels: 2 ** 32, length: 2, kernel: 4 }), /conv1d shape is (too large|invalid)/);
  assert.throws(() => native.conv1d({ ...base, batch: 1, channels: 2, length: 4.5, kernel: 4 }), /conv1d shape is invalid/);
  assert.throws(() => native.conv1d({ ...base, batch: 1, channels: 2, length: 5, kernel: 4 }), /x length does not match/);
});

test('conv1dRecipes: bad shapes, no recipes, and rounding indices out of range are refused by name', () => {
  const base = { x: f32(8), weight: new Int8Array(8), bias: new Int32Array(2), batch: 1, channels: 2, length: 4, kernel: 4, inputScale: 0.1, weightScale: 0.1, biasScale: 0.01, outputScale: 0.1 };
  const recipe = { earlyScales: false, fp32Accumulate: false, biasEpilogue: false, inputRounding: 0, outputRounding: 0, ssmUnquantized: false };
  assert.throws(() => native.conv1dRecipes({ ...base, length: 5, recipes: [recipe] }), /x length does not match/);
  assert.throws(() => native.conv1dRecipes({ ...base, recipes: [] }), /1 to 1024 recipes/);
  assert.throws(() => native.conv1dRecipes({ ...base, recipes: [{ ...recipe, inputRounding: 7 }] }), /inputRounding must be 0..4/);
  assert.throws(() => native.conv1dRecipes({ ...base, outputScale: -1, recipes: [recipe] }), /scales must be finite and positive/);
});

test('linear and scan: lengths that do not match the shape are refused by name', () => {
  assert.throws(() => native.linear({ mode: 'mode2', x: f32(6), weight: new Int8Array(6), rows: 2, inFeatures: 3, outFeatures: 2, inputScale: 0.1, weightScales: [0.1, 0.1, 0.1] }),
    /weightScales must have 1 or outFeatures entries/);
  assert.throws(() => native.scan({ u: f32(6), delta: f32(6), A: f32(4), B: f32(6), C: f32(5), channels: 2, length: 3, state: 2 }), /C has the wrong length/);
  assert.throws(() => native.scan({ u: f32(6), delta: f32(6), A: f32(4), B: f32(6), C: f32(6), channels: 2, length: 3, state: -2 }), /scan shape is invalid/);
});

test('Differ: a negative or NaN scale is refused; top: 0 lists nothing', async () => {
  assert.throws(() => new native.Differ({ scaleA: -1 }), /diff scales must be finite and non-negative/);
  const d = new native.Differ({ top: 0 });
  await d.push(new Float32Array([1, 2]), new Float32Array([1, 3]), 0);
  assert.deepEqual(d.result().largest, []);
  assert.equal(d.result().max_abs_diff, 1);
});

test('stats and overview: bad descriptors, offsets, grids and tilings are refused by name; a region past the end of the file is an error', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-entry-'));
  const file = path.join(dir, 'x.bin');
  fs.writeFileSync(file, Buffer.from(new Float32Array([0.5, 1, -0.25, NaN]).buffer));
  const fd = fs.openSync(file, 'r');
  try {
    assert.throws(() => native.stats(-1, 0, 4), /stats: fd must be an open file descriptor/);
    assert.throws(() => native.stats(fd, 0.5, 4), /stats: byte offset and count must be non-negative integers/);
    const st = await native.stats(fd, 0, 4);
    assert.deepEqual([st.n, st.nan, st.min, st.max], [3, 1, -0.25, 1]);
    await assert.rejects(native.stats(fd, 4, 4), /file shrank while reading/);
    const tiling = { cols: 2, rowsPerTile: 1, colsPerTile: 1, tileCols: 2, tiles: 4 };
    const grid = { scales: Float64Array.of(0.25), zeroPoints: Float64Array.of(0), inner: 1, qmin: -128, qmax: 127 };
    assert.throws(() => native.overview(fd, 0, 4, -1, { ...grid, ...tiling }), /overview: byte offset, count and start must be non-negative integers/);
    assert.throws(() => native.overview(fd, 0, 4, 0, { ...grid, ...tiling, scales: Float64Array.of(-1) }), /scales must be finite and positive/);
    assert.throws(() => native.overview(fd, 0, 4, 0, { ...grid, ...tiling, colsPerTile: 0 }), /options.colsPerTile must be a positive integer/);
    assert.throws(() => native.overview(fd, 0, 4, 0, { ...grid, ...tiling, tiles: 3 }), /the tiling does not cover the positions/);
    assert.throws(() => native.overview(fd, 0, 4, 0, { ...grid, ...tiling, tileCols: 1 }), /the tiling does not cover the positions/);
    // The last position's tile exists, but position 1's (tile 1 of the same tile row) would not.
    const oneTile = { cols: 2, rowsPerTile: 2, colsPerTile: 1, tileCols: 2, tiles: 1 };
    assert.throws(() => native.overview(fd, 0, 3, 0, { ...grid, ...oneTile }), /the tiling does not cover the positions/);
    const o = await native.overview(fd, 0, 4, 0, { ...grid, ...tiling });
    assert.deepEqual([...o.worst], [0, 0, 0, 3], 'exact, exact, exact, NaN');
    assert.deepEqual([...o.problems], [0, 0, 0, 1]);
    await assert.rejects(native.overview(fd, 8, 4, 0, { ...grid, ...tiling }), /file shrank while reading/);
  } finally {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
