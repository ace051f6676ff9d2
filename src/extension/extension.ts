/** Quant Lens extension entry point: wires commands, the custom editor and diagnostics to the core. */
import * as vscode from 'vscode';
import { TensorEditorProvider } from './tensorEditor';
import { GridVerifier } from './verifyCommand';
import { runMode, compare, explainPrompt, RunModeArgs } from './modeCommands';
import { Log } from './log';
import { identifyRounding, compareEvaluations, explainModeDifference, AttributionArgs, RoundingArgs } from './analysisCommands';
import { loadNative } from '../native/addon';

export interface QuantLensApi {
  verifier: GridVerifier;
  log: Log;
}

export function activate(context: vscode.ExtensionContext): QuantLensApi {
  const log = new Log();
  const verifier = new GridVerifier(context, log);
  try {
    const n = loadNative();
    log.info(
      `native addon loaded: ${n.hardwareThreads} threads, CUDA ${n.cudaCompiled ? (n.cudaAvailable() ? `on ${n.cudaDeviceName()}` : 'compiled, no device') : 'not compiled'}`,
    );
  } catch (err) {
    log.error((err as Error).message);
  }
  const active = (): vscode.Uri | undefined => {
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input as { uri?: vscode.Uri } | undefined;
    return tab?.uri ?? vscode.window.activeTextEditor?.document.uri;
  };
  context.subscriptions.push(
    log,
    verifier,
    vscode.window.registerFileDecorationProvider(verifier),
    ...[TensorEditorProvider.viewType, `${TensorEditorProvider.viewType}.bin`].map((viewType) =>
      vscode.window.registerCustomEditorProvider(viewType, new TensorEditorProvider(context, log), {
        supportsMultipleEditorsPerDocument: true,
        webviewOptions: { retainContextWhenHidden: false },
      }),
    ),
    vscode.commands.registerCommand('quantLens.verifyGrid', (uri?: vscode.Uri, uris?: vscode.Uri[]) => {
      const targets = uris?.length ? uris : uri ? [uri] : active() ? [active()!] : [];
      if (!targets.length) return vscode.window.showWarningMessage('Quant Lens: select dump files or a folder to verify');
      return verifier.verify(targets);
    }),
    vscode.commands.registerCommand('quantLens.runBaseline', (uri?: vscode.Uri, args?: RunModeArgs) =>
      runMode(context, log, 'baseline', uri ?? active(), args),
    ),
    vscode.commands.registerCommand('quantLens.runMode1', (uri?: vscode.Uri, args?: RunModeArgs) => runMode(context, log, 'mode1', uri ?? active(), args)),
    vscode.commands.registerCommand('quantLens.runMode2', (uri?: vscode.Uri, args?: RunModeArgs) => runMode(context, log, 'mode2', uri ?? active(), args)),
    vscode.commands.registerCommand('quantLens.compare', (uri?: vscode.Uri, uris?: vscode.Uri[]) =>
      compare(context, log, uris?.length === 2 ? uris : undefined),
    ),
    vscode.commands.registerCommand('quantLens.explainValue', () => explainPrompt(context)),
    vscode.commands.registerCommand('quantLens.identifyRounding', (args?: RoundingArgs) => identifyRounding(context, log, args)),
    vscode.commands.registerCommand('quantLens.compareEvaluations', (args?: { a: string; b: string }) => compareEvaluations(context, log, args)),
    vscode.commands.registerCommand('quantLens.explainModeDifference', (args?: AttributionArgs) => explainModeDifference(context, log, args)),
    vscode.commands.registerCommand('quantLens.openViewer', (uri?: vscode.Uri) => {
      const target = uri ?? active();
      return target && vscode.commands.executeCommand('vscode.openWith', target, TensorEditorProvider.viewType);
    }),
  );
  return { verifier, log };
}

export function deactivate(): void {
  /* subscriptions dispose everything */
}
