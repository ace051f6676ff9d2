import * as vscode from 'vscode';
import { webviewHtml } from './webviewHtml';
import { DiffReport } from '../analysis/diff';

/** Side-by-side comparison of two runs; the input-mismatch guard is shown first. */
export function showDiffPanel(context: vscode.ExtensionContext, report: DiffReport): vscode.WebviewPanel {
  const p = vscode.window.createWebviewPanel('quantLens.diff', `Compare: ${short(report.a)} ↔ ${short(report.b)}`, vscode.ViewColumn.Active,
    { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist'), vscode.Uri.joinPath(context.extensionUri, 'media')] });
  p.webview.html = webviewHtml(p.webview, context.extensionUri, 'diff', report);
  return p;
}

function short(p: string): string { return p.split(/[\\/]/).slice(-2).join('/'); }
