import * as vscode from 'vscode';
import { TensorSession, tensorHandlers } from '../view/tensorSession';
import { ToHost } from '../view/protocol';
import { MessageRouter } from '../view/router';
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
    const post = (m: unknown): Thenable<boolean> => panel.webview.postMessage(m);
    const s = doc.session;
    const router = s
      ? new MessageRouter(
          tensorHandlers(s, (e) => ExplainPanel.show(this.context, e)),
          post,
          (req, message) => this.log.error(`${doc.uri.fsPath} (${req.type}): ${message}`),
        )
      : new MessageRouter({ tree: () => Promise.reject(new Error(doc.error ?? 'could not open the file')) }, post);
    panel.webview.onDidReceiveMessage((m: ToHost) => router.receive(m));
    panel.onDidDispose(() => router.dispose());
  }
}
