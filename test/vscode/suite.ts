/**
 * Extension-host tests: run inside a real VS Code by @vscode/test-electron (test/vscode/run.ts),
 * with the real native addon and the real fixtures. A tiny runner (no mocha): each test is an async
 * function; any failure rejects run(), which fails the VS Code process.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';

const FIX = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'torch-2.11', 'mamba_conv1d');
const tests: [string, () => Promise<void>][] = [];
const it = (name: string, fn: () => Promise<void>): void => {
  tests.push([name, fn]);
};

async function until<T>(what: string, fn: () => T | undefined, ms = 20000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('activates and contributes its commands', async () => {
  const ext = vscode.extensions.all.find((e) => e.packageJSON.name === 'quant-lens');
  assert.ok(ext, 'extension present');
  await ext.activate();
  const cmds = await vscode.commands.getCommands(true);
  for (const c of ['quantLens.verifyGrid', 'quantLens.runBaseline', 'quantLens.runMode1', 'quantLens.runMode2', 'quantLens.compare', 'quantLens.explainValue'])
    assert.ok(cmds.includes(c), c);
});

it('Verify INT8 grid puts FP32 artifacts and saturation in the Problems panel', async () => {
  const uri = vscode.Uri.file(path.join(FIX, 'mode2', 'layer23_conv1d_input.pt'));
  await vscode.commands.executeCommand('quantLens.verifyGrid', uri, [uri]);
  const diags = await until('diagnostics', () => {
    const d = vscode.languages.getDiagnostics(uri);
    return d.length ? d : undefined;
  });
  assert.ok(diags.some((d) => d.severity === vscode.DiagnosticSeverity.Information && /5611 values/.test(d.message)));
  assert.ok(diags.some((d) => d.severity === vscode.DiagnosticSeverity.Warning && /saturated/.test(d.message)));
  assert.ok(!diags.some((d) => d.severity === vscode.DiagnosticSeverity.Error));
});

it('an off-grid tensor is an error diagnostic; a hostile file is an error, and the host survives', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-vscode-'));
  const evil = path.join(tmp, 'evil.pt');
  // A legacy pickle calling os.system: refused, never run.
  fs.writeFileSync(
    evil,
    Buffer.concat([Buffer.from('80028a0a6cfc9c46f9206aa850192e', 'hex'), Buffer.from('8002cos\nsystem\n(X\x05\x00\x00\x00touchtR.', 'latin1')]),
  );
  const uri = vscode.Uri.file(evil);
  await vscode.commands.executeCommand('quantLens.verifyGrid', uri, [uri]);
  const diags = await until('error diagnostic', () => {
    const d = vscode.languages.getDiagnostics(uri);
    return d.length ? d : undefined;
  });
  assert.equal(diags[0].severity, vscode.DiagnosticSeverity.Error);
  const cmds = await vscode.commands.getCommands(true);
  assert.ok(cmds.includes('quantLens.verifyGrid'), 'extension host still serving');
});

it('opens dumps in the custom editor', async () => {
  const uri = vscode.Uri.file(path.join(FIX, 'mode2', 'layer23_conv1d.pt'));
  await vscode.commands.executeCommand('vscode.openWith', uri, 'quantLens.tensorViewer');
  const tab = await until('custom editor tab', () =>
    vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputCustom && t.input.viewType === 'quantLens.tensorViewer'),
  );
  assert.equal((tab.input as vscode.TabInputCustom).uri.fsPath, uri.fsPath);
});

it('Run Mode 2 from the palette writes outputs and compares them with the dumped run', async () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ql-run-')), 'mode2.safetensors');
  const panel = await vscode.commands.executeCommand<vscode.WebviewPanel>('quantLens.runMode2', undefined, {
    params: path.join(FIX, 'layer23_conv1d_params.pt'),
    input: path.join(FIX, 'fp32_input_batchA.pt'),
    out,
    compare: true,
  });
  assert.ok(fs.existsSync(out));
  assert.ok(panel && panel.title.startsWith('Compare'));
  assert.match(panel.webview.html, /"valid":true/);
});

export async function run(): Promise<void> {
  const failures: string[] = [];
  for (const [name, fn] of tests) {
    try {
      await fn();
      console.log(`ok - ${name}`);
    } catch (err) {
      failures.push(name);
      console.log(`not ok - ${name}: ${(err as Error).stack}`);
    }
  }
  console.log(`${tests.length - failures.length} passed, ${failures.length} failed`);
  if (failures.length) throw new Error(`${failures.length} extension-host tests failed`);
}
