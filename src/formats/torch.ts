/** PyTorch `.pt` reader: the zip format (torch >= 1.6) and the legacy pre-1.6 stream. Never imports or executes anything. */
import { ByteSource, SliceSource } from './source';
import { ZipArchive } from './zip';
import { BufferReader, PyTuple, PySet, PyGlobal, Placeholder, SafeCallable, unpickle, tupleItems, describe, pyNumber } from './pickle';
import { DType, ITEM_SIZE, TORCH_STORAGE_DTYPE, TORCH_DTYPE_NAMES, decodeToFloat64, isQuantizedDType } from './dtypes';
import { fail } from '../core/errors';
import { Quantization, Storage, TensorRef, checkViewBounds, contiguousStrides, numelOf } from './tensor';
import { DumpFile, ObjectEntry } from './dump';
import { collectTree } from './tree';

/** A storage as the pickle refers to it; bound to bytes once the container is known. */
export class StorageRef {
  storage?: Storage;
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
    readonly location: string,
    readonly viewOffset = 0,
  ) {}
}

/** A tensor as rebuilt from the pickle: pure metadata. */
export class TensorValue {
  constructor(
    readonly storage: StorageRef,
    readonly storageOffset: number,
    readonly shape: number[],
    readonly strides: number[],
    readonly quantizer: unknown[] | null,
    readonly dtypeOverride?: DType,
  ) {}
}

export class StorageClass {
  constructor(readonly dtype: DType) {}
}
export class TorchDType {
  constructor(readonly dtype: DType) {}
}
export class QScheme {
  constructor(readonly name: string) {}
}
export class TorchDevice {
  constructor(readonly name: string) {}
}

function intList(v: unknown, what: string, where: string): number[] {
  const items = tupleItems(v);
  return items.map((x) => {
    if (typeof x !== 'number' || !Number.isSafeInteger(x)) fail('invalid-torch', `${what} holds ${describe(x)} where an integer belongs`, where);
    return x;
  });
}

function asInt(v: unknown, what: string, where: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail('invalid-torch', `${what} is ${describe(v)}, not an integer`, where);
  return v;
}

function rebuildTensor(args: unknown[], where: string, quantizer: unknown[] | null, dtype?: DType): TensorValue {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef)) fail('invalid-torch', `tensor rebuild expects a storage, got ${describe(storage)}`, where);
  const shape = intList(size, 'tensor size', where);
  const strides = stride === undefined ? contiguousStrides(shape) : intList(stride, 'tensor stride', where);
  return new TensorValue(storage, asInt(offset, 'storage offset', where), shape, strides, quantizer, dtype);
}

/** The allowlist: only pure data constructors torch.save emits. */
function torchCallables(): Map<string, SafeCallable> {
  const m = new Map<string, SafeCallable>();
  const dict: SafeCallable = (args) => {
    const d = new Map<unknown, unknown>();
    const init = args[0];
    if (Array.isArray(init))
      for (const pair of init) {
        const [k, v] = tupleItems(pair);
        d.set(k, v);
      }
    return d;
  };
  m.set('collections.OrderedDict', dict);
  m.set('builtins.dict', dict);
  m.set('__builtin__.dict', dict);
  for (const mod of ['builtins', '__builtin__']) {
    m.set(`${mod}.set`, (a) => new PySet([...tupleItems(a[0] ?? [])]));
    m.set(`${mod}.frozenset`, (a) => new PySet([...tupleItems(a[0] ?? [])], true));
    m.set(`${mod}.list`, (a) => [...tupleItems(a[0] ?? [])]);
    m.set(`${mod}.tuple`, (a) => new PyTuple([...tupleItems(a[0] ?? [])]));
    m.set(`${mod}.bytearray`, (a) => (Buffer.isBuffer(a[0]) ? a[0] : Buffer.alloc(0)));
  }
  m.set('_codecs.encode', (a, where) => {
    if (typeof a[0] !== 'string') fail('invalid-torch', '_codecs.encode expects a string', where);
    return Buffer.from(a[0], 'latin1');
  });
  m.set('torch._utils._rebuild_tensor', (a, w) => rebuildTensor(a, w, null));
  m.set('torch._utils._rebuild_tensor_v2', (a, w) => rebuildTensor(a, w, null));
  m.set('torch._utils._rebuild_tensor_v3', (a, w) => {
    const dt = a[6];
    return rebuildTensor(a, w, null, dt instanceof TorchDType ? dt.dtype : undefined);
  });
  m.set('torch._utils._rebuild_qtensor', (a, w) => rebuildTensor(a, w, tupleItems(a[4])));
  m.set('torch._utils._rebuild_parameter', (a) => a[0]);
  m.set('torch._utils._rebuild_parameter_with_state', (a) => a[0]);
  m.set('torch._tensor._rebuild_from_type_v2', (a, w) => {
    const [fn, , args] = a;
    const inner = fn instanceof PyGlobal ? torchCallables().get(fn.qualified) : undefined;
    return inner ? inner(tupleItems(args), w) : new Placeholder('torch._tensor._rebuild_from_type_v2', a);
  });
  m.set('torch.Size', (a) => new PyTuple([...tupleItems(a[0] ?? [])]));
  m.set('torch.device', (a) => new TorchDevice(a.map(String).join(':')));
  return m;
}

