import * as vscode from 'vscode';
import { webviewHtml, webviewOptions } from './webviewHtml';
import { DiffReport } from '../analysis/diff';
import { DiffSession } from '../view/diffSession';
import { ToHost, ToView } from '../view/protocol';

/** Side-by-side comparison of two runs; the input-mismatch guard is shown first. Its heatmap pair pages values from a DiffSession. */
export function showDiffPanel(context: vscode.ExtensionContext, report: DiffReport): vscode.WebviewPanel {
  const p = vscode.window.createWebviewPanel(
    'quantLens.diff',
    `Compare: ${short(report.a)} ↔ ${short(report.b)}`,
    vscode.ViewColumn.Active,
    webviewOptions(context.extensionUri),
  );
  const session = new DiffSession(report);
  p.webview.onDidReceiveMessage(
    async (m: ToHost) => {
      if (m.type !== 'pairPage') return;
      try {
        const reply: ToView = { type: 'pairPage', key: m.key, side: m.side, page: await session.page(m.key, m.side, m.start, m.count) };
        await p.webview.postMessage(reply);
      } catch (e) {
        // Shown in place of the heatmap pair (a file changed or vanished since the comparison, say).
        await p.webview.postMessage({ type: 'error', message: `${m.key} (${m.side.toUpperCase()}): ${(e as Error).message}` } satisfies ToView);
      }
    },
    undefined,
    context.subscriptions,
  );
  p.onDidDispose(() => session.dispose(), undefined, context.subscriptions);
  p.webview.html = webviewHtml(p.webview, context.extensionUri, 'diff', report);
  return p;
}

function short(p: string): string {
  return p.split(/[\\/]/).slice(-2).join('/');
}
