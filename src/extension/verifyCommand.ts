import * as vscode from 'vscode';
import * as fs from 'fs';
import * as path from 'path';
import { verifyFile, VerifyReport } from '../analysis/verifyFile';
import { verifyModel } from '../analysis/verifyModel';
import { reportPayload } from '../view/reportPayload';
import { isShardedModel, perShardReports } from '../view/modelReports';
import { listDumpFiles, isDumpFileName, DUMP_GLOB } from '../formats/dumpFiles';
import { problemsOf, Severity } from '../view/diagnostics';
import { forEachLimited } from '../view/concurrency';
import { describeError, CancelledError, DescribedError } from '../core/errors';
import { verifyOptions, maxConcurrentFiles } from './settings';
import { webviewHtml, webviewOptions } from './webviewHtml';
import { Log } from './log';

const SEVERITY: Record<Severity, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  information: vscode.DiagnosticSeverity.Information,
};

/** Verification results shown as Problems, explorer badges and a report; re-run when a verified file changes. */
export class GridVerifier implements vscode.FileDecorationProvider {
  readonly diagnostics = vscode.languages.createDiagnosticCollection('quant-lens');
  private readonly verdicts = new Map<string, 'pass' | 'fail' | 'error'>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri | vscode.Uri[]>();
  readonly onDidChangeFileDecorations = this.changed.event;
  private readonly watcher = vscode.workspace.createFileSystemWatcher(DUMP_GLOB, true, false, true);
  private reportPanel?: vscode.WebviewPanel;

  constructor(
    private context: vscode.ExtensionContext,
    private log: Log,
  ) {
    this.watcher.onDidChange((uri) => {
      if (this.verdicts.has(uri.fsPath)) void this.verify([uri], false);
    });
  }

  dispose(): void {
    this.diagnostics.dispose();
    this.watcher.dispose();
    this.changed.dispose();
    this.reportPanel?.dispose();
  }

  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    const v = this.verdicts.get(uri.fsPath);
    if (v === 'pass') return { badge: '✓', tooltip: 'Quant Lens: on the INT8 grid', color: new vscode.ThemeColor('testing.iconPassed') };
    if (v === 'fail') return { badge: '✗', tooltip: 'Quant Lens: off the INT8 grid', color: new vscode.ThemeColor('list.errorForeground') };
    if (v === 'error') return { badge: '!', tooltip: 'Quant Lens: could not read', color: new vscode.ThemeColor('list.warningForeground') };
    return undefined;
  }

  /** Expands folders into dump files (bounded), then verifies with bounded concurrency under a cancellable progress. */
  async verify(uris: vscode.Uri[], showReport = true): Promise<VerifyReport[]> {
    const files: string[] = [];
    const models: string[] = [];
    for (const u of uris) {
      const st = fs.statSync(u.fsPath);
      // A sharded checkpoint is one model: its weights pair with scales in other shards.
      if (st.isDirectory() && isShardedModel(u.fsPath)) models.push(u.fsPath);
      else if (st.isDirectory()) files.push(...listDumpFiles(u.fsPath).map((r) => path.join(u.fsPath, r)));
      else if (isDumpFileName(u.fsPath)) files.push(u.fsPath);
    }
    const reports: VerifyReport[] = [];
    const failures: { file: string; error: string; code: string }[] = [];
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Verifying INT8 grid', cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        let done = 0;
        for (const dir of models) {
          if (abort.signal.aborted) break;
          try {
            const m = await verifyModel(dir, {
              ...verifyOptions(),
              signal: abort.signal,
              onFile: (_i, _n, f) => progress.report({ message: `${path.basename(dir)}: ${f}` }),
            });
            for (const r of perShardReports(dir, m)) {
              reports.push(r);
              this.publish(r.file, r);
            }
            for (const e of m.errors) {
              failures.push({ file: path.join(dir, e.file), error: e.message, code: e.code });
              this.publishError(path.join(dir, e.file), e);
            }
          } catch (err) {
            if (err instanceof CancelledError) break;
            const error = describeError(err);
            failures.push({ file: dir, error: error.message, code: error.code });
          }
        }
        await forEachLimited(
          files,
          maxConcurrentFiles(),
          async (file) => {
            try {
              const r = await verifyFile(file, { ...verifyOptions(), signal: abort.signal });
              reports.push(r);
              this.publish(file, r);
            } catch (err) {
              if (err instanceof CancelledError) return;
              const error = describeError(err);
              failures.push({ file, error: error.message, code: error.code });
              this.publishError(file, error);
            }
            done++;
            progress.report({ increment: 100 / Math.max(1, files.length), message: `${done}/${files.length} ${path.basename(file)}` });
          },
          abort.signal,
        );
        if (abort.signal.aborted) this.log.info(`verification cancelled after ${done} of ${files.length} files`);
      },
    );
    this.log.info(`verified ${reports.length} files, ${failures.length} unreadable`);
    if (showReport && (reports.length || failures.length)) this.showReport(reports, failures);
    return reports;
  }

  private publish(file: string, r: VerifyReport): void {
    const uri = vscode.Uri.file(file);
    const range = new vscode.Range(0, 0, 0, 0);
    this.diagnostics.set(
      uri,
      problemsOf(r).map((p) => {
        const d = new vscode.Diagnostic(range, p.message, SEVERITY[p.severity]);
        d.source = 'quant-lens';
        d.code = p.code;
        return d;
      }),
    );
    this.verdicts.set(file, r.results.some((x) => x.verdict === 'fail') ? 'fail' : 'pass');
    this.changed.fire(uri);
  }

  private publishError(file: string, error: DescribedError): void {
    const uri = vscode.Uri.file(file);
    const d = new vscode.Diagnostic(new vscode.Range(0, 0, 0, 0), error.message, vscode.DiagnosticSeverity.Error);
    d.source = 'quant-lens';
    d.code = error.code;
    this.diagnostics.set(uri, [d]);
    this.verdicts.set(file, 'error');
    this.changed.fire(uri);
  }

  private showReport(reports: VerifyReport[], failures: { file: string; error: string; code: string }[]): void {
    if (!this.reportPanel) {
      this.reportPanel = vscode.window.createWebviewPanel(
        'quantLens.report',
        'INT8 grid report',
        vscode.ViewColumn.Active,
        webviewOptions(this.context.extensionUri),
      );
      this.reportPanel.onDidDispose(() => {
        this.reportPanel = undefined;
      });
    }
    this.reportPanel.webview.html = webviewHtml(this.reportPanel.webview, this.context.extensionUri, 'report', reportPayload(reports, failures));
    this.reportPanel.reveal();
  }
}