function torchConstants(): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const [cls, dt] of Object.entries(TORCH_STORAGE_DTYPE)) {
    m.set(`torch.${cls}`, new StorageClass(dt));
    m.set(`torch.cuda.${cls}`, new StorageClass(dt));
  }
  m.set('torch.UntypedStorage', new StorageClass('uint8'));
  m.set('torch.storage.UntypedStorage', new StorageClass('uint8'));
  for (const [name, dt] of Object.entries(TORCH_DTYPE_NAMES)) m.set(`torch.${name}`, new TorchDType(dt));
  for (const q of ['per_tensor_affine', 'per_tensor_symmetric', 'per_channel_affine', 'per_channel_symmetric', 'per_channel_affine_float_qparams']) {
    m.set(`torch.${q}`, new QScheme(q));
  }
  return m;
}

const CALLABLES = torchCallables();
const CONSTANTS = torchConstants();

/** persistent_load for torch: ('storage', storage_type, key, location, numel[, view_metadata]). */
function storagePersistentLoad(storages: Map<string, StorageRef>) {
  return (pid: unknown, where: string): unknown => {
    const t = tupleItems(pid);
    // Legacy torch.save replaces each nn.Module class with ('module', cls, source_file, source):
    // the class, never its source, is what stands there.
    if (t[0] === 'module' && t[1] instanceof PyGlobal) return t[1];
    if (t[0] !== 'storage') fail('invalid-torch', `unknown persistent id ${JSON.stringify(String(t[0]))}`, where);
    const [, cls, key, location, numel, view] = t;
    const dtype = cls instanceof StorageClass ? cls.dtype : cls instanceof TorchDType ? cls.dtype : undefined;
    if (!dtype) fail('invalid-torch', `storage type ${describe(cls)} is not a known torch storage`, where);
    if (typeof key !== 'string') fail('invalid-torch', 'storage key is not a string', where);
    const n = asInt(numel, 'storage size', where);
    if (n < 0) fail('invalid-torch', `storage size ${n} is negative`, where);
    let base = storages.get(key);
    if (!base) {
      base = new StorageRef(key, dtype, n, String(location));
      storages.set(key, base);
    }
    // The same storage seen twice must agree with itself; a lie here could alias reads.
    else if (base.numel !== n) fail('invalid-torch', `storage ${key} declared with ${base.numel} and ${n} elements`, where);
    if (view !== null && view !== undefined) {
      const [, viewOffset, viewSize] = tupleItems(view);
      const off = asInt(viewOffset, 'storage view offset', where),
        sz = asInt(viewSize, 'storage view size', where);
      if (off < 0 || sz < 0 || off + sz > n) fail('invalid-torch', `storage view [${off}, ${off + sz}) outside storage of ${n}`, where);
      return new StorageRef(key, dtype, n, String(location), off);
    }
    return base;
  };
}

/** Turns rebuilt TensorValues into TensorRefs bound to bytes, naming them by their path in the object tree. */
function finish(path: string, format: 'pt' | 'pt-legacy', root: unknown, bind: (s: StorageRef) => Storage, closer: () => void): DumpFile {
  const tensors: TensorRef[] = [];
  const objects: ObjectEntry[] = [];
  collectTree(root, {
    isTensor: (v) => v instanceof TensorValue,
    onTensor: (name, v) => tensors.push(toRef(name, v as TensorValue, bind, path)),
    onObject: (o) => objects.push(o),
    describeLeaf: (v) =>
      v instanceof TorchDevice
        ? { type: 'device', value: v.name }
        : v instanceof TorchDType
          ? { type: 'dtype', value: v.dtype }
          : v instanceof QScheme
            ? { type: 'other', value: v.name }
            : undefined,
  });
  return { path, format, metadata: null, tensors, objects, close: closer };
}

