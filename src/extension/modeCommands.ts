import * as vscode from 'vscode';
import * as fs from 'fs';
import * as path from 'path';
import { EvalMode, MODE_TITLES, readConv1dParams, readConv1dInput, runConv1d, runTensors, conv1dRunMetadata } from '../analysis/layers';
import { writeSafetensors } from '../formats/safetensors_writer';
import { diffPaths } from '../analysis/diff';
import { explainValue } from '../analysis/explain';
import { resolveDevice, DeviceChoice } from '../native/addon';
import { describeError } from '../cli/commands';
import { showDiffPanel } from './diffPanel';
import { ExplainPanel } from './explainPanel';
import { Log } from './log';

async function pickFile(title: string, pattern: string, preferred?: vscode.Uri): Promise<vscode.Uri | undefined> {
  const found = await vscode.workspace.findFiles(pattern, '**/node_modules/**', 2000);
  const items = found.map((u) => ({ label: path.basename(u.fsPath), description: vscode.workspace.asRelativePath(u), uri: u }));
  if (preferred) items.sort((a, b) => Number(path.dirname(b.uri.fsPath) === path.dirname(preferred.fsPath)) - Number(path.dirname(a.uri.fsPath) === path.dirname(preferred.fsPath)));
  if (!items.length) {
    const picked = await vscode.window.showOpenDialog({ title, canSelectMany: false, filters: { 'Tensor dumps': ['pt', 'pth', 'safetensors', 'npy', 'npz'] } });
    return picked?.[0];
  }
  return (await vscode.window.showQuickPick(items, { title, matchOnDescription: true }))?.uri;
}

/** Files for a scripted run (keybindings, tasks, tests): skips the pickers. */
export interface RunModeArgs { params: string; input: string; out: string; compare?: boolean }

/** Runs a conv1d layer in one mode: picks params and input near the active dump, writes where the user says, compares with the dumped run. */
export async function runMode(context: vscode.ExtensionContext, log: Log, mode: EvalMode, active?: vscode.Uri, args?: RunModeArgs): Promise<vscode.WebviewPanel | undefined> {
  const params = args ? vscode.Uri.file(args.params) : await pickFile(`${MODE_TITLES[mode]}: layer parameters (int8 weight, int32 bias, scales)`, '**/*_params.{pt,safetensors}', active);
  if (!params) return undefined;
  const input = args ? vscode.Uri.file(args.input) : await pickFile(`${MODE_TITLES[mode]}: FP32 input`, '**/*input*.{pt,safetensors,npy}', params);
  if (!input) return undefined;
  const defaultOut = vscode.Uri.file(path.join(path.dirname(params.fsPath), `quant-lens-${mode}.safetensors`));
  const out = args ? vscode.Uri.file(args.out) : await vscode.window.showSaveDialog({ title: 'Write the recomputed outputs to', defaultUri: defaultOut, filters: { safetensors: ['safetensors'] } });
  if (!out) return undefined;
  try {
    const device = resolveDevice(vscode.workspace.getConfiguration('quantLens').get<DeviceChoice>('device', 'auto'));
    const layerParams = await readConv1dParams(params.fsPath);
    const run = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Quant Lens: ${MODE_TITLES[mode]}` }, async () =>
      runConv1d(mode, layerParams, await readConv1dInput(input.fsPath), device));
    writeSafetensors(out.fsPath, runTensors(run), conv1dRunMetadata(mode, layerParams));
    log.info(`${mode} conv1d on ${run.device} in ${run.elapsedMs.toFixed(1)} ms -> ${out.fsPath}`);
    // Compare with the dumped run of the same mode when there is one beside the params.
    const dumped = path.join(path.dirname(params.fsPath), mode, `${path.basename(params.fsPath).replace(/_params\.(pt|safetensors)$/, '')}.pt`);
    const action = fs.existsSync(dumped) ? 'Compare with dumped run' : undefined;
    if (args) return args.compare && action ? showDiffPanel(context, await diffPaths(out.fsPath, dumped)) : undefined;
    const choice = await vscode.window.showInformationMessage(`${MODE_TITLES[mode]} on ${run.device}: ${run.elapsedMs.toFixed(1)} ms, written to ${path.basename(out.fsPath)}`, ...(action ? [action] : []));
    if (choice === action) return showDiffPanel(context, await diffPaths(out.fsPath, dumped));
  } catch (err) {
    const m = describeError(err);
    log.error(m);
    void vscode.window.showErrorMessage(`Quant Lens: ${m}`);
  }
  return undefined;
}

export async function compare(context: vscode.ExtensionContext, log: Log, uris?: vscode.Uri[]): Promise<vscode.WebviewPanel | undefined> {
  let [a, b] = uris ?? [];
  if (!a || !b) {
    const picked = await vscode.window.showOpenDialog({ title: 'Compare two runs: pick two dump files or two folders', canSelectMany: true, canSelectFolders: true, canSelectFiles: true });
    if (!picked || picked.length !== 2) return undefined;
    [a, b] = picked;
  }
  try {
    const report = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Quant Lens: comparing runs' }, () => diffPaths(a.fsPath, b.fsPath));
    if (!report.valid) void vscode.window.showWarningMessage(`Quant Lens: invalid comparison: ${report.reason}`);
    return showDiffPanel(context, report);
  } catch (err) {
    const m = describeError(err);
    log.error(m);
    void vscode.window.showErrorMessage(`Quant Lens: ${m}`);
    return undefined;
  }
}

export async function explainPrompt(context: vscode.ExtensionContext): Promise<void> {
  const value = await vscode.window.showInputBox({ title: 'Explain value: the FP32 value', value: '1.05812216', validateInput: (v) => (Number.isFinite(Number(v)) && v.trim() ? undefined : 'a number') });
  if (value === undefined) return;
  const scale = await vscode.window.showInputBox({ title: 'Explain value: the scale', value: '0.0121623231', validateInput: (v) => (Number(v) > 0 ? undefined : 'a positive number') });
  if (scale === undefined) return;
  ExplainPanel.show(context, { ...explainValue(Number(value), Number(scale)) });
}
