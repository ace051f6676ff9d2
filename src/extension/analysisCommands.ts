/** Palette commands for the analysis of runs: the rounding fingerprint, the comparison of evaluation runs, and mode-difference attribution. */
import * as vscode from 'vscode';
import { fingerprintRoundingFiles } from '../analysis/roundingFiles';
import { compareEvalRuns } from '../analysis/evalCompare';
import { webviewHtml, webviewOptions, WebviewKind } from './webviewHtml';
import { Log } from './log';
import { attributeLayer } from '../analysis/attributeLayer';
import { EvalMode, MODE_TITLES } from '../analysis/layers/modes';
import { LAYER_RUNNERS, LayerName, layerRunner } from '../analysis/layers';
import { ROUNDING_MODES, RoundingMode } from '../analysis/rounding';
import { pickFile } from './modeCommands';

function showPanel(context: vscode.ExtensionContext, kind: WebviewKind, title: string, data: unknown): vscode.WebviewPanel {
  const p = vscode.window.createWebviewPanel(`quantLens.${kind}`, title, vscode.ViewColumn.Active, webviewOptions(context.extensionUri));
  p.webview.html = webviewHtml(p.webview, context.extensionUri, kind, data);
  return p;
}

async function pickOne(title: string, folders: boolean): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({ title, canSelectMany: false, canSelectFiles: true, canSelectFolders: folders });
  return picked?.[0];
}

/** Files of a scripted run (keybindings, tasks): no pickers are shown. */
export interface RoundingArgs {
  pre: string;
  post: string;
  scale?: number;
}

export async function identifyRounding(context: vscode.ExtensionContext, log: Log, args?: RoundingArgs): Promise<vscode.WebviewPanel | undefined> {
  // No extension filter: readers recognize a dump by its content, and code-server's dialog rejects typed paths under a filter.
  const pre = args ? vscode.Uri.file(args.pre) : await pickOne('Identify rounding mode: PRE, the FP32 values before quantization', false);
  if (!pre) return undefined;
  const post = args ? vscode.Uri.file(args.post) : await pickOne('Identify rounding mode: POST, the codes or on-grid values the kernel produced', false);
  if (!post) return undefined;
  let scale = args?.scale;
  if (!args) {
    const typed = await vscode.window.showInputBox({
      title: 'Identify rounding mode: the scale (leave empty to use the one stored beside POST or PRE)',
      validateInput: (v) => (v.trim() === '' || Number(v) > 0 ? undefined : 'a positive number, or empty'),
    });
    if (typed === undefined) return undefined;
    scale = typed.trim() ? Number(typed) : undefined;
  }
  try {
    const r = await fingerprintRoundingFiles(pre.fsPath, post.fsPath, { scale });
    log.info(`rounding of ${post.fsPath}: ${r.verdict} (${r.ties} ties, reciprocal ${r.reciprocal})`);
    return showPanel(context, 'rounding', `Rounding: ${r.verdict}`, r);
  } catch (err) {
    log.reportFailure(err);
    return undefined;
  }
}

export async function compareEvaluations(
  context: vscode.ExtensionContext,
  log: Log,
  args?: { a: string; b: string },
): Promise<vscode.WebviewPanel | undefined> {
  const a = args ? vscode.Uri.file(args.a) : await pickOne('Compare evaluation runs: run A (an lm-evaluation-harness output folder or results JSON)', true);
  if (!a) return undefined;
  const b = args ? vscode.Uri.file(args.b) : await pickOne('Compare evaluation runs: run B', true);
  if (!b) return undefined;
  try {
    const r = await compareEvalRuns(a.fsPath, b.fsPath);
    if (!r.valid) void vscode.window.showWarningMessage(`Quant Lens: invalid comparison: ${r.reason}`);
    return showPanel(context, 'evalcmp', 'Compare evaluation runs', r);
  } catch (err) {
    log.reportFailure(err);
    return undefined;
  }
}

/** A scripted attribution (keybindings, tasks): no pickers are shown. */
export interface AttributionArgs {
  layer?: LayerName;
  params: string;
  aux?: string;
  input: string;
  from?: EvalMode;
  to?: EvalMode;
  rounding?: RoundingMode;
}

/** Which difference between two modes explains a conv1d's output difference: Shapley bars per factor and a channel plot. */
export async function explainModeDifference(context: vscode.ExtensionContext, log: Log, args?: AttributionArgs): Promise<vscode.WebviewPanel | undefined> {
  const runner = args
    ? layerRunner(args.layer ?? 'conv1d')
    : (
        await vscode.window.showQuickPick(
          LAYER_RUNNERS.map((r) => ({ label: r.layer, description: r.title, runner: r })),
          { title: 'Explain mode difference: which layer?' },
        )
      )?.runner;
  if (!runner) return undefined;
  const title = `Explain mode difference (${runner.layer})`;
  const params = args ? vscode.Uri.file(args.params) : await pickFile(`${title}: layer parameters`, runner.paramsGlob);
  if (!params) return undefined;
  const input = args ? vscode.Uri.file(args.input) : await pickFile(`${title}: the input`, runner.inputGlob, params, (n) => runner.isInputFile(n));
  if (!input) return undefined;
  let aux = args?.aux;
  if (!args && runner.takesAux)
    aux = (await pickFile(`${title}: delta, B, C, z (Escape: take them from the params file)`, '**/*{aux,scan,ssm}*.{pt,safetensors}', params))?.fsPath;
  let from = args?.from ?? 'baseline',
    to = args?.to ?? 'mode2';
  let rounding = args?.rounding;
  if (!args) {
    const pairs: [EvalMode, EvalMode][] = [
      ['baseline', 'mode2'],
      ['baseline', 'mode1'],
      ['mode2', 'mode1'],
    ];
    const pair = await vscode.window.showQuickPick(
      pairs.map(([f, t]) => ({ label: `${MODE_TITLES[f]} → ${MODE_TITLES[t]}`, pair: [f, t] as const })),
      { title: `${title}: which modes?` },
    );
    if (!pair) return undefined;
    [from, to] = pair.pair;
    if (from === 'baseline') {
      const r = await vscode.window.showQuickPick(
        ROUNDING_MODES.map((m) => ({ label: m, description: m === 'half_even' ? 'as the kernels round (default)' : undefined })),
        { title: `${title}: Baseline's rounding` },
      );
      if (!r) return undefined;
      rounding = r.label as RoundingMode;
    }
  }
  try {
    const report = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Quant Lens: attributing the mode difference' },
      async () => attributeLayer(runner.layer, { params: params.fsPath, input: input.fsPath, aux }, { from, to, rounding }),
    );
    log.info(
      `attribution ${from} -> ${to}: ${report.total.codes_differ} codes differ; ${report.factors.map((f) => `${f.name} ${f.shapley_codes}`).join(', ')}`,
    );
    return showPanel(context, 'attribution', `Mode difference: ${from} → ${to}`, { ...report, params: params.fsPath, input: input.fsPath });
  } catch (err) {
    log.reportFailure(err);
    return undefined;
  }
}
