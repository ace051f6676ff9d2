/**
 * A restricted unpickler (protocols 0–5). It NEVER imports or calls anything: globals are looked
 * up in an allowlist of pure data constructors (what torch.save emits, as torch.load(weights_only=True)
 * allows); any other global becomes an inert Placeholder that only records its name, arguments and
 * state, so a pickled nn.Module still shows its tensors.
 */
import { fail } from '../core/errors';
import { OP, HIGHEST_PROTOCOL } from './pickleOpcodes';

export class PyTuple {
  constructor(readonly items: unknown[]) {}
}
export class PySet {
  constructor(
    readonly items: unknown[],
    readonly frozen = false,
  ) {}
}
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}
/** A value of a class we do not allow: never constructed, only described. */
export class Placeholder {
  state: unknown = undefined;
  items: unknown[] = [];
  dictItems: [unknown, unknown][] = [];
  constructor(
    readonly className: string,
    readonly args: unknown[],
  ) {}
}
export type PyDict = Map<unknown, unknown>;
/**
 * A Python float whose value is integral (`1.0`): a JS number would make it indistinguishable from
 * the int `1`. Non-integral floats stay plain numbers; `pyNumber` unwraps either.
 */
export class PyFloat {
  constructor(readonly value: number) {}
}
export const pyNumber = (v: unknown): unknown => (v instanceof PyFloat ? v.value : v);
const pyFloat = (v: number): number | PyFloat => (Number.isInteger(v) ? new PyFloat(v) : v);

/** What an allowlisted global does when called (REDUCE/NEWOBJ). Pure: returns data only. */
export type SafeCallable = (args: unknown[], where: string) => unknown;

export interface UnpicklerOptions {
  /** Allowlisted callables by qualified name (`module.name`). */
  callables: Map<string, SafeCallable>;
  /** Allowlisted constants by qualified name (dtypes, qschemes, storage classes). */
  constants: Map<string, unknown>;
  persistentLoad?: (pid: unknown, where: string) => unknown;
  maxMemo?: number;
  maxStack?: number;
  /** Largest single string/bytes value. */
  maxValueBytes?: number;
}

/** Buffered sequential reader over a byte fetcher (a file, a zip entry, a buffer). */
export interface ByteReader {
  readonly label: string;
  pos: number;
  readonly size: number;
  take(n: number): Buffer;
  byte(): number;
  line(): string;
}

export class BufferReader implements ByteReader {
  pos = 0;
  constructor(
    private fetch: (off: number, len: number) => Buffer,
    readonly size: number,
    readonly label: string,
    start = 0,
  ) {
    this.pos = start;
  }
  private win: Buffer = Buffer.alloc(0);
  private winStart = 0;
  take(n: number): Buffer {
    if (n < 0 || this.pos + n > this.size) fail('truncated', `pickle data ends early: wanted ${n} bytes at offset ${this.pos} of ${this.size}`, this.label);
    if (this.pos >= this.winStart && this.pos + n <= this.winStart + this.win.length) {
      const b = this.win.subarray(this.pos - this.winStart, this.pos - this.winStart + n);
      this.pos += n;
      return b;
    }
    if (n > 1 << 20) {
      const b = this.fetch(this.pos, n);
      this.pos += n;
      return b;
    }
    const len = Math.min(Math.max(n, 1 << 20), this.size - this.pos);
    this.win = this.fetch(this.pos, len);
    this.winStart = this.pos;
    return this.take(n);
  }
  byte(): number {
    return this.take(1)[0];
  }
  line(): string {
    const parts: Buffer[] = [];
    for (let guard = 0; ; guard++) {
      if (guard > 1 << 16) fail('limit-exceeded', 'pickle text line longer than 64 KiB', this.label);
      const b = this.byte();
      if (b === 0x0a) break;
      parts.push(Buffer.from([b]));
    }
    return Buffer.concat(parts).toString('latin1');
  }
}

/**
 * Globals whose only use in a pickle is to run code. A file that names one is refused outright
 * (exit 2, "unsafe"), where an unknown but harmless class only becomes a placeholder.
 */
