import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { generateHostileCorpus } from './hostile/generate';

const CLI = path.resolve(__dirname, '..', '..', 'dist', 'cli.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-hostile-'));
const marker = path.join(dir, 'MARKER-must-never-exist');
const cases = generateHostileCorpus(path.join(dir, 'corpus'), marker);

for (const c of cases) {
  test(`hostile: ${c.what} -> ${c.expect.source === '^$' ? 'inert, exit 0' : 'exit 2 with a clear message'}`, () => {
    const before = fs.readFileSync(c.file);
    const t0 = Date.now();
    // A real process per case: proves no hang (timeout), no crash (exit code), bounded memory (heap cap).
    const r = spawnSync(process.execPath, ['--max-old-space-size=256', CLI, 'inspect', c.file, '--json', '--stats'], { encoding: 'utf8', timeout: 10_000 });
    const elapsed = Date.now() - t0;
    assert.equal(r.signal, null, `killed by ${r.signal} (hang or crash)`);
    assert.ok(elapsed < 2000, `took ${elapsed} ms (limit 2 s)`);
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
    }
    assert.ok(!fs.existsSync(marker), 'nothing executed');
    assert.ok(fs.readFileSync(c.file).equals(before), 'the input file is untouched');
  });
}

test('hostile corpus covers every category', () => {
  assert.ok(cases.length >= 30);
  assert.ok(!fs.existsSync(marker));
});
