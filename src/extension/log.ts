import * as vscode from 'vscode';

/** The "Quant Lens" output channel. */
export class Log {
  readonly channel = vscode.window.createOutputChannel('Quant Lens', { log: true });
  info(m: string): void {
    this.channel.info(m);
  }
  error(m: string): void {
    this.channel.error(m);
  }
  dispose(): void {
    this.channel.dispose();
  }
}
