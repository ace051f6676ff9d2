/** Palette commands for the analysis of runs: the rounding fingerprint and the comparison of evaluation runs. */
import * as vscode from 'vscode';
import { fingerprintRoundingFiles } from '../analysis/roundingFiles';
import { compareEvalRuns } from '../analysis/evalCompare';
import { webviewHtml, webviewOptions, WebviewKind } from './webviewHtml';
import { Log } from './log';

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
