import * as vscode from 'vscode';
import { webviewHtml, webviewOptions } from './webviewHtml';
import { DiffReport } from '../analysis/diff';
import { DiffSession, diffHandlers } from '../view/diffSession';
import { ToHost } from '../view/protocol';
import { MessageRouter } from '../view/router';

/** Side-by-side comparison of two runs; the input-mismatch guard is shown first. Its heatmap pair pages values from a DiffSession. */
export function showDiffPanel(context: vscode.ExtensionContext, report: DiffReport): vscode.WebviewPanel {
  const p = vscode.window.createWebviewPanel(
    'quantLens.diff',
    `Compare: ${short(report.a)} ↔ ${short(report.b)}`,
    vscode.ViewColumn.Active,
    webviewOptions(context.extensionUri),
  );
  const session = new DiffSession(report);
  // Errors (a file changed or vanished since the comparison, say) answer the page request that met them.
  const router = new MessageRouter(diffHandlers(session), (m) => p.webview.postMessage(m));
  p.webview.onDidReceiveMessage((m: ToHost) => router.receive(m), undefined, context.subscriptions);
  p.onDidDispose(
    () => {
      router.dispose();
      session.dispose();
    },
    undefined,
    context.subscriptions,
  );
  p.webview.html = webviewHtml(p.webview, context.extensionUri, 'diff', report);
  return p;
}

function short(p: string): string {
  return p.split(/[\\/]/).slice(-2).join('/');
}
