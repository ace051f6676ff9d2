import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { encodeSafetensors } from '../../src/formats/safetensorsWriter';
import { openDump } from '../../src/formats/open';
import { inferScale } from '../../src/analysis/scale';
import { verifyFile } from '../../src/analysis/verifyFile';
import { roundToStorage } from '../../src/analysis/explain';
import { cli } from '../support/cli';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-gridplan-'));
let seed = 12345;
const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) + 0.5) / 2 ** 32;
const gauss = (): number => Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd());

/** bf16 bits of an FP32 value (round to nearest even). */
function bf16Bits(x: number): number {
  const b = new Uint32Array(new Float32Array([x]).buffer)[0];
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

test('a bf16 fake-quantized weight is judged in its own dtype: bf16(q·s) passes, a value moved off it fails', async () => {
  const s = Math.fround(0.0123);
  const n = 4096;
  const bits = new Uint16Array(n);
  let differsFromFp32 = 0;
  for (let i = 0; i < n; i++) {
    const q = Math.max(-128, Math.min(127, Math.round(gauss() * 40)));
    const fp32 = Math.fround(q * s);
    bits[i] = bf16Bits(fp32);
    differsFromFp32 += Number(roundToStorage(fp32, 'bfloat16') !== fp32);
  }
  assert.ok(differsFromFp32 > n / 4, `the test needs values where bf16(q·s) != fl32(q·s): ${differsFromFp32}`);
  const good = path.join(dir, 'bf16.safetensors');
  fs.writeFileSync(good, encodeSafetensors([{ name: 'proj.weight', dtype: 'bfloat16', shape: [64, 64], data: bits }], { 'proj.weight_scale': String(s) }));
  const ok = await cli('verify', good, '--json');
  assert.equal(ok.code, 0, ok.stdout);
  assert.equal(ok.json.results[0].verdict, 'pass');
  assert.equal(ok.json.results[0].true_offgrid, 0);
  assert.equal(ok.json.results[0].scale_source, 'metadata.proj.weight_scale');
  const moved = Uint16Array.from(bits);
  moved[100] = bits[100] + 1; // one bf16 ulp away from its grid point
  const bad = path.join(dir, 'bf16_moved.safetensors');
  fs.writeFileSync(bad, encodeSafetensors([{ name: 'proj.weight', dtype: 'bfloat16', shape: [64, 64], data: moved }], { 'proj.weight_scale': String(s) }));
  const fail = await cli('verify', bad, '--json');
  assert.equal(fail.code, 1);
  assert.equal(fail.json.results[0].true_offgrid, 1);
});

test('fp16 rounding for the membership test: normal, subnormal and overflow cases as IEEE half rounds them', () => {
  assert.equal(roundToStorage(1 + 2 ** -11, 'float16'), 1); // a tie: to even
  assert.equal(roundToStorage(1 + 3 * 2 ** -11, 'float16'), 1 + 2 ** -9);
  assert.equal(roundToStorage(65504, 'float16'), 65504);
  assert.equal(roundToStorage(65520, 'float16'), Infinity);
  assert.equal(roundToStorage(3 * 2 ** -26, 'float16'), 2 ** -24); // 0.75 quanta: to one quantum
  assert.equal(roundToStorage(2 ** -25, 'float16'), 0); // half a quantum: to even (zero)
});

test('unquantized tensors are listed, never failed; an all-zero tensor does not abort the file', async () => {
  const file = path.join(dir, 'mixed.safetensors');
  const w = Float32Array.from({ length: 512 }, gauss);
  fs.writeFileSync(
    file,
    encodeSafetensors([
      { name: 'norm.weight', dtype: 'float32', shape: [64], data: new Float32Array(64).fill(1) },
      { name: 'proj.weight', dtype: 'float32', shape: [8, 64], data: w },
      { name: 'proj.bias', dtype: 'float32', shape: [8], data: new Float32Array(8) },
    ]),
  );
  const r = await verifyFile(file);
  assert.deepEqual(r.results, []);
  assert.deepEqual(r.not_quantized.map((x) => x.name).sort(), ['norm.weight', 'proj.bias', 'proj.weight']);
  assert.match(r.not_quantized.find((x) => x.name === 'proj.bias')!.reason, /all zero/);
  assert.match(r.not_quantized.find((x) => x.name === 'norm.weight')!.reason, /1 distinct values/);
  for (const nq of r.not_quantized) assert.ok(r.skipped.some((s) => s.name === nq.name && s.reason === nq.reason));
  const out = await cli('verify', file, '--json');
  assert.equal(out.code, 0);
  // Named explicitly with no evidence: a clear request for a scale, not a verdict.
  const named = await cli('verify', file, '--tensor', 'proj.weight', '--json');
  assert.equal(named.code, 2);
  assert.equal(named.json.error.code, 'scale-not-found');
});

test('scale inference reads a bounded sample in a few large reads, whatever the tensor size', async () => {
  const n = 1 << 22;
  const x = new Float32Array(n);
  const s = Math.fround(0.01);
  for (let i = 0; i < n; i++) x[i] = Math.fround(Math.round(gauss() * 30) * s);
  const file = path.join(dir, 'big.safetensors');
  fs.writeFileSync(file, encodeSafetensors([{ name: 'act', dtype: 'float32', shape: [n], data: x }]));
  const d = openDump(file);
  try {
    const t = d.tensors[0];
    let reads = 0;
    let bytes = 0;
    const src = t.storage.source;
    const read = src.read.bind(src);
    src.read = (off: number, len: number) => {
      reads++;
      bytes += len;
      return read(off, len);
    };
    const inferred = await inferScale(t);
    assert.ok(inferred && inferred.kind === 'per_tensor' && (inferred.confidence ?? 0) > 0.99, JSON.stringify(inferred));
    assert.ok(reads <= 64, `${reads} reads`);
    assert.ok(bytes <= (1 << 16) * 4, `${bytes} bytes read of ${n * 4}`);
  } finally {
    d.close();
  }
});

test('scale inference of tensors at once (the sample buffer is held by one of them) gives what it gives one at a time', async () => {
  const files = [0.0121623231, 0.05, 0.0007, 0.3].map((scale, i) => {
    const s = Math.fround(scale);
    const n = 20000 + i * 7000; // above the sample size: one read, then blocks taken from it
    const x = new Float32Array(n);
    for (let k = 0; k < n; k++) x[k] = Math.fround(Math.max(-128, Math.min(127, Math.round(gauss() * 30))) * s);
    if (i === 3) for (let k = 0; k < n; k += 3) x[k] += 1e-3; // one in three off any grid
    const file = path.join(dir, `concurrent${i}.safetensors`);
    fs.writeFileSync(file, encodeSafetensors([{ name: 'act', dtype: 'float32', shape: [n], data: x }]));
    return file;
  });
  const dumps = files.map((f) => openDump(f));
  try {
    const oneByOne = [];
    for (const d of dumps) oneByOne.push(await inferScale(d.tensors[0]));
    const atOnce = await Promise.all(dumps.map((d) => inferScale(d.tensors[0])));
    assert.deepEqual(atOnce, oneByOne);
    assert.deepEqual(
      oneByOne.slice(0, 3).map((r) => r && r.kind === 'per_tensor' && r.confidence === 1 && r.scale),
      [0.0121623231, 0.05, 0.0007].map(Math.fround),
    );
    assert.ok(oneByOne[3] && oneByOne[3].kind === 'per_tensor' && (oneByOne[3].confidence ?? 1) < 0.99, JSON.stringify(oneByOne[3]));
  } finally {
    for (const d of dumps) d.close();
  }
});
