/**
 * Generates the hostile-input corpus: every file is built here from bytes, so the corpus is
 * reproducible and reviewable (no hand-edited binaries). Each case says what the error must name.
 * Run `npm run hostile` to write it to test/hostile/corpus/ (fuzzing seeds); the tests generate
 * it into a temporary folder.
 */
import * as fs from 'fs';
import * as path from 'path';
import { makeZip, npyBytes, P, ZipInput, tensorDictPickle } from '../support/writers';
import { REPO_ROOT } from '../support/fixtures';

export interface HostileCase {
  file: string;
  expect: RegExp;
  what: string;
}

function torchZip(pkl: Buffer, storages: Record<string, Buffer>, extra: ZipInput[] = []): Buffer {
  return makeZip([
    { name: 'archive/data.pkl', data: pkl },
    ...Object.entries(storages).map(([k, v]) => ({ name: `archive/data/${k}`, data: v })),
    { name: 'archive/byteorder', data: Buffer.from('little') },
    ...extra,
  ]);
}

/** The legacy stream: magic, protocol version, sys_info, then the object pickle. */
function legacy(objectPickle: Buffer): Buffer {
  const magic = Buffer.from('80028a0a6cfc9c46f9206aa85019', 'hex');
  const magicPkl = Buffer.concat([magic, Buffer.from([0x2e])]);
  const version = new P().op(0x4d, 0xe9, 0x03).stop();
  const sys = new P().emptyDict().stop();
  return Buffer.concat([magicPkl, version, sys, objectPickle, new P().emptyList().stop()]);
}

function safetensors(header: unknown, data: Buffer, lenOverride?: bigint): Buffer {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const h = Buffer.alloc(8);
  h.writeBigUInt64LE(lenOverride ?? BigInt(json.length));
  return Buffer.concat([h, json, data]);
}

// ---- the corpus -----------------------------------------------------------------

