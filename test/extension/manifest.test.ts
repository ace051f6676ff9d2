import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from '../support/fixtures';
import { DUMP_EXTENSIONS } from '../../src/formats/dumpFiles';
import { FileSource } from '../../src/formats/source';
import { ZipArchive } from '../../src/formats/zip';

const root = REPO_ROOT;
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const extSrc = fs.readFileSync(path.join(root, 'src', 'extension', 'extension.ts'), 'utf8');

test('every contributed command is registered by the extension, and the other way round', () => {
  const contributed = pkg.contributes.commands.map((c: any) => c.command).sort();
  const registered = [...extSrc.matchAll(/registerCommand\('([^']+)'/g)].map((m) => m[1]).sort();
  assert.deepEqual(registered, contributed);
  for (const m of [...pkg.contributes.menus['explorer/context'], ...pkg.contributes.menus.commandPalette])
    assert.ok(contributed.includes(m.command), m.command);
});

test('palette titles are the ones users look for', () => {
  const titles = pkg.contributes.commands.map((c: any) => `${c.category}: ${c.title}`);
  for (const t of [
    'Quant Lens: Run Baseline (INT8)',
    'Quant Lens: Run Mode 1 (FP32 SSM input)',
    'Quant Lens: Run Mode 2 (float-sim INT8)',
    'Quant Lens: Compare…',
    'Quant Lens: Explain value…',
    'Quant Lens: Verify INT8 grid',
    'Quant Lens: Identify rounding mode…',
    'Quant Lens: Compare evaluation runs…',
  ]) {
    assert.ok(titles.includes(t), t);
  }
});

test('custom editors cover every dump format, run next to the data, and declare workspace trust', () => {
  const patterns = pkg.contributes.customEditors.flatMap((e: any) => e.selector.map((s: any) => s.filenamePattern));
  for (const ext of DUMP_EXTENSIONS) assert.ok(patterns.includes(`*.${ext}`), ext);
  assert.ok(extSrc.includes('TensorEditorProvider.viewType'));
  assert.deepEqual(pkg.extensionKind, ['workspace']);
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, true);
  assert.equal(pkg.main, './dist/extension.js');
  assert.ok(fs.existsSync(path.join(root, 'dist', 'extension.js')), 'extension bundle built');
  assert.ok(fs.existsSync(path.join(root, 'dist', 'webview.js')), 'webview bundle built');
});

const VSIX = path.join(root, 'quant-lens-linux-x64.vsix');

test(
  'the packaged VSIX carries the bundles, the addon, media, manifest and licence, and nothing else',
  { skip: fs.existsSync(VSIX) ? false : 'no VSIX: npm run package builds it (npm test does before this test)' },
  () => {
    // Read with Quant Lens's own ZIP reader: a VSIX is a ZIP archive.
    const src = new FileSource(VSIX);
    try {
      const names = [...new ZipArchive(src).entries.keys()].filter((n) => n.startsWith('extension/')).map((n) => n.slice('extension/'.length));
      for (const need of [
        'dist/extension.js',
        'dist/cli.js',
        'dist/webview.js',
        'native/build/Release/quant_lens_native.node',
        'media/quant-lens.css',
        'package.json',
      ]) {
        assert.ok(names.includes(need), `${need} in ${names}`);
      }
      assert.ok(
        names.some((n) => /^license/i.test(n)),
        'a licence file',
      );
      const unexpected = names.filter(
        (n) =>
          !/^(dist\/[a-z]+\.js|native\/build\/Release\/quant_lens_native\.node|media\/.+|package\.json|readme\.md|license(\.txt)?|changelog\.md)$/i.test(n),
      );
      assert.deepEqual(unexpected, [], 'no sources, tests, fixtures or source maps');
      assert.ok(fs.statSync(VSIX).size < 8 << 20, `VSIX is ${fs.statSync(VSIX).size} bytes`);
    } finally {
      src.close();
    }
  },
);

test("the manifest's explorer menus name the same dump extensions as formats/dumpFiles.ts", () => {
  const whens = pkg.contributes.menus['explorer/context'].map((m: any) => m.when as string).filter((w: string) => w.includes('resourceExtname'));
  assert.ok(whens.length >= 2);
  for (const w of whens) assert.ok(w.includes(`(${DUMP_EXTENSIONS.join('|')})`), w);
});

test('the first-use walkthrough: every step has its media file, and names only commands the extension contributes', () => {
  const contributed = new Set(pkg.contributes.commands.map((c: any) => c.command));
  const [walk] = pkg.contributes.walkthroughs;
  assert.ok(walk.steps.length >= 3);
  for (const step of walk.steps) {
    assert.ok(fs.existsSync(path.join(root, step.media.markdown)), `${step.id}: ${step.media.markdown}`);
    for (const ev of step.completionEvents) assert.ok(contributed.has(ev.replace(/^onCommand:/, '')), `${step.id}: ${ev}`);
    for (const m of String(step.description).matchAll(/\(command:([\w.]+)\)/g)) {
      if (!m[1].startsWith('workbench.')) assert.ok(contributed.has(m[1]), `${step.id}: ${m[1]}`);
    }
  }
});
