import * as vscode from 'vscode';
import * as fs from 'fs';
import * as path from 'path';
import { EvalMode, MODE_TITLES, LAYER_RUNNERS, LayerName, LayerRunner, layerRunner } from '../analysis/layers';
import { writeSafetensors } from '../formats/safetensorsWriter';
import { DUMP_EXTENSIONS } from '../formats/dumpFiles';
import { diffPaths } from '../analysis/diff';
import { explainValue } from '../analysis/explain';
import { resolveDevice, DeviceChoice } from '../native/addon';
import { showDiffPanel } from './diffPanel';
import { ExplainPanel } from './explainPanel';
import { Log } from './log';

export async function pickFile(
  title: string,
  pattern: string,
  preferred?: vscode.Uri,
  accept: (name: string) => boolean = () => true,
): Promise<vscode.Uri | undefined> {
  const found = (await vscode.workspace.findFiles(pattern, '**/node_modules/**', 2000)).filter((u) => accept(path.basename(u.fsPath)));
  const items = found.map((u) => ({ label: path.basename(u.fsPath), description: vscode.workspace.asRelativePath(u), uri: u }));
  if (preferred) {
    const near = (u: vscode.Uri): number => Number(path.dirname(u.fsPath) === path.dirname(preferred.fsPath));
    items.sort((a, b) => near(b.uri) - near(a.uri));
  }
  if (!items.length) {
    const picked = await vscode.window.showOpenDialog({ title, canSelectMany: false, filters: { 'Tensor dumps': [...DUMP_EXTENSIONS] } });
    return picked?.[0];
  }
  return (await vscode.window.showQuickPick(items, { title, matchOnDescription: true }))?.uri;
}

async function pickLayer(mode: EvalMode): Promise<LayerRunner | undefined> {
  const items = LAYER_RUNNERS.map((r) => ({ label: r.layer, description: r.title, runner: r }));
  return (await vscode.window.showQuickPick(items, { title: `${MODE_TITLES[mode]}: which layer?` }))?.runner;
}

/** The files of a run given as the command argument (keybindings, tasks): no pickers are shown. */
export interface RunModeArgs {
  layer?: LayerName;
  params: string;
  input: string;
  aux?: string;
  out: string;
  compare?: boolean;
}

/** The dumped run of the same mode beside the params (`<dir>/<mode>/<layer>.pt`), to compare with. */
function dumpedRun(paramsFile: string, mode: EvalMode): string | undefined {
  const stem = path.basename(paramsFile).replace(/_params\.(pt|safetensors)$/, '');
  const dumped = path.join(path.dirname(paramsFile), mode, `${stem}.pt`);
  return fs.existsSync(dumped) ? dumped : undefined;
}

/** Runs a layer in one mode: picks the layer, its params and input, writes where the user says, compares with the dumped run. */
export async function runMode(
  context: vscode.ExtensionContext,
  log: Log,
  mode: EvalMode,
  active?: vscode.Uri,
  args?: RunModeArgs,
): Promise<vscode.WebviewPanel | undefined> {
  const runner = args ? layerRunner(args.layer ?? 'conv1d') : await pickLayer(mode);
  if (!runner) return undefined;
  const title = `${MODE_TITLES[mode]}, ${runner.layer}`;
  const params = args
    ? vscode.Uri.file(args.params)
    : await pickFile(`${title}: layer parameters (int8 weight, int32 bias, scales)`, runner.paramsGlob, active);
  if (!params) return undefined;
  const input = args ? vscode.Uri.file(args.input) : await pickFile(`${title}: input`, runner.inputGlob, params, (n) => runner.isInputFile(n));
  if (!input) return undefined;
  let aux = args?.aux;
  if (!args && runner.takesAux)
    aux = (await pickFile(`${title}: delta, B, C, z (Escape: take them from the params file)`, '**/*{aux,scan,ssm}*.{pt,safetensors}', params))?.fsPath;
  const defaultOut = vscode.Uri.file(path.join(path.dirname(params.fsPath), `quant-lens-${runner.layer}-${mode}.safetensors`));
  const out = args
    ? vscode.Uri.file(args.out)
    : await vscode.window.showSaveDialog({ title: 'Write the recomputed outputs to', defaultUri: defaultOut, filters: { safetensors: ['safetensors'] } });
  if (!out) return undefined;
  try {
    const device = resolveDevice(vscode.workspace.getConfiguration('quantLens').get<DeviceChoice>('device', 'auto'));
    const run = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Quant Lens: ${title}` }, async () => {
      const loaded = await runner.load({ params: params.fsPath, input: input.fsPath, aux });
      return loaded.run(mode, { device });
    });
    writeSafetensors(out.fsPath, run.saved, run.metadata);
    log.info(`${mode} ${runner.layer} on ${run.device} in ${run.elapsedMs.toFixed(1)} ms -> ${out.fsPath}`);
    const dumped = dumpedRun(params.fsPath, mode);
    const action = dumped ? 'Compare with dumped run' : undefined;
    if (args) return args.compare && dumped ? showDiffPanel(context, await diffPaths(out.fsPath, dumped)) : undefined;
    const choice = await vscode.window.showInformationMessage(
      `${title} on ${run.device}: ${run.elapsedMs.toFixed(1)} ms, written to ${path.basename(out.fsPath)}`,
      ...(action ? [action] : []),
    );
    if (choice === action && dumped) return showDiffPanel(context, await diffPaths(out.fsPath, dumped));
  } catch (err) {
    log.reportFailure(err);
  }
  return undefined;
}

export async function compare(context: vscode.ExtensionContext, log: Log, uris?: vscode.Uri[]): Promise<vscode.WebviewPanel | undefined> {
  let [a, b] = uris ?? [];
  if (!a || !b) {
    // A, then B: one item per dialog (code-server's dialog selects one item only), files or run folders.
    const pick = async (title: string): Promise<vscode.Uri | undefined> =>
      (await vscode.window.showOpenDialog({ title, canSelectMany: false, canSelectFolders: true, canSelectFiles: true }))?.[0];
    a = (await pick('Compare runs: A, a dump file or a run folder')) as vscode.Uri;
    if (!a) return undefined;
    b = (await pick(`Compare runs: B, to compare with ${path.basename(a.fsPath)} (the same kind: a file or a folder)`)) as vscode.Uri;
    if (!b) {
      void vscode.window.showInformationMessage('Quant Lens: Compare needs two runs, A and B; only A was chosen.');
      return undefined;
    }
  }
  try {
    const report = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Quant Lens: comparing runs' }, () =>
      diffPaths(a.fsPath, b.fsPath),
    );
    if (!report.valid) void vscode.window.showWarningMessage(`Quant Lens: invalid comparison: ${report.reason}`);
    return showDiffPanel(context, report);
  } catch (err) {
    log.reportFailure(err);
    return undefined;
  }
}

export async function explainPrompt(context: vscode.ExtensionContext): Promise<void> {
  const value = await vscode.window.showInputBox({
    title: 'Explain value: the FP32 value',
    value: '1.05812216',
    validateInput: (v) => (Number.isFinite(Number(v)) && v.trim() ? undefined : 'a number'),
  });
  if (value === undefined) return;
  const scale = await vscode.window.showInputBox({
    title: 'Explain value: the scale',
    value: '0.0121623231',
    validateInput: (v) => (Number(v) > 0 ? undefined : 'a positive number'),
  });
  if (scale === undefined) return;
  ExplainPanel.show(context, { ...explainValue(Number(value), Number(scale)) });
}