function toRef(name: string, v: TensorValue, bind: (s: StorageRef) => Storage, path: string): TensorRef {
  const where = `${path}: tensor ${JSON.stringify(name)}`;
  const dtype = v.dtypeOverride ?? v.storage.dtype;
  if (v.quantizer && !isQuantizedDType(dtype)) fail('invalid-torch', `quantized tensor has a ${dtype} storage`, where);
  // A legacy storage view is a window into its base storage: fold its offset into the tensor's.
  const ref: TensorRef = {
    name,
    dtype,
    shape: v.shape,
    strides: v.strides,
    storageOffset: v.storageOffset + v.storage.viewOffset,
    storage: bind(v.storage),
    quantization: v.quantizer ? readQuantizer(v.quantizer, v.shape, bind, where) : null,
  };
  checkViewBounds(ref, where);
  return ref;
}

const MAX_CHANNELS = 1 << 24;

function smallTensorValues(t: unknown, bind: (s: StorageRef) => Storage, what: string, where: string): number[] {
  if (!(t instanceof TensorValue)) fail('invalid-torch', `${what} is ${describe(t)}, not a tensor`, where);
  const n = numelOf(t.shape);
  if (n > MAX_CHANNELS) fail('invalid-torch', `${what} has ${n} entries (limit ${MAX_CHANNELS})`, where);
  const st = bind(t.storage);
  const ref: TensorRef = {
    name: what,
    dtype: t.storage.dtype,
    shape: t.shape,
    strides: t.strides,
    storageOffset: t.storageOffset + t.storage.viewOffset,
    storage: st,
    quantization: null,
  };
  checkViewBounds(ref, where);
  const item = ITEM_SIZE[ref.dtype];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    // Channel parameters are 1-D; index with the stride so views read correctly.
    const off = (ref.storageOffset + i * (t.strides[0] ?? 1)) * item;
    out.push(decodeToFloat64(ref.dtype, st.source.readSync(off, item), st.littleEndian)[0]);
  }
  return out;
}

function readQuantizer(q: unknown[], shape: number[], bind: (s: StorageRef) => Storage, where: string): Quantization {
  const scheme = q[0] instanceof QScheme ? q[0].name : String(q[0]);
  if (scheme === 'per_tensor_affine' || scheme === 'per_tensor_symmetric') {
    const scale = pyNumber(q[1]),
      zp = pyNumber(q[2]);
    if (typeof scale !== 'number' || typeof zp !== 'number') fail('invalid-torch', 'per-tensor quantizer needs a float scale and an int zero point', where);
    return { scheme, scale, zero_point: zp };
  }
  if (scheme === 'per_channel_affine' || scheme === 'per_channel_symmetric' || scheme === 'per_channel_affine_float_qparams') {
    const [, scalesT, zpsT, axis] = q;
    const ax = asInt(axis, 'quantization axis', where);
    if (ax < 0 || ax >= shape.length) fail('invalid-torch', `quantization axis ${ax} outside a ${shape.length}-d tensor`, where);
    const scales = smallTensorValues(scalesT, bind, 'per-channel scales', where);
    const zero_points = smallTensorValues(zpsT, bind, 'per-channel zero points', where);
    if (scales.length !== shape[ax] || zero_points.length !== shape[ax]) {
      fail('invalid-torch', `per-channel quantizer has ${scales.length} scales for ${shape[ax]} channels`, where);
    }
    return { scheme, scales, zero_points, axis: ax };
  }
  fail('unsupported', `unsupported quantization scheme ${scheme}`, where);
}

function boundStorage(src: ByteSource, ref: StorageRef, littleEndian: boolean, where: string): Storage {
  const need = ref.numel * ITEM_SIZE[ref.dtype];
  if (src.size < need) fail('invalid-torch', `storage ${ref.key} holds ${src.size} bytes but ${ref.numel} ${ref.dtype} elements need ${need}`, where);
  return { source: src, dtype: ref.dtype, numel: ref.numel, littleEndian };
}

export interface TorchLimits {
  maxPickleBytes: number;
}
const DEFAULT_LIMITS: TorchLimits = { maxPickleBytes: 1 << 30 };

