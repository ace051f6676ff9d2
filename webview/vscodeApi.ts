export interface VsCodeApi {
  postMessage(m: unknown): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

/** The webview's channel to the host; a no-op outside VS Code (static rendering for screenshots). */
export const vscode: VsCodeApi =
  typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : { postMessage: () => undefined, getState: () => undefined, setState: () => undefined };

export const fmt = (x: number | null | undefined, p = 6): string =>
  x === null || x === undefined ? '–' : Number.isInteger(x) ? String(x) : Number(x.toPrecision(p)).toString();
