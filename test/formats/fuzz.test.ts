import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fuzz } from '../support/fuzzer';
import { openDump } from '../../src/formats/open';
import { FormatError } from '../../src/core/errors';
import { REPO_ROOT } from '../support/fixtures';

const ROOT = REPO_ROOT;

test('readers survive 20 s of mutation fuzzing: every bad input is a FormatError', async () => {
  const findings = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-findings-'));
  const seed = Number(process.env.FUZZ_SEED ?? 20261124);
  const res = await fuzz(
    Number(process.env.FUZZ_SECONDS ?? 20),
    seed,
    [path.join(ROOT, 'test', 'fixtures'), path.join(ROOT, 'test', 'hostile', 'corpus')],
    findings,
  );
  assert.ok(res.runs > 200, `only ${res.runs} inputs tried`);
  assert.deepEqual(res.findings, [], `seed ${seed}: ${JSON.stringify(res.findings)}`);
});

test('the committed corpus and past fuzzing findings (test/hostile/regressions) open or fail with a FormatError', async () => {
  const dirs = [path.join(ROOT, 'test', 'hostile', 'corpus'), path.join(ROOT, 'test', 'hostile', 'regressions')];
  const files = dirs
    .filter((d) => fs.existsSync(d))
    .flatMap((d) =>
      fs
        .readdirSync(d)
        .filter((f) => !f.startsWith('.'))
        .map((f) => path.join(d, f)),
    );
  assert.ok(files.length >= 40, `${files.length} files`);
  let refused = 0;
  for (const f of files) {
    try {
      openDump(f).close();
    } catch (err) {
      assert.ok(err instanceof FormatError, `${f}: ${(err as Error).name}: ${(err as Error).message}`);
      refused++;
    }
  }
  assert.ok(refused >= files.length - 2, `${refused} of ${files.length} refused`);
});
