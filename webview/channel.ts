/**
 * The webview's side of the protocol (src/view/protocol.ts): each request gets an id, and the host's
 * reply, error or cancellation for that id settles its promise; progress goes to the request's callback.
 */
import { vscode } from './vscodeApi';
import type { Request, RequestType, Reply, ToHost, ToView } from '../src/view/protocol';

/** A request the host answered with an error: its code and one-line message. */
export class RequestFailed extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The request was cancelled (by this view, or because the host stopped it). */
export class RequestCancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

export interface Pending<T> {
  id: number;
  result: Promise<T>;
  /** Asks the host to stop; `result` then rejects with RequestCancelled. */
  cancel(): void;
}

interface Waiter {
  resolve(v: unknown): void;
  reject(e: Error): void;
  progress?: (done: number, total: number) => void;
}

let nextId = 1;
const waiting = new Map<number, Waiter>();

window.addEventListener('message', (ev: MessageEvent<ToView>) => {
  const m = ev.data;
  if (!m || typeof m !== 'object' || typeof m.id !== 'number') return;
  const w = waiting.get(m.id);
  if (!w) return;
  if (m.kind === 'progress') {
    w.progress?.(m.done, m.total);
    return;
  }
  waiting.delete(m.id);
  if (m.kind === 'reply') w.resolve(m.result);
  else if (m.kind === 'error') w.reject(new RequestFailed(m.code, m.message));
  else if (m.kind === 'cancelled') w.reject(new RequestCancelled());
});

export function request<K extends RequestType>(req: Request<K>, progress?: (done: number, total: number) => void): Pending<Reply<K>> {
  const id = nextId++;
  const result = new Promise<Reply<K>>((resolve, reject) => waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, progress }));
  vscode.postMessage({ kind: 'request', id, request: req as Request } satisfies ToHost);
  return {
    id,
    result,
    cancel: () => {
      if (waiting.has(id)) vscode.postMessage({ kind: 'cancel', id } satisfies ToHost);
    },
  };
}

/** Whether an error only says that a request was cancelled (not worth showing). */
export const isCancelled = (e: unknown): boolean => e instanceof RequestCancelled;
