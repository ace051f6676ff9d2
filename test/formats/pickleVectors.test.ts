import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { FIXTURES } from '../support/fixtures';
import { BufferReader, Placeholder, PyFloat, PyGlobal, PySet, PyTuple, unpickle } from '../../src/formats/pickle';
import { QuantLensError } from '../../src/core/errors';

/**
 * CPython's own unpickling vectors (test/fixtures/peers/make_pickle_vectors.py records every byte
 * string Lib/test/pickletester.py feeds to `loads`, and what CPython made of it). What CPython reads,
 * we read to the same value; what it refuses, we refuse with a coded error, never a crash.
 */
interface Vector {
  test: string;
  hex: string;
  kwargs: Record<string, unknown>;
  refused?: string;
  value?: unknown;
}
const vectors: Vector[] = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'peers', 'cpython_pickle_vectors.json'), 'utf8')).vectors;

/**
 * CPython refuses these only when it calls a real class with bad arguments (`len.__new__`,
 * `int(None)`): a restricted unpickler never calls a class, so it keeps an inert placeholder.
 */
const REFUSED_ONLY_BY_CALLING: Record<string, string> = {
  '636275696c74696e730a6c656e0a29812e': 'NEWOBJ of builtins.len',
  '636275696c74696e730a6c656e0a297d922e': 'NEWOBJ_EX of builtins.len',
};

const load = (hex: string): unknown => {
  const buf = Buffer.from(hex, 'hex');
  return unpickle(new BufferReader((o, n) => buf.subarray(o, o + n), buf.length, 'vector'), { callables: new Map(), constants: new Map() });
};

/** Our value in the JSON form the recorder gives CPython's. */
function project(v: unknown): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (v instanceof PyFloat) return { float: v.value };
  if (typeof v === 'number') return Number.isInteger(v) ? v : { float: v };
  if (typeof v === 'bigint') return { int: v.toString() };
  if (Buffer.isBuffer(v)) return { bytes: v.toString('hex') };
  if (Array.isArray(v)) return v.map(project);
  if (v instanceof PyTuple) return { tuple: v.items.map(project) };
  if (v instanceof Map) return { dict: [...v].map(([k, x]) => [project(k), project(x)]) };
  if (v instanceof Placeholder || v instanceof PyGlobal || v instanceof PySet) return { object: true };
  return { unknown: String(v) };
}

/** CPython's projection, with floats as numbers (its repr parsed) and any object matching any placeholder. */
function normalise(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('float' in o) {
      const r = String(o.float);
      return { float: r === 'inf' ? Infinity : r === '-inf' ? -Infinity : r === 'nan' ? NaN : Number(r) };
    }
    if ('object' in o) return { object: true };
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, normalise(x)]));
  }
  return v;
}

test('the CPython vectors are present', () => assert.ok(vectors.length > 200, `${vectors.length} vectors`));

for (const [i, v] of vectors.entries()) {
  const label = `${v.test} #${i} ${v.hex.slice(0, 40)}`;
  if (v.refused) {
    test(`refused as CPython refuses it (${v.refused}): ${label}`, () => {
      if (REFUSED_ONLY_BY_CALLING[v.hex]) {
        assert.ok(load(v.hex) instanceof Placeholder, REFUSED_ONLY_BY_CALLING[v.hex]);
        return;
      }
      assert.throws(
        () => load(v.hex),
        (err: unknown) => err instanceof QuantLensError && err.message.length > 0 && !err.message.includes('\n'),
      );
    });
  } else {
    test(`read as CPython reads it: ${label}`, () => {
      const ours = load(v.hex);
      // Python 2 str under another `encoding` than torch's utf-8: only readability is comparable.
      if (Object.keys(v.kwargs).length) return assert.notEqual(ours, undefined);
      assert.deepEqual(project(ours), normalise(v.value));
    });
  }
}