export function generateHostileCorpus(dir: string, marker: string): HostileCase[] {
  fs.mkdirSync(dir, { recursive: true });
  const cases: HostileCase[] = [];
  const add = (name: string, data: Buffer, expect: RegExp, what: string): void => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, data);
    cases.push({ file, expect, what });
  };
  const shell = `touch ${marker}`;
  const call = (module: string, name: string, arg: string): Buffer => new P().global(module, name).mark().str(arg).tuple().reduce().stop();
  const f32 = (n: number): Buffer => Buffer.alloc(n * 4);

  // Code execution attempts, in zip and legacy form.
  for (const [m, n, arg] of [
    ['os', 'system', shell],
    ['posix', 'system', shell],
    ['builtins', 'eval', `__import__('os').system('${shell}')`],
    ['builtins', 'exec', `import os; os.system('${shell}')`],
    ['subprocess', 'call', shell],
    ['__builtin__', 'getattr', 'system'],
  ] as const) {
    add(`exec_${m}_${n}.pt`, torchZip(call(m, n, arg), {}), new RegExp(`unsafe pickle.*${m}\\.${n}`), `${m}.${n} in a zip .pt`);
    add(`exec_${m}_${n}_legacy.pt`, legacy(call(m, n, arg)), new RegExp(`unsafe pickle.*${m}\\.${n}`), `${m}.${n} in a legacy .pt`);
  }
  // getattr chain: builtins.getattr(builtins.__import__('os'), 'system')
  add(
    'exec_getattr_chain.pt',
    torchZip(
      new P()
        .global('builtins', 'getattr')
        .mark()
        .global('builtins', '__import__')
        .mark()
        .str('os')
        .tuple()
        .reduce()
        .str('system')
        .tuple()
        .reduce()
        .mark()
        .str(shell)
        .tuple()
        .reduce()
        .stop(),
      {},
    ),
    /unsafe pickle/,
    'getattr(__import__("os"), "system")',
  );
  // BUILD on an unknown class with a __setstate__-style payload: must stay inert data.
  add(
    'build_trick.pt',
    torchZip(new P().global('evil.module', 'Payload').op(0x29).op(0x81).emptyDict().mark().str('cmd').str(shell).setitems().build().stop(), {}),
    /^$/,
    'BUILD on an unknown class (inert placeholder, exit 0)',
  );
  // INST opcode importing os.system
  add(
    'exec_inst.pt',
    torchZip(Buffer.concat([Buffer.from([0x80, 2, 0x28]), new P().str(shell).stop().subarray(2, -1), Buffer.from(`ios\nsystem\n.`, 'latin1')]), {}),
    /unsafe pickle.*os\.system/,
    'INST os system',
  );

  // ZIP structure lies.
  const good = torchZip(tensorDictPickle('w', '0', 4, 0, [2, 2], [2, 1]), { 0: f32(4) });
  add('zip_truncated.pt', good.subarray(0, Math.floor(good.length / 2)), /end-of-central-directory record not found|truncated/, 'archive cut in half');
  const badCd = Buffer.from(good);
  badCd.writeUInt32LE(0xdeadbeef, good.length - 22 - 46 * 3 - 'archive/data.pkl'.length - 'archive/data/0'.length - 'archive/byteorder'.length);
  add('zip_corrupt_central.pt', badCd, /central directory entry 0 is corrupt/, 'corrupt central directory');
  add(
    'zip_entry_past_eof.pt',
    makeZip([{ name: 'archive/data.pkl', data: tensorDictPickle('w', '0', 4, 0, [2, 2], [2, 1]), offsetDelta: 1 << 30 }]),
    /past the end of the file/,
    'entry offset past end of file',
  );
  add(
    'zip_duplicate_names.pt',
    makeZip([
      { name: 'archive/data.pkl', data: new P().emptyDict().stop() },
      { name: 'archive/data.pkl', data: new P().emptyDict().stop() },
    ]),
    /two entries named archive\/data\.pkl/,
    'duplicate entry names',
  );
  add(
    'zip_bomb_declared.pt',
    makeZip([{ name: 'archive/data.pkl', data: Buffer.alloc(1 << 20), deflate: true, declaredSize: 0xfffffff0 }]),
    /zip bomb/,
    'deflated data.pkl declaring 4 GiB',
  );
  add(
    'zip_bomb_lying.pt',
    makeZip([{ name: 'archive/data.pkl', data: Buffer.alloc(64 << 20), deflate: true, declaredSize: 1000 }]),
    /inflates past its declared|zip bomb/,
    'deflated data.pkl inflating past its declared size',
  );
  const z64 = Buffer.from(good);
  z64.writeUInt32LE(0xffffffff, good.length - 22 + 16);
  add('zip64_lie.pt', z64, /ZIP64/, 'ZIP64 marker without a ZIP64 record');

  // Storage and view lies.
  add(
    'storage_too_small.pt',
    torchZip(tensorDictPickle('w', '0', 1000, 0, [10, 100], [100, 1]), { 0: f32(4) }),
    /storage 0 holds 16 bytes but 1000 float32 elements need 4000/,
    'declared numel beyond the data',
  );
  add(
    'view_past_storage.pt',
    torchZip(tensorDictPickle('w', '0', 4, 2, [2, 2], [2, 1]), { 0: f32(4) }),
    /reaches element 5 but its storage holds 4/,
    'offset+size past storage',
  );
  add('negative_offset.pt', torchZip(tensorDictPickle('w', '0', 4, -1, [2, 2], [2, 1]), { 0: f32(4) }), /invalid storage offset -1/, 'negative storage offset');
  add('negative_stride.pt', torchZip(tensorDictPickle('w', '0', 4, 0, [2, 2], [-2, 1]), { 0: f32(4) }), /invalid stride -2/, 'negative stride');
  add(
    'missing_storage.pt',
    torchZip(tensorDictPickle('w', '7', 4, 0, [2, 2], [2, 1]), {}),
    /storage record archive\/data\/7 is missing/,
    'missing storage record',
  );

  // Pickle bombs.
  const deep = new P();
  for (let i = 0; i < 100_000; i++) deep.emptyList();
  for (let i = 0; i < 99_999; i++) deep.op(0x61);
  add('bomb_deep_nesting.pt', torchZip(deep.stop(), {}), /nested more than \d+ levels deep/, '100k-deep nested lists');
  const laughs = new P().emptyList().put(0);
  for (let level = 1; level <= 30; level++) {
    laughs.mark();
    for (let k = 0; k < 10; k++) laughs.get(level - 1);
    laughs.op(0x6c).put(level);
  }
  add('bomb_billion_laughs.pt', torchZip(laughs.stop(), {}), /expand to more than/, 'memo-shared structure of 10^30 leaves');
  const hugeStr = Buffer.concat([Buffer.from([0x80, 4, 0x8d]), Buffer.from('ffffffffffffff0f', 'hex'), Buffer.from('.')]);
  add('bomb_huge_string.pt', torchZip(hugeStr, {}), /declares a \d+-byte value/, 'BINUNICODE8 declaring 2^60 bytes');

  // safetensors header lies.
  const okHeader = { w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } };
  add('st_huge_header.safetensors', safetensors(okHeader, f32(4), 1n << 40n), /header length \d+ exceeds/, 'header length 1 TiB');
  add('st_header_past_eof.safetensors', safetensors(okHeader, f32(4), 5000n), /header \(5000 bytes\) runs past the end/, 'header past end of file');
  add('st_invalid_json.safetensors', safetensors('{"w": {"dtype": "F32", ', f32(4)), /not valid UTF-8 JSON/, 'invalid JSON');
  add(
    'st_unknown_dtype.safetensors',
    safetensors({ w: { dtype: 'F128', shape: [2], data_offsets: [0, 32] } }, f32(8)),
    /unknown dtype "F128"/,
    'unknown dtype',
  );
  add('st_negative_shape.safetensors', safetensors({ w: { dtype: 'F32', shape: [-1, 4], data_offsets: [0, 16] } }, f32(4)), /invalid shape/, 'negative shape');
  add(
    'st_overflow_shape.safetensors',
    safetensors({ w: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 16] } }, f32(4)),
    /overflows|too many|needs/,
    'shape overflowing 2^53',
  );
  add(
    'st_overlap.safetensors',
    safetensors({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } }, f32(6)),
    /overlaps/,
    'overlapping tensors',
  );
  add(
    'st_out_of_file.safetensors',
    safetensors({ w: { dtype: 'F32', shape: [1000], data_offsets: [0, 4000] } }, f32(4)),
    /covers 4000 bytes but the file holds 16/,
    'offsets past the end',
  );
  add(
    'st_size_mismatch.safetensors',
    safetensors({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, f32(4)),
    /needs 12 bytes but data_offsets span 16/,
    'shape × itemsize ≠ byte length',
  );

  // npy lies.
  add(
    'npy_lying_shape.npy',
    npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000), }", f32(4)),
    /declares shape.*only 16 bytes follow/,
    'npy shape far beyond the data',
  );
  add(
    'npy_object.npy',
    npyBytes("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", Buffer.alloc(16)),
    /Python objects/,
    'npy object array (a pickle)',
  );

  // Not a dump at all.
  add('empty.pt', Buffer.alloc(0), /file is empty/, 'empty file');
  add('garbage.pt', Buffer.from('this is not a checkpoint, just text\n'.repeat(10)), /unrecognized file/, 'text file');
  return cases;
}

if (require.main === module) {
  const out = process.argv[2] ?? path.join(REPO_ROOT, 'test', 'hostile', 'corpus');
  const cases = generateHostileCorpus(out, '/tmp/quant-lens-hostile-marker');
  process.stdout.write(`${cases.length} hostile files written to ${out}\n`);
}