const DANGEROUS_MODULES = new Set([
  'os',
  'posix',
  'nt',
  'subprocess',
  'sys',
  'shutil',
  'socket',
  'importlib',
  'runpy',
  'ctypes',
  'pty',
  'commands',
  'multiprocessing',
  'code',
  'codeop',
  'pickle',
  '_pickle',
  'marshal',
  'webbrowser',
  'platform',
  'signal',
  'threading',
  'asyncio',
  'io',
  '_io',
  'tempfile',
  'pathlib',
]);
const DANGEROUS_BUILTINS = new Set([
  'eval',
  'exec',
  'execfile',
  'compile',
  'open',
  'getattr',
  'setattr',
  'delattr',
  '__import__',
  'apply',
  'input',
  'globals',
  'locals',
  'vars',
  'breakpoint',
  'file',
]);

export function isDangerousGlobal(module: string, name: string): boolean {
  const root = module.split('.')[0];
  if (DANGEROUS_MODULES.has(root)) return true;
  return (module === 'builtins' || module === '__builtin__' || module === '__builtins__') && DANGEROUS_BUILTINS.has(name);
}

function decodeLong(b: Buffer): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function parseIntText(s: string, where: string): number | bigint | boolean {
  const t = s.trim().replace(/L$/, '');
  if (t === '00') return false;
  if (t === '01') return true;
  if (!/^[-+]?\d+$/.test(t)) fail('invalid-pickle', `bad integer literal ${JSON.stringify(s.slice(0, 40))} in pickle`, where);
  const v = BigInt(t);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const SIMPLE_ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '\\': 92, "'": 39, '"': 34, '\n': -1 };

/**
 * Protocol 0 STRING: a quoted Python 2 literal, decoded as `codecs.escape_decode` does (\x, octal,
 * the C escapes; an unknown escape keeps its backslash). Like CPython, the quotes must be the
 * line's first and last characters.
 */
function parseQuoted(line: Buffer, where: string): Buffer {
  const q = line[0];
  if (line.length < 2 || (q !== 0x27 && q !== 0x22) || line[line.length - 1] !== q)
    fail('invalid-pickle', 'the pickle STRING opcode argument must be quoted', where);
  const body = line.subarray(1, line.length - 1);
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== 0x5c) {
      out.push(c);
      continue;
    }
    if (i + 1 >= body.length) fail('invalid-pickle', 'pickle STRING ends with a lone backslash', where);
    const e = String.fromCharCode(body[++i]);
    if (e === 'x') {
      const hex = body.subarray(i + 1, i + 3).toString('latin1');
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) fail('invalid-pickle', 'invalid \\x escape in pickle STRING', where);
      out.push(parseInt(hex, 16));
      i += 2;
    } else if (e >= '0' && e <= '7') {
      let oct = e;
      while (oct.length < 3 && i + 1 < body.length && body[i + 1] >= 0x30 && body[i + 1] <= 0x37) oct += String.fromCharCode(body[++i]);
      out.push(parseInt(oct, 8) & 0xff);
    } else if (e in SIMPLE_ESCAPES) {
      if (SIMPLE_ESCAPES[e] >= 0) out.push(SIMPLE_ESCAPES[e]);
    } else out.push(0x5c, body[i]);
  }
  return Buffer.from(out);
}

/**
 * A Python 2 `str` (STRING, BINSTRING, SHORT_BINSTRING) read as torch.load reads it
 * (`encoding='utf-8'`): text when the bytes are UTF-8, else kept as bytes rather than mangled.
 */
function py2String(b: Buffer): string | Buffer {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return Buffer.from(b);
  }
}

/** Protocol 0 UNICODE: raw-unicode-escape, where only \\uXXXX and \\UXXXXXXXX are escapes. */
function rawUnicodeEscape(line: Buffer, where: string): string {
  return line.toString('latin1').replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, u4: string | undefined, u8: string | undefined) => {
    const cp = parseInt(u4 ?? u8 ?? '', 16);
    if (cp > 0x10ffff) fail('invalid-pickle', `\\U escape ${u8} is beyond Unicode`, where);
    return String.fromCodePoint(cp);
  });
}

