import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { FIXTURES } from '../support/fixtures';
import { cli } from '../support/cli';

const DIR = path.join(FIXTURES, 'lm_eval');
const expected = JSON.parse(fs.readFileSync(path.join(DIR, 'expected.json'), 'utf8'));
const near = (a: number, b: number, rel = 1e-9): boolean => Math.abs(a - b) <= rel * Math.max(Math.abs(b), 1e-12);

test('evalcmp on per-sample logs: the paired counts, McNemar p and interval computed independently by the fixture script', async () => {
  const r = await cli('evalcmp', path.join(DIR, 'run_a'), path.join(DIR, 'run_b'), '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.valid, true);
  assert.equal(r.json.reason, null);
  assert.equal(r.json.tasks.length, Object.keys(expected.tasks).length);
  for (const t of r.json.tasks) {
    const want = expected.tasks[`${t.task}/${t.metric}`];
    assert.ok(want, `${t.task}/${t.metric} expected`);
    assert.deepEqual(Object.keys(t).slice(0, 13), [
      'task',
      'metric',
      'filter',
      'n',
      'a',
      'b',
      'diff',
      'ci95',
      'test',
      'p_value',
      'a_only',
      'b_only',
      'significant',
    ]);
    assert.equal(t.test, 'mcnemar');
    assert.equal(t.n, want.n);
    assert.equal(t.a_only, want.a_only);
    assert.equal(t.b_only, want.b_only);
    assert.ok(near(t.p_value, want.p_value, 1e-9), `${t.task}/${t.metric} p ${t.p_value} vs ${want.p_value}`);
    assert.ok(near(t.diff, want.diff));
    assert.ok(near(t.ci95[0], want.ci95[0]) && near(t.ci95[1], want.ci95[1]));
    assert.equal(t.significant, want.p_value < 0.05);
    assert.ok(near(t.b.value - t.a.value, want.diff), 'the harness aggregates agree with the samples');
  }
});

test('evalcmp refuses runs that scored different documents: exit 3, valid false, the first differing document named', async () => {
  const r = await cli('evalcmp', path.join(DIR, 'run_a'), path.join(DIR, 'run_b_shuffled'), '--json');
  assert.equal(r.code, 3);
  assert.equal(r.json.valid, false);
  assert.deepEqual(r.json.tasks, []);
  assert.match(r.json.reason, new RegExp(`document ${expected.shuffled_first_differing_doc} differs \\(doc_hash`));
});

test("evalcmp on the reference analysis' aggregates: z ≈ 1.86, p ≈ 0.063, not significant, and says what would settle it", async () => {
  const r = await cli('evalcmp', path.join(DIR, 'reference_baseline.json'), path.join(DIR, 'reference_mode2.json'), '--json');
  assert.equal(r.code, 0, r.stderr);
  const [t] = r.json.tasks;
  assert.equal(t.test, 'unpaired_z');
  assert.equal(t.n, null);
  assert.equal(t.a_only, null);
  assert.equal(t.b_only, null);
  assert.deepEqual(t.a, { value: 0.3792, stderr: 0.0068 });
  assert.ok(near(t.z, expected.reference.z, 1e-12));
  assert.ok(Math.abs(t.p_value - expected.reference.p_value) < 1e-6, `${t.p_value}`);
  assert.equal(t.significant, false);
  assert.match(t.note, /not significant/);
  assert.match(t.note, /--log_samples/);
  const text = await cli('evalcmp', path.join(DIR, 'reference_baseline.json'), path.join(DIR, 'reference_mode2.json'));
  assert.match(text.stdout, /p = 0\.0627/);
});

test('evalcmp --task keeps one task; an unknown task or a folder without results is bad input (exit 2)', async () => {
  const one = await cli('evalcmp', path.join(DIR, 'run_a'), path.join(DIR, 'run_b'), '--task', 'piqa', '--json');
  assert.equal(one.code, 0);
  assert.deepEqual([...new Set(one.json.tasks.map((t: any) => t.task))], ['piqa']);
  const bad = await cli('evalcmp', path.join(DIR, 'run_a'), path.join(DIR, 'run_b'), '--task', 'mmlu', '--json');
  assert.equal(bad.code, 2);
  assert.equal(bad.json.error.code, 'usage');
  const none = await cli('evalcmp', path.join(FIXTURES, 'numpy'), path.join(DIR, 'run_b'), '--json');
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no results_\*\.json/);
});
