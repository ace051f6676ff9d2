import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openDump } from '../../src/formats/open';
import { readAllFloat64 } from '../../src/formats/tensor';
import { tensorStats } from '../../src/analysis/stats';
import { writeSafetensors } from '../../src/formats/safetensorsWriter';
import { fixture } from '../support/fixtures';

/** Compensated (Neumaier) summation: accurate to a few ulps whatever the count, so the reference's own error is not what the tolerance measures. */
function accurateSum(terms: Iterable<number>): number {
  let s = 0,
    c = 0;
  for (const x of terms) {
    const t = s + x;
    c += Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s;
    s = t;
  }
  return s + c;
}

/** The figures by a two-pass loop over every value, as doubles, with compensated sums: the reference. */
function reference(v: Float64Array) {
  const finite = [...v].filter(Number.isFinite);
  const nan = v.filter(Number.isNaN).length;
  let min = Infinity,
    max = -Infinity;
  for (const x of finite) {
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  const n = finite.length,
    sum = accurateSum(finite),
    mean = sum / n;
  const m2 = accurateSum(finite.map((x) => (x - mean) ** 2));
  return { n, nan, inf: v.length - n - nan, min, max, sum, mean, std: Math.sqrt(m2 / (n - 1)), absmax: Math.max(Math.abs(min), Math.abs(max)) };
}

const close = (a: number | null, b: number, what: string): void => {
  assert.ok(a !== null && Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${what}: ${a} against ${b}`);
};

test('statistics of FP32 tensors read by the addon (a file of two slices with NaN and Inf, and files PyTorch wrote) agree with a plain reference', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-stats-'));
  try {
    // 17M values: two of the native calls' 16M-value slices, so their merge is exercised.
    const n = (1 << 24) + 777_777;
    const x = new Float32Array(n);
    let seed = 9;
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      x[i] = Math.fround(((seed >>> 8) / 2 ** 24 - 0.3) * 40);
    }
    for (let i = 0; i < n; i += 1_000_003) x[i] = i % 2 ? NaN : -Infinity;
    const file = path.join(dir, 'big.safetensors');
    writeSafetensors(file, [{ name: 'x', dtype: 'float32', shape: [n], data: x }]);
    const files = [file, fixture('torch-2.11', 'mamba_conv1d/fp32_input_batchA.pt'), fixture('checkpoints', 'torch-2.11/fake_quant_per_channel.pt')];
    for (const f of files) {
      const dump = openDump(f);
      try {
        for (const t of dump.tensors.filter((t) => t.dtype === 'float32' && !t.quantization)) {
          let seen = 0;
          const got = await tensorStats(t, { onElements: (c) => (seen += c) });
          const want = reference(await readAllFloat64(t, 1 << 25));
          const what = `${path.basename(f)}:${t.name}`;
          assert.equal(seen, want.n + want.nan + want.inf, `${what}: progress covers every value`);
          assert.deepEqual([got.nan, got.inf, got.min, got.max, got.absmax], [want.nan, want.inf, want.min, want.max, want.absmax], what);
          close(got.sum, want.sum, `${what} sum`);
          close(got.mean, want.mean, `${what} mean`);
          close(got.std, want.std, `${what} std`);
        }
      } finally {
        dump.close();
      }
    }
    const dump = openDump(file);
    try {
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(tensorStats(dump.tensors[0], { signal: controller.signal }), /cancel/i);
    } finally {
      dump.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