/** Protocol 0 FLOAT: what Python's float() accepts of a repr (digits, inf, nan), nothing else. */
function parseFloatText(s: string, where: string): number | PyFloat {
  const t = s.trim().toLowerCase();
  const special: Record<string, number> = {
    inf: Infinity,
    '+inf': Infinity,
    '-inf': -Infinity,
    infinity: Infinity,
    '-infinity': -Infinity,
    nan: NaN,
    '-nan': NaN,
    '+nan': NaN,
  };
  if (t in special) return special[t];
  if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/.test(t)) fail('invalid-pickle', `bad float literal ${JSON.stringify(s.slice(0, 40))} in pickle`, where);
  return pyFloat(Number(t));
}

/**
 * Python's own data constructors, as pure functions of their arguments (`int()` is 0): pickles of
 * plain data call them, and nothing they do reaches outside the values given.
 */
const BUILTIN_CONSTRUCTORS = (() => {
  const m = new Map<string, SafeCallable>();
  const items = (v: unknown): unknown[] | undefined =>
    Array.isArray(v) ? v : v instanceof PyTuple || v instanceof PySet ? v.items : typeof v === 'string' ? [...v] : undefined;
  const ctors: Record<string, SafeCallable> = {
    int: (a) =>
      a.length === 0
        ? 0
        : typeof a[0] === 'number' || typeof a[0] === 'bigint'
          ? a[0]
          : typeof a[0] === 'boolean'
            ? Number(a[0])
            : new Placeholder('builtins.int', a),
    float: (a) =>
      a.length === 0 ? new PyFloat(0) : typeof a[0] === 'number' ? pyFloat(a[0]) : a[0] instanceof PyFloat ? a[0] : new Placeholder('builtins.float', a),
    str: (a) => (a.length === 0 ? '' : typeof a[0] === 'string' ? a[0] : new Placeholder('builtins.str', a)),
    bool: (a) => (a.length === 0 ? false : typeof a[0] === 'boolean' ? a[0] : new Placeholder('builtins.bool', a)),
    list: (a) => (a.length === 0 ? [] : (items(a[0])?.slice() ?? new Placeholder('builtins.list', a))),
    tuple: (a) => (a.length === 0 ? new PyTuple([]) : items(a[0]) ? new PyTuple(items(a[0])!.slice()) : new Placeholder('builtins.tuple', a)),
    set: (a) => (a.length === 0 ? new PySet([]) : items(a[0]) ? new PySet(items(a[0])!.slice()) : new Placeholder('builtins.set', a)),
    frozenset: (a) => (a.length === 0 ? new PySet([], true) : items(a[0]) ? new PySet(items(a[0])!.slice(), true) : new Placeholder('builtins.frozenset', a)),
    dict: (a) => (a.length === 0 ? new Map() : a[0] instanceof Map ? new Map(a[0]) : new Placeholder('builtins.dict', a)),
  };
  for (const [name, fn] of Object.entries(ctors)) {
    m.set(`builtins.${name}`, fn);
    m.set(`__builtin__.${name}`, fn);
  }
  return m;
})();

