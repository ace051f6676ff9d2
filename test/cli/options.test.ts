import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { cli } from '../support/cli';
import { fixture } from '../support/fixtures';
import { COMMANDS } from '../../src/cli/cli';

const DUMP = fixture('torch-2.11', 'mamba_conv1d/mode2/layer23_conv1d_input.pt');

test('every command answers --help with its usage, generated from its option table, and exit 0', async () => {
  for (const spec of COMMANDS) {
    const r = await cli(spec.name, '--help');
    assert.equal(r.code, 0, `${spec.name}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^usage: quant-lens ${spec.name}`));
    for (const o of spec.options) assert.ok(r.stdout.includes(`--${o.name}`), `${spec.name} --help lists --${o.name}`);
    assert.ok(r.stdout.includes('--json'));
  }
  const verify = await cli('verify', '--help');
  for (const name of ['--qmin', '--qmax', '--device', '--threads', '--worst', '--tensor', '--scale', '--tolerance'])
    assert.ok(verify.stdout.includes(name), name);
});

test('quant-lens --help lists every command; no command is a usage error on stderr, exit 2', async () => {
  const help = await cli('--help');
  assert.equal(help.code, 0);
  for (const spec of COMMANDS) assert.match(help.stdout, new RegExp(`\\n  ${spec.name} `));
  const none = await cli();
  assert.equal(none.code, 2);
  assert.equal(none.stdout, '');
  assert.match(none.stderr, /usage: quant-lens/);
});

test('negative option values and negative positionals parse as the usual CLI spelling', async () => {
  const spaced = await cli('verify', DUMP, '--scale', '0.0121623231', '--qmin', '-127', '--qmax', '127', '--json');
  const joined = await cli('verify', DUMP, '--scale=0.0121623231', '--qmin=-127', '--qmax=127', '--json');
  assert.equal(spaced.code, joined.code, spaced.stderr);
  assert.deepEqual(
    spaced.json.results.map((r: any) => r.out_of_range),
    joined.json.results.map((r: any) => r.out_of_range),
  );
  const neg = await cli('explain', '-1.05812216', '--scale', '0.0121623231', '--json');
  assert.equal(neg.code, 0, neg.stderr);
  assert.equal(neg.json.q, -87);
});

test('usage mistakes: one stderr line naming the option, exit 2, and with --json an error document coded "usage"', async () => {
  for (const [argv, re] of [
    [['verify', DUMP, '--bogus'], /bogus/],
    [['verify', DUMP, '--scale', 'abc'], /--scale expects a number/],
    [['verify', DUMP, '--scale', '-1'], /--scale must be positive/],
    [['verify', DUMP, '--device', 'tpu'], /--device must be one of auto, cpu, cuda/],
    [['verify'], /verify takes FILE/],
    [['diff', DUMP], /diff takes A B/],
    [['run', '--mode', 'mode4'], /--mode must be one of baseline, mode1, mode2/],
  ] as [string[], RegExp][]) {
    const r = await cli(...argv, '--json');
    assert.equal(r.code, 2, argv.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.json.error.code, 'usage', argv.join(' '));
  }
});

test('a missing file is coded not-found, in --json and in the one stderr line', async () => {
  const r = await cli('inspect', '/nonexistent/quant-lens.pt', '--json');
  assert.equal(r.code, 2);
  assert.equal(r.json.error.code, 'not-found');
  assert.match(r.stderr, /^quant-lens: no such file: \/nonexistent\/quant-lens\.pt\n$/);
});

test('the progress line is drawn on a terminal only, never with --json, and leaves stdout untouched', async () => {
  const { runCli } = await import('../../src/cli/cli');
  for (const json of [false, true]) {
    let out = '',
      err = '';
    const code = await runCli(['verify', DUMP, ...(json ? ['--json'] : [])], {
      stdout: (s) => {
        out += s;
      },
      stderr: (s) => {
        err += s;
      },
      stderrIsTty: true,
    });
    assert.equal(code, 0);
    if (json) {
      assert.equal(err, '');
      assert.ok(JSON.parse(out).results.length > 0);
    } else {
      assert.match(err, /100% \d+\/\d+ /);
      assert.ok(err.endsWith('\r\u001b[2K'), 'the line is cleared before the report');
      assert.doesNotMatch(out, /\r/);
    }
  }
});
