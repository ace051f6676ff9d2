import * as vscode from 'vscode';
import { webviewHtml, webviewOptions } from './webviewHtml';
import { Explanation } from '../analysis/explain';

/** The FP32 round-trip explanation of one element, step by step. One panel, reused. */
export class ExplainPanel {
  private static current?: vscode.WebviewPanel;
  /** `e.class` may also be the viewer's `out_of_range` (on the grid, code outside the range). */
  static show(context: vscode.ExtensionContext, e: Omit<Explanation, 'class'> & { class: string }): vscode.WebviewPanel {
    let p = ExplainPanel.current;
    if (!p) {
      p = vscode.window.createWebviewPanel('quantLens.explain', 'FP32 round-trip explanation', vscode.ViewColumn.Beside, webviewOptions(context.extensionUri));
      p.onDidDispose(() => {
        ExplainPanel.current = undefined;
      });
      ExplainPanel.current = p;
    }
    p.webview.html = webviewHtml(p.webview, context.extensionUri, 'explain', e);
    p.reveal(undefined, true);
    return p;
  }
}