export function unpickle(r: ByteReader, opts: UnpicklerOptions): unknown {
  const maxMemo = opts.maxMemo ?? 1 << 22;
  const maxStack = opts.maxStack ?? 1 << 22;
  const maxValue = opts.maxValueBytes ?? 1 << 30;
  const where = (): string => `${r.label} +${r.pos}`;
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const push = (v: unknown): void => {
    if (stack.length >= maxStack) fail('limit-exceeded', `pickle stack exceeds ${maxStack} items (pickle bomb?)`, where());
    stack.push(v);
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail('invalid-pickle', 'pickle stack underflow: data is corrupt', where());
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('invalid-pickle', 'pickle stack underflow: data is corrupt', where());
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = marks.pop();
    if (!prev) fail('invalid-pickle', 'pickle MARK missing: data is corrupt', where());
    stack = prev;
    return items;
  };
  const memoPut = (idx: number, v: unknown): void => {
    if (!memo.has(idx) && memo.size >= maxMemo) fail('limit-exceeded', `pickle memo exceeds ${maxMemo} entries`, where());
    memo.set(idx, v);
  };
  const memoGet = (idx: number): unknown => {
    if (!memo.has(idx)) fail('invalid-pickle', `pickle memo entry ${idx} is missing: data is corrupt`, where());
    return memo.get(idx);
  };
  const lenChecked = (n: number | bigint): number => {
    if (typeof n === 'bigint' || n < 0 || n > maxValue) fail('limit-exceeded', `pickle declares a ${n}-byte value (limit ${maxValue})`, where());
    if (r.pos + n > r.size) fail('truncated', `pickle declares a ${n}-byte value but only ${r.size - r.pos} bytes remain`, where());
    return n;
  };
  const resolveGlobal = (module: string, name: string): unknown => {
    const q = `${module}.${name}`;
    if (isDangerousGlobal(module, name))
      fail('unsafe-pickle', `unsafe pickle: it refers to ${q}, which runs code when loaded; refused (never pass this file to torch.load)`, where());
    if (opts.constants.has(q)) return opts.constants.get(q);
    return new PyGlobal(module, name);
  };
  const call = (fn: unknown, argTuple: unknown, op: string): unknown => {
    if (!(argTuple instanceof PyTuple)) fail('invalid-pickle', `pickle ${op} arguments are a ${describe(argTuple)}, not a tuple`, where());
    const args = argTuple.items;
    if (fn instanceof PyGlobal) {
      const safe = opts.callables.get(fn.qualified) ?? BUILTIN_CONSTRUCTORS.get(fn.qualified);
      if (safe) return safe(args, where());
      return new Placeholder(fn.qualified, args);
    }
    if (fn instanceof Placeholder) return new Placeholder(`${fn.className}(...)`, args);
    return fail('invalid-pickle', `pickle ${op} calls a ${describe(fn)}, which is not callable`, where());
  };
  const setItem = (target: unknown, k: unknown, v: unknown): void => {
    if (target instanceof Map) target.set(dictKey(k), v);
    else if (target instanceof Placeholder) target.dictItems.push([k, v]);
    else fail('invalid-pickle', `pickle SETITEM on a ${describe(target)}`, where());
  };
  const appendTo = (target: unknown, items: unknown[]): void => {
    if (Array.isArray(target)) {
      for (const it of items) target.push(it);
    } else if (target instanceof PySet) target.items.push(...items);
    else if (target instanceof Placeholder) target.items.push(...items);
    else fail('invalid-pickle', `pickle APPEND on a ${describe(target)}`, where());
  };

  for (;;) {
    const op = r.byte();
    switch (op) {
      case OP.PROTO: {
        const proto = r.byte();
        if (proto > HIGHEST_PROTOCOL) fail('unsupported', `unsupported pickle protocol ${proto}`, where());
        break;
      }
      case OP.FRAME:
        r.take(8);
        break; // framing is transparent to a sequential reader
      case OP.STOP: {
        const v = pop();
        return v;
      }
      case OP.MARK:
        marks.push(stack);
        stack = [];
        break;
      case OP.POP:
        // As CPython: POP with an empty stack above a MARK discards the mark.
        if (stack.length === 0 && marks.length) popMark();
        else pop();
        break;
      case OP.POP_MARK:
        popMark();
        break;
      case OP.DUP:
        push(top());
        break;
      case OP.NONE:
        push(null);
        break;
      case OP.NEWTRUE:
        push(true);
        break;
      case OP.NEWFALSE:
        push(false);
        break;
      case OP.BININT1:
        push(r.byte());
        break;
      case OP.BININT2:
        push(r.take(2).readUInt16LE(0));
        break;
      case OP.BININT:
        push(r.take(4).readInt32LE(0));
        break;
      case OP.LONG1:
        push(decodeLong(r.take(r.byte())));
        break;
      case OP.LONG4:
        push(decodeLong(r.take(lenChecked(r.take(4).readInt32LE(0)))));
        break;
      case OP.INT:
        push(parseIntText(r.line(), where()));
        break;
      case OP.LONG:
        push(parseIntText(r.line(), where()));
        break;
      case OP.FLOAT:
        push(parseFloatText(r.line(), where()));
        break;
      case OP.BINFLOAT:
        push(pyFloat(r.take(8).readDoubleBE(0)));
        break;
      case OP.STRING:
        push(py2String(parseQuoted(Buffer.from(r.line(), 'latin1'), where())));
        break;
      case OP.BINSTRING: {
        const n = r.take(4).readInt32LE(0);
        if (n < 0) fail('invalid-pickle', 'pickle BINSTRING has a negative length', where());
        push(py2String(r.take(lenChecked(n))));
        break;
      }
      case OP.SHORT_BINSTRING:
        push(py2String(r.take(r.byte())));
        break;
      case OP.UNICODE:
        push(rawUnicodeEscape(Buffer.from(r.line(), 'latin1'), where()));
        break;
      case OP.BINUNICODE:
        push(r.take(lenChecked(r.take(4).readUInt32LE(0))).toString('utf8'));
        break;
      case OP.SHORT_BINUNICODE:
        push(r.take(r.byte()).toString('utf8'));
        break;
      case OP.BINUNICODE8:
        push(r.take(lenChecked(decodeLong(r.take(8)))).toString('utf8'));
        break;
      case OP.BINBYTES:
        push(Buffer.from(r.take(lenChecked(r.take(4).readUInt32LE(0)))));
        break;
      case OP.SHORT_BINBYTES:
        push(Buffer.from(r.take(r.byte())));
        break;
      case OP.BINBYTES8:
      case OP.BYTEARRAY8:
        push(Buffer.from(r.take(lenChecked(decodeLong(r.take(8))))));
        break;
      case OP.NEXT_BUFFER:
        return fail('invalid-pickle', 'pickle uses out-of-band buffers (NEXT_BUFFER), which a file cannot carry', where());
      case OP.READONLY_BUFFER:
        break; // no-op on our values
      case OP.EMPTY_TUPLE:
        push(new PyTuple([]));
        break;
      case OP.TUPLE:
        push(new PyTuple(popMark()));
        break;
      case OP.TUPLE1:
        push(new PyTuple([pop()]));
        break;
      case OP.TUPLE2: {
        const b = pop(),
          a = pop();
        push(new PyTuple([a, b]));
        break;
      }
      case OP.TUPLE3: {
        const c = pop(),
          b = pop(),
          a = pop();
        push(new PyTuple([a, b, c]));
        break;
      }
      case OP.EMPTY_LIST:
        push([]);
        break;
      case OP.LIST:
        push(popMark());
        break;
      case OP.EMPTY_DICT:
        push(new Map());
        break;
      case OP.DICT: {
        const items = popMark();
        const d = new Map();
        for (let i = 0; i + 1 < items.length; i += 2) d.set(dictKey(items[i]), items[i + 1]);
        push(d);
        break;
      }
      case OP.EMPTY_SET:
        push(new PySet([]));
        break;
      case OP.FROZENSET:
        push(new PySet(popMark(), true));
        break;
      case OP.ADDITEMS: {
        const items = popMark();
        appendTo(top(), items);
        break;
      }
      case OP.APPEND: {
        const v = pop();
        appendTo(top(), [v]);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        appendTo(top(), items);
        break;
      }
      case OP.SETITEM: {
        const v = pop(),
          k = pop();
        setItem(top(), k, v);
        break;
      }
      case OP.SETITEMS: {
        const items = popMark();
        const t = top();
        for (let i = 0; i + 1 < items.length; i += 2) setItem(t, items[i], items[i + 1]);
        break;
      }
      case OP.GET:
        push(memoGet(Number(parseIntText(r.line(), where()))));
        break;
      case OP.BINGET:
        push(memoGet(r.byte()));
        break;
      case OP.LONG_BINGET:
        push(memoGet(r.take(4).readUInt32LE(0)));
        break;
      case OP.PUT:
        memoPut(Number(parseIntText(r.line(), where())), top());
        break;
      case OP.BINPUT:
        memoPut(r.byte(), top());
        break;
      case OP.LONG_BINPUT:
        memoPut(r.take(4).readUInt32LE(0), top());
        break;
      case OP.MEMOIZE:
        memoPut(memo.size, top());
        break;
      case OP.GLOBAL: {
        const module = utf8Line(r),
          name = utf8Line(r);
        push(resolveGlobal(module, name));
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop(),
          module = pop();
        if (typeof name !== 'string' || typeof module !== 'string') fail('invalid-pickle', 'pickle STACK_GLOBAL needs two strings', where());
        push(resolveGlobal(module, name));
        break;
      }
      case OP.EXT1:
      case OP.EXT2:
      case OP.EXT4: {
        // the copyreg registry is process state, never consulted
        const code = op === OP.EXT1 ? r.byte() : op === OP.EXT2 ? r.take(2).readUInt16LE(0) : r.take(4).readInt32LE(0);
        push(new Placeholder(`copyreg extension ${code}`, []));
        break;
      }
      case OP.REDUCE: {
        const args = pop(),
          fn = pop();
        push(call(fn, args, 'REDUCE'));
        break;
      }
      case OP.NEWOBJ: {
        const args = pop(),
          cls = pop();
        push(call(cls, args, 'NEWOBJ'));
        break;
      }
      case OP.NEWOBJ_EX: {
        const kwargs = pop();
        if (!(kwargs instanceof Map)) fail('invalid-pickle', `pickle NEWOBJ_EX keyword arguments are a ${describe(kwargs)}, not a dict`, where());
        const args = pop(),
          cls = pop();
        push(call(cls, args, 'NEWOBJ_EX'));
        break;
      }
      case OP.INST: {
        // module\nname\n with args from mark
        const module = utf8Line(r),
          name = utf8Line(r);
        push(call(resolveGlobal(module, name), new PyTuple(popMark()), 'INST'));
        break;
      }
      case OP.OBJ: {
        const items = popMark();
        if (!items.length) fail('invalid-pickle', 'pickle OBJ without a class', where());
        push(call(items[0], new PyTuple(items.slice(1)), 'OBJ'));
        break;
      }
      case OP.BUILD: {
        // state is recorded on placeholders, never applied by calling __setstate__
        const state = pop();
        const obj = top();
        if (obj instanceof Placeholder) obj.state = state;
        else if (obj instanceof Map && state instanceof Map) for (const [k, v] of state) obj.set(k, v);
        break;
      }
      case OP.PERSID: {
        const pid = r.line();
        push(opts.persistentLoad ? opts.persistentLoad(pid, where()) : new Placeholder('persistent id', [pid]));
        break;
      }
      case OP.BINPERSID: {
        const pid = pop();
        push(opts.persistentLoad ? opts.persistentLoad(pid, where()) : new Placeholder('persistent id', [pid]));
        break;
      }
      default:
        fail('invalid-pickle', `unknown pickle opcode 0x${op.toString(16).padStart(2, '0')}`, where());
    }
  }
}

/** GLOBAL/INST names: Python 3 decodes them as UTF-8. */
const utf8Line = (r: ByteReader): string => Buffer.from(r.line(), 'latin1').toString('utf8');

export function tupleItems(v: unknown): unknown[] {
  if (v instanceof PyTuple) return v.items;
  if (Array.isArray(v)) return v;
  return [v];
}

/** Dict keys are compared by value for strings and numbers; tuples become a joined string. */
function dictKey(k: unknown): unknown {
  if (k instanceof PyTuple) return k.items.map(String).join(',');
  if (typeof k === 'bigint') return k.toString();
  if (k instanceof PyFloat) return k.value; // 1.0 and 1 are one key in Python
  return k;
}

export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PyGlobal) return `global ${v.qualified}`;
  if (v instanceof Placeholder) return `instance of ${v.className}`;
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof Map) return 'dict';
  if (Array.isArray(v)) return 'list';
  if (Buffer.isBuffer(v)) return 'bytes';
  if (v instanceof PyFloat) return 'float';
  return typeof v;
}
