import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { generateHostileCorpus } from '../hostile/generate';
import { REPO_ROOT } from '../support/fixtures';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-hostile-'));
const marker = path.join(dir, 'MARKER-must-never-exist');
const cases = generateHostileCorpus(path.join(dir, 'corpus'), marker);
// Sanitizer builds run slower (scripts/test-asan-addon.sh sets 4); the limit itself stays 2 s otherwise.
const LIMIT_MS = 2000 * Number(process.env.QUANT_LENS_TIME_FACTOR ?? 1);

function run(args: string[]) {
  const t0 = Date.now();
  // A real process per case: proves no hang (timeout), no crash (exit code), bounded memory (heap cap).
  const r = spawnSync(process.execPath, ['--max-old-space-size=256', CLI, ...args], { encoding: 'utf8', timeout: 10_000 + LIMIT_MS });
  return { ...r, elapsed: Date.now() - t0 };
}

for (const c of cases) {
  test(`hostile: ${c.what} -> ${c.expect.source === '^$' ? 'inert, exit 0' : 'exit 2 with a clear message'}`, () => {
    const before = fs.readFileSync(c.file);
    const r = run(['inspect', c.file, '--json', '--stats']);
    assert.equal(r.signal, null, `killed by ${r.signal} (hang or crash)`);
    assert.ok(r.elapsed < LIMIT_MS, `took ${r.elapsed} ms (limit ${LIMIT_MS} ms)`);
    if (c.expect.source === '^$') {
      assert.equal(r.status, 0, r.stderr);
      assert.ok(JSON.parse(r.stdout).objects.some((o: any) => o.type === 'placeholder'));
    } else {
      assert.equal(r.status, 2, `exit ${r.status}; stdout ${r.stdout.slice(0, 200)}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
      assert.match(lines[0], /^quant-lens: /);
      assert.match(lines[0], c.expect);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      // With --json the same error is a document on stdout, with a stable code that is never 'internal'.
      const doc = JSON.parse(r.stdout);
      assert.equal(`quant-lens: ${doc.error.message}`, lines[0]);
      assert.match(doc.error.code, /^[a-z-]+$/);
      assert.notEqual(doc.error.code, 'internal', lines[0]);
      if (/unsafe pickle/.test(lines[0])) assert.equal(doc.error.code, 'unsafe-pickle');
    }
    // verify reaches the native addon for whatever tensors the file yields: same rules.
    const v = run(['verify', c.file, '--json']);
    assert.equal(v.signal, null, `verify killed by ${v.signal} (hang or crash)`);
    assert.ok(v.elapsed < LIMIT_MS, `verify took ${v.elapsed} ms (limit ${LIMIT_MS} ms)`);
    if (c.expect.source === '^$') {
      assert.ok(v.status === 0 || v.status === 1, `verify of an inert file: exit ${v.status}; ${v.stderr}`);
    } else {
      assert.equal(v.status, 2, `verify: exit ${v.status}; stdout ${v.stdout.slice(0, 200)}`);
      assert.match(v.stderr.trim(), /^quant-lens: [^\n]+$/);
      assert.match(v.stderr, c.expect);
    }
    assert.ok(!fs.existsSync(marker), 'nothing executed');
    assert.ok(fs.readFileSync(c.file).equals(before), 'the input file is untouched');
  });
}

test('hostile corpus covers every category', () => {
  assert.ok(cases.length >= 30);
  assert.ok(!fs.existsSync(marker));
});
