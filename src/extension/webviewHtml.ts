import * as vscode from 'vscode';
import { randomBytes } from 'crypto';

/** The views the one webview bundle can draw (body data-view). */
export type WebviewKind = 'tensor' | 'diff' | 'explain' | 'report' | 'rounding' | 'evalcmp' | 'attribution';

/** The options of every Quant Lens webview: scripts on, resources only from the bundle and media folders. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')] };
}

/** The HTML shell of every Quant Lens webview: strict CSP, one nonce'd script (the esbuild bundle), theme colours from VS Code. */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, view: WebviewKind, initial: unknown): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'quant-lens.css'));
  const data = JSON.stringify(initial).replace(/</g, '\\u003c');
  return `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${webview.cspSource} data:; style-src ${webview.cspSource} 'unsafe-inline'; script-src 'nonce-${nonce}'; font-src ${webview.cspSource};">
<meta name="viewport" content="width=device-width, initial-scale=1.0"><link href="${style}" rel="stylesheet"><title>Quant Lens</title></head>
<body data-view="${view}"><div id="app"></div>
<script nonce="${nonce}">window.QUANT_LENS_INITIAL = ${data};</script>
<script nonce="${nonce}" src="${script}"></script></body></html>`;
}
