import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from '../support/fixtures';

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
  ]) {
    assert.ok(titles.includes(t), t);
  }
});

test('custom editors cover every dump format, run next to the data, and declare workspace trust', () => {
  const patterns = pkg.contributes.customEditors.flatMap((e: any) => e.selector.map((s: any) => s.filenamePattern));
  for (const ext of ['pt', 'pth', 'bin', 'safetensors', 'npy', 'npz']) assert.ok(patterns.includes(`*.${ext}`), ext);
  assert.ok(extSrc.includes('TensorEditorProvider.viewType'));
  assert.deepEqual(pkg.extensionKind, ['workspace']);
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, true);
  assert.equal(pkg.main, './dist/extension.js');
  assert.ok(fs.existsSync(path.join(root, 'dist', 'extension.js')), 'extension bundle built');
  assert.ok(fs.existsSync(path.join(root, 'dist', 'webview.js')), 'webview bundle built');
});

test('the packaged extension carries the bundles, the addon and media, not the sources', () => {
  const ignore = fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8');
  for (const keep of ['!dist/**', '!media/**', '!native/build/Release/quant_lens_native.node']) assert.ok(ignore.includes(keep), keep);
});
