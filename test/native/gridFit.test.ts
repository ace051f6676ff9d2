// Scale inference's counting (native gridFit / absRange) against the definition written out in
// JavaScript: x is a member when x === fl32(q·s), q = rint(fl32(x/s)) within [-(qmax+1), qmax+1].
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { loadNative } from '../../src/native/addon';

const native = loadNative();

function definition(x: Float32Array, s: number, qmax: number): { members: number; distinctCodes: number } {
  const codes = new Set<number>();
  let members = 0;
  for (const v of x) {
    const r = Math.fround(v / s); // double division rounded once more to FP32 equals FP32 division
    let q = Math.round(r);
    if (q - r === 0.5 && q % 2 !== 0) q -= 1; // Math.round sends ties up; rint sends them to even
    if (q <= qmax + 1 && q >= -qmax - 1 && Math.fround(q * s) === v) {
      members++;
      codes.add(q === 0 ? 0 : q);
    }
  }
  return { members, distinctCodes: codes.size };
}

function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 32;
  };
}

/** On-grid codes, their FP32 round-trip artifacts, ties, one-ULP neighbours, out-of-range codes and specials. */
function mixedSample(n: number, s: number, seed: number): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(n);
  const buf = new Float32Array(1),
    bits = new Uint32Array(buf.buffer);
  for (let i = 0; i < n; i++) {
    const q = Math.round((r() - 0.5) * 300);
    const kind = Math.floor(r() * 8);
    if (kind <= 2) x[i] = Math.fround(q * s);
    else if (kind === 3) x[i] = Math.fround((q + 0.5) * s); // a tie in x/s, near enough
    else if (kind === 4) {
      buf[0] = Math.fround(q * s);
      bits[0] += r() < 0.5 ? 1 : -1; // one ULP off the grid point
      x[i] = buf[0];
    } else if (kind === 5) x[i] = (r() - 0.5) * 4;
    else x[i] = [NaN, Infinity, -Infinity, -0, 0, 1e-45, -3e38, 2 ** 30][Math.floor(r() * 8)];
  }
  return x;
}

test('gridFit counts exactly the members and distinct codes the definition gives', () => {
  const cases: [number, number][] = [
    [0.0121623231, 127],
    [Math.fround(1.05812216 / 87), 127],
    [1, 127],
    [0.5, 7],
    [1e-40, 127], // a subnormal scale
    [3.4e37, 127],
    [0.003, 32767],
  ];
  let seed = 1;
  for (const [scale, qmax] of cases) {
    const s = Math.fround(scale);
    for (const n of [0, 1, 17, 1023, 1024, 1025, 16384, 40000]) {
      const x = mixedSample(n, s, seed++);
      assert.deepEqual(native.gridFit(x, s, qmax), definition(x, s, qmax), `scale ${s}, qmax ${qmax}, ${n} elements`);
    }
  }
  // Every code of the range, each once: distinct codes are counted up to 2·qmax + 3.
  const s = Math.fround(0.25);
  const all = Float32Array.from({ length: 259 }, (_, i) => Math.fround((i - 129) * s));
  assert.deepEqual(native.gridFit(all, s, 127), { members: 257, distinctCodes: 257 });
  assert.deepEqual(definition(all, s, 127), { members: 257, distinctCodes: 257 });
});

test('absRange: largest finite magnitude and smallest nonzero one, NaN and infinities ignored', () => {
  const r = rng(9);
  for (const n of [0, 1, 5, 1000, 16384]) {
    const x = mixedSample(n, Math.fround(0.01), Math.floor(r() * 1e6));
    let absMax = 0,
      minNonzero = Infinity;
    for (const v of x) {
      if (!Number.isFinite(v)) continue;
      absMax = Math.max(absMax, Math.abs(v));
      if (v !== 0) minNonzero = Math.min(minNonzero, Math.abs(v));
    }
    assert.deepEqual(native.absRange(x), { absMax, minNonzero }, `${n} elements`);
  }
  assert.deepEqual(native.absRange(new Float32Array([NaN, Infinity, 0, -0])), { absMax: 0, minNonzero: Infinity });
});

test('gridFit refuses what is not a Float32Array, a scale that is not positive in FP32, and a bad qmax', () => {
  assert.throws(() => native.gridFit(new Float64Array(4) as unknown as Float32Array, 1, 127), /gridFit\(values: Float32Array/);
  for (const s of [0, -1, NaN, Infinity, 1e-50, 1e39]) assert.throws(() => native.gridFit(new Float32Array(4), s, 127), /scale must be finite and positive/, String(s));
  for (const q of [0, 1.5, 40000, NaN]) assert.throws(() => native.gridFit(new Float32Array(4), 1, q), /qmax must be an integer/, String(q));
  assert.throws(() => native.absRange([1, 2] as unknown as Float32Array), /absRange\(values: Float32Array\)/);
});
