import * as vscode from 'vscode';
import { describeError } from '../core/errors';

/** The "Quant Lens" output channel. */
export class Log {
  readonly channel = vscode.window.createOutputChannel('Quant Lens', { log: true });
  info(m: string): void {
    this.channel.info(m);
  }
  error(m: string): void {
    this.channel.error(m);
  }
  /** A command's failure: one line in the log and one error notification, both from describeError. */
  reportFailure(err: unknown): void {
    const m = describeError(err).message;
    this.error(m);
    void vscode.window.showErrorMessage(`Quant Lens: ${m}`);
  }
  dispose(): void {
    this.channel.dispose();
  }
}
