import * as vscode from 'vscode';
import { TensorSession } from '../view/tensorSession';
import { ToHost, ToView } from '../view/protocol';
import { webviewHtml, webviewOptions } from './webviewHtml';
import { verifyOptions } from './settings';
import { describeError } from '../core/errors';
import { ExplainPanel } from './explainPanel';
import { Log } from './log';

class TensorDocument implements vscode.CustomDocument {
  session?: TensorSession;
  error?: string;
  constructor(readonly uri: vscode.Uri) {
    try {
      this.session = new TensorSession(uri.fsPath, verifyOptions);
    } catch (err) {
      this.error = describeError(err).message;
    }
  }
  dispose(): void {
    this.session?.dispose();
  }
}

/**
 * Read-only custom editor for tensor dumps. The document opens only the header; the webview asks
 * for a summary when a tensor is selected and for pages of values as the heatmap scrolls.
 */
export class TensorEditorProvider implements vscode.CustomReadonlyEditorProvider<TensorDocument> {
  static readonly viewType = 'quantLens.tensorViewer';
  constructor(
    private context: vscode.ExtensionContext,
    private log: Log,
  ) {}

  openCustomDocument(uri: vscode.Uri): TensorDocument {
    const doc = new TensorDocument(uri);
    if (doc.error) this.log.error(`open ${uri.fsPath}: ${doc.error}`);
    return doc;
  }

  resolveCustomEditor(doc: TensorDocument, panel: vscode.WebviewPanel): void {
    panel.webview.options = webviewOptions(this.context.extensionUri);
    panel.webview.html = webviewHtml(panel.webview, this.context.extensionUri, 'tensor', { file: doc.uri.fsPath });
    const post = (m: ToView): Thenable<boolean> => panel.webview.postMessage(m);
    panel.webview.onDidReceiveMessage(async (m: ToHost) => {
      const s = doc.session;
      try {
        if (!s) {
          await post({ type: 'error', message: doc.error ?? 'could not open the file' });
          return;
        }
        switch (m.type) {
          case 'ready':
            await post({ type: 'tree', file: doc.uri.fsPath, format: s.dump.format, nodes: s.tree() });
            break;
          case 'select':
            await post({ type: 'summary', summary: await s.summary(m.tensor) });
            break;
          case 'page':
            await post({ type: 'page', page: await s.page(m.tensor, m.start, m.count) });
            break;
          case 'explain':
            ExplainPanel.show(this.context, await s.explain(m.tensor, m.index));
            break;
        }
      } catch (err) {
        const message = describeError(err).message;
        this.log.error(`${doc.uri.fsPath}: ${message}`);
        await post({ type: 'error', message });
      }
    });
  }
}