/** Reads a torch zip archive (any top-level folder name). */
export function readTorchZip(path: string, src: ByteSource, zip = new ZipArchive(src), limits = DEFAULT_LIMITS): DumpFile {
  const pkls = [...zip.entries.keys()].filter((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  if (!pkls.length) fail('invalid-torch', 'ZIP archive has no data.pkl: not a PyTorch checkpoint', path);
  pkls.sort((a, b) => a.split('/').length - b.split('/').length);
  const prefix = pkls[0].slice(0, -'data.pkl'.length);
  let littleEndian = true;
  if (zip.entries.has(`${prefix}byteorder`)) {
    const bo = zip.open(`${prefix}byteorder`);
    const text = bo.readSync(0, Math.min(bo.size, 16)).toString('latin1').trim();
    if (text !== 'little' && text !== 'big') fail('invalid-torch', `byteorder entry says ${JSON.stringify(text)}`, path);
    littleEndian = text === 'little';
  }
  const pkl = zip.open(pkls[0]);
  if (pkl.size > limits.maxPickleBytes) fail('invalid-torch', `data.pkl is ${pkl.size} bytes (limit ${limits.maxPickleBytes})`, path);
  const storages = new Map<string, StorageRef>();
  const root = unpickle(new BufferReader((o, l) => pkl.readSync(o, l), pkl.size, `${path}: ${pkls[0]}`), {
    callables: CALLABLES,
    constants: CONSTANTS,
    persistentLoad: storagePersistentLoad(storages),
  });
  const bound = new Map<string, Storage>();
  const bind = (s: StorageRef): Storage => {
    let b = bound.get(s.key);
    if (!b) {
      const entry = `${prefix}data/${s.key}`;
      if (!zip.entries.has(entry)) fail('invalid-torch', `storage record ${entry} is missing from the archive`, path);
      b = boundStorage(zip.open(entry), storages.get(s.key) ?? s, littleEndian, `${path}: ${entry}`);
      bound.set(s.key, b);
    }
    return b;
  };
  return finish(path, 'pt', root, bind, () => src.close());
}

const LEGACY_MAGIC = BigInt('0x1950a86a20f9469cfc6c');

/** A legacy torch file is a binary pickle stream: PROTO (0x80) and a protocol number 1–5 (torch.save writes 2). */
export function looksLikeTorchLegacy(src: ByteSource): boolean {
  if (src.size < 2) return false;
  const head = src.readSync(0, 2);
  return head[0] === 0x80 && head[1] >= 1 && head[1] <= 5;
}

/** Reads the legacy (pre-1.6, `_use_new_zipfile_serialization=False`) stream: magic, version, sys_info, object, storage keys, raw storages. */
export function readTorchLegacy(path: string, src: ByteSource): DumpFile {
  const reader = new BufferReader((o, l) => src.readSync(o, l), src.size, path);
  const plain = { callables: CALLABLES, constants: CONSTANTS };
  const magic = unpickle(reader, plain);
  if (typeof magic !== 'bigint' || magic !== LEGACY_MAGIC) fail('invalid-torch', 'not a PyTorch file: legacy magic number missing', path);
  const version = unpickle(reader, plain);
  if (version !== 1001) fail('unsupported', `unsupported legacy protocol version ${String(version)}`, path);
  const sysInfo = unpickle(reader, plain);
  const littleEndian = !(sysInfo instanceof Map) || sysInfo.get('little_endian') !== false;
  const storages = new Map<string, StorageRef>();
  const root = unpickle(reader, { ...plain, persistentLoad: storagePersistentLoad(storages) });
  const keys = unpickle(reader, plain);
  if (!Array.isArray(keys)) fail('invalid-torch', 'legacy storage key list is missing', path);
  const bound = new Map<string, Storage>();
  let off = reader.pos;
  for (const key of keys) {
    const ref = storages.get(String(key));
    if (!ref) fail('invalid-torch', `legacy file stores ${String(key)}, which no tensor uses`, path);
    if (off + 8 > src.size) fail('truncated', `legacy storage ${String(key)} record header lies past the end of the file`, path);
    const hdr = src.readSync(off, 8);
    const n = Number(littleEndian ? hdr.readBigInt64LE(0) : hdr.readBigInt64BE(0));
    if (n !== ref.numel) fail('invalid-torch', `legacy storage ${String(key)} record holds ${n} elements, the pickle says ${ref.numel}`, path);
    const bytes = n * ITEM_SIZE[ref.dtype];
    if (off + 8 + bytes > src.size) fail('truncated', `legacy storage ${String(key)} (${bytes} bytes) runs past the end of the file`, path);
    bound.set(ref.key, { source: new SliceSource(src, off + 8, bytes, `${path}: storage ${String(key)}`), dtype: ref.dtype, numel: n, littleEndian });
    off += 8 + bytes;
  }
  const bind = (s: StorageRef): Storage => {
    const b = bound.get(s.key);
    if (!b) fail('invalid-torch', `storage ${s.key} has no data record in the legacy file`, path);
    return b;
  };
  return finish(path, 'pt-legacy', root, bind, () => src.close());
}
