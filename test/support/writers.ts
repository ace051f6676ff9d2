/**
 * Writers of test and benchmark inputs, built from bytes so every file is reproducible and
 * reviewable: a ZIP writer, a pickle builder, .npy files, and large sparse dumps (tensor bytes are
 * holes made by ftruncate, headers are real). The hostile corpus, the tests and bench/ share them.
 */
import * as fs from 'fs';
import * as zlib from 'zlib';
import * as path from 'path';
import { encodeSafetensors } from '../../src/formats/safetensorsWriter';
import type { Conv1dParams } from '../../src/analysis/layers/conv1d';

export interface ZipInput {
  name: string;
  data: Buffer;
  deflate?: boolean;
  declaredSize?: number;
  offsetDelta?: number;
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A plain ZIP writer; `declaredSize` and `offsetDelta` let a case lie in the central directory. */
export function makeZip(entries: ZipInput[]): Buffer {
  const locals: Buffer[] = [],
    centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const body = e.deflate ? zlib.deflateRawSync(e.data) : e.data;
    const name = Buffer.from(e.name);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(e.deflate ? 8 : 0, 8);
    lh.writeUInt32LE(crc32(e.data), 14);
    lh.writeUInt32LE(body.length, 18);
    lh.writeUInt32LE(e.declaredSize ?? e.data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(e.deflate ? 8 : 0, 10);
    ch.writeUInt32LE(crc32(e.data), 16);
    ch.writeUInt32LE(body.length, 20);
    ch.writeUInt32LE(e.declaredSize ?? e.data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset + (e.offsetDelta ?? 0), 42);
    locals.push(lh, name, body);
    centrals.push(ch, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

/** Pickle opcodes, protocol 2, enough to build torch.save-shaped and hostile pickles. */
export class P {
  private parts: Buffer[] = [Buffer.from([0x80, 2])];
  op(...bytes: number[]): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  global(module: string, name: string): this {
    return this.raw(Buffer.from(`c${module}\n${name}\n`, 'latin1'));
  }
  str(s: string): this {
    const b = Buffer.from(s);
    const h = Buffer.alloc(5);
    h[0] = 0x58;
    h.writeUInt32LE(b.length, 1);
    return this.raw(Buffer.concat([h, b]));
  }
  int(n: number): this {
    const h = Buffer.alloc(5);
    h[0] = 0x4a;
    h.writeInt32LE(n, 1);
    return this.raw(h);
  }
  mark(): this {
    return this.op(0x28);
  }
  tuple(): this {
    return this.op(0x74);
  }
  reduce(): this {
    return this.op(0x52);
  }
  emptyDict(): this {
    return this.op(0x7d);
  }
  emptyList(): this {
    return this.op(0x5d);
  }
  setitems(): this {
    return this.op(0x75);
  }
  build(): this {
    return this.op(0x62);
  }
  put(i: number): this {
    return this.op(0x71, i);
  }
  get(i: number): this {
    return this.op(0x68, i);
  }
  stop(): Buffer {
    this.op(0x2e);
    return Buffer.concat(this.parts);
  }
}

/** `{name: _rebuild_tensor_v2(storage(key, numel), offset, size, stride)}` as torch.save writes it. */
export function tensorDictPickle(name: string, key: string, numel: number, offset: number, size: number[], stride: number[]): Buffer {
  const p = new P()
    .emptyDict()
    .mark()
    .str(name)
    .global('torch._utils', '_rebuild_tensor_v2')
    .mark()
    .mark()
    .str('storage')
    .global('torch', 'FloatStorage')
    .str(key)
    .str('cpu')
    .int(numel)
    .tuple()
    .op(0x51)
    .int(offset)
    .mark();
  for (const s of size) p.int(s);
  p.tuple().mark();
  for (const s of stride) p.int(s);
  p.tuple().op(0x89).global('collections', 'OrderedDict').op(0x29).reduce().tuple().reduce().setitems();
  return p.stop();
}

/** An .npy (format 1.0) with this header dict text, padded as numpy pads it, followed by `data`. */
export function npyBytes(headerText: string, data: Buffer): Buffer {
  let h = headerText;
  while ((10 + h.length + 1) % 64) h += ' ';
  h += '\n';
  const pre = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(pre);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(h.length, 8);
  return Buffer.concat([pre, Buffer.from(h, 'latin1'), data]);
}

export function writeBigSafetensors(file: string, tensors: number, elemsEach: number): void {
  const header: Record<string, unknown> = { __metadata__: { producer: 'quant-lens bench' } };
  for (let i = 0; i < tensors; i++)
    header[`layers.${i}.weight`] = { dtype: 'F32', shape: [elemsEach], data_offsets: [i * elemsEach * 4, (i + 1) * elemsEach * 4] };
  const raw = Buffer.from(JSON.stringify(header));
  const json = Buffer.concat([raw, Buffer.alloc((8 - (raw.length % 8)) % 8, 0x20)]);
  const fd = fs.openSync(file, 'w');
  const h = Buffer.alloc(8);
  h.writeBigUInt64LE(BigInt(json.length));
  fs.writeSync(fd, h, 0, 8, 0);
  fs.writeSync(fd, json, 0, json.length, 8);
  fs.ftruncateSync(fd, 8 + json.length + tensors * elemsEach * 4);
  fs.closeSync(fd);
}

/** A torch zip with one float32 storage of `numel` elements (stored, ZIP64 sizes and offsets). */
export function writeBigTorchZip(file: string, numel: number): void {
  const pkl = tensorDictPickle('weight', '0', numel, 0, [numel], [1]);
  const entries = [
    { name: 'big/data.pkl', size: pkl.length, data: pkl as Buffer | null },
    { name: 'big/data/0', size: numel * 4, data: null },
    { name: 'big/byteorder', size: 6, data: Buffer.from('little') },
  ];
  const fd = fs.openSync(file, 'w');
  let off = 0;
  const central: Buffer[] = [];
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const extra = Buffer.alloc(20);
    extra.writeUInt16LE(1, 0);
    extra.writeUInt16LE(16, 2);
    extra.writeBigUInt64LE(BigInt(e.size), 4);
    extra.writeBigUInt64LE(BigInt(e.size), 12);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(45, 4);
    lh.writeUInt32LE(0xffffffff, 18);
    lh.writeUInt32LE(0xffffffff, 22);
    lh.writeUInt16LE(name.length, 26);
    lh.writeUInt16LE(extra.length, 28);
    fs.writeSync(fd, Buffer.concat([lh, name, extra]), 0, 30 + name.length + extra.length, off);
    const dataOff = off + 30 + name.length + extra.length;
    if (e.data) fs.writeSync(fd, e.data, 0, e.data.length, dataOff);
    const cext = Buffer.alloc(28);
    cext.writeUInt16LE(1, 0);
    cext.writeUInt16LE(24, 2);
    cext.writeBigUInt64LE(BigInt(e.size), 4);
    cext.writeBigUInt64LE(BigInt(e.size), 12);
    cext.writeBigUInt64LE(BigInt(off), 20);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(45, 4);
    ch.writeUInt16LE(45, 6);
    ch.writeUInt32LE(0xffffffff, 20);
    ch.writeUInt32LE(0xffffffff, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt16LE(cext.length, 30);
    ch.writeUInt32LE(0xffffffff, 42);
    central.push(ch, name, cext);
    off = dataOff + e.size;
  }
  const cd = Buffer.concat(central);
  const z64 = Buffer.alloc(56);
  z64.writeUInt32LE(0x06064b50, 0);
  z64.writeBigUInt64LE(44n, 4);
  z64.writeUInt16LE(45, 12);
  z64.writeUInt16LE(45, 14);
  z64.writeBigUInt64LE(BigInt(entries.length), 24);
  z64.writeBigUInt64LE(BigInt(entries.length), 32);
  z64.writeBigUInt64LE(BigInt(cd.length), 40);
  z64.writeBigUInt64LE(BigInt(off), 48);
  const loc = Buffer.alloc(20);
  loc.writeUInt32LE(0x07064b50, 0);
  loc.writeBigUInt64LE(BigInt(off + cd.length), 8);
  loc.writeUInt32LE(1, 16);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(0xffff, 8);
  eocd.writeUInt16LE(0xffff, 10);
  eocd.writeUInt32LE(0xffffffff, 12);
  eocd.writeUInt32LE(0xffffffff, 16);
  const tail = Buffer.concat([cd, z64, loc, eocd]);
  fs.writeSync(fd, tail, 0, tail.length, off);
  fs.closeSync(fd);
}

/** float32 values as a quantized layer dumps them: Gaussian activations (std 30 codes) on the grid of s, saturating at [-128, 127], as an .npy. */
export function writeDumpNpy(file: string, n: number, s: number): void {
  const x = new Float32Array(n);
  let seed = 54321;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed + 0.5) / 2 ** 32;
  };
  const sf = Math.fround(s);
  for (let i = 0; i < n; i += 2) {
    // Box-Muller: two normals per pair of uniforms.
    const r = Math.sqrt(-2 * Math.log(rnd())),
      a = 2 * Math.PI * rnd();
    const z0 = r * Math.cos(a),
      z1 = r * Math.sin(a);
    x[i] = Math.fround(Math.min(127, Math.max(-128, Math.round(z0 * 30))) * sf);
    if (i + 1 < n) x[i + 1] = Math.fround(Math.min(127, Math.max(-128, Math.round(z1 * 30))) * sf);
  }
  writeNpy(file, x);
}

/** float32 values: 90% on the grid of s, ~6% FP32 round-trip artifacts among them, 10% off grid, as an .npy. */
export function writeGridNpy(file: string, n: number, s: number): void {
  const x = new Float32Array(n);
  let seed = 12345;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const sf = Math.fround(s);
  for (let i = 0; i < n; i++) {
    const q = Math.floor(rnd() * 281) - 140;
    x[i] = rnd() < 0.9 ? Math.fround(q * sf) : Math.fround((q + rnd()) * sf);
  }
  writeNpy(file, x);
}

function writeNpy(file: string, x: Float32Array): void {
  fs.writeFileSync(file, npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (${x.length},), }`, Buffer.from(x.buffer, x.byteOffset, x.byteLength)));
}

function lcgUniform(seed: number): () => number {
  return () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
}

/** A synthetic Mamba conv1d layer (params and FP32 input): `ties` puts every input exactly on k + ½ of the input grid; `biasScale` may differ from sx·sw. */
export function syntheticConv1d(opts: { D: number; L: number; sx: number; sw: number; sb: number; so: number; ties: boolean; seed: number }) {
  const rnd = lcgUniform(opts.seed);
  const K = 4;
  const x = Float32Array.from({ length: opts.D * opts.L }, () =>
    opts.ties ? Math.fround((Math.floor(rnd() * 100) - 50 + 0.5) * opts.sx) : Math.fround((rnd() - 0.5) * 200 * opts.sx),
  );
  const p: Conv1dParams = {
    weight: Int8Array.from({ length: opts.D * K }, () => Math.floor(rnd() * 255) - 127),
    bias: Int32Array.from({ length: opts.D }, () => Math.floor((rnd() - 0.5) * 4000)),
    channels: opts.D,
    kernel: K,
    inputScale: opts.sx,
    weightScale: opts.sw,
    biasScale: opts.sb,
    outputScale: opts.so,
  };
  return { p, input: { x, shape: [1, opts.D, opts.L] } };
}

/** Writes a conv1d layer as a params file and an input file (`<stem>_params.safetensors`, `<stem>_input.safetensors`). */
export function writeConv1dLayer(dir: string, stem: string, p: Conv1dParams, input: { x: Float32Array; shape: number[] }): { params: string; input: string } {
  const params = path.join(dir, `${stem}_params.safetensors`);
  const scalar = (v: number): Float32Array => new Float32Array([v]);
  fs.writeFileSync(
    params,
    encodeSafetensors([
      { name: 'weight', dtype: 'int8', shape: [p.channels, 1, p.kernel], data: p.weight },
      { name: 'bias', dtype: 'int32', shape: [p.channels], data: p.bias },
      { name: 'input_scale', dtype: 'float32', shape: [], data: scalar(p.inputScale) },
      { name: 'weight_scale', dtype: 'float32', shape: [], data: scalar(p.weightScale) },
      { name: 'bias_scale', dtype: 'float32', shape: [], data: scalar(p.biasScale) },
      { name: 'output_scale', dtype: 'float32', shape: [], data: scalar(p.outputScale) },
    ]),
  );
  const inFile = path.join(dir, `${stem}_input.safetensors`);
  fs.writeFileSync(inFile, encodeSafetensors([{ name: 'input', dtype: 'float32', shape: input.shape, data: input.x }]));
  return { params, input: inFile };
}
