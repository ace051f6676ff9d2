/**
 * The host's side of the webview protocol: routes each request to its handler and answers it under
 * its id with exactly one reply, error or cancellation (progress may come first). The custom editor,
 * the diff panel and the UI tests all drive this one router. No vscode import.
 */
import { describeError, CancelledError } from '../core/errors';
import { Request, RequestType, Reply, ToHost, ToView } from './protocol';

export interface RequestContext {
  /** Aborted when the webview cancels this request (or the router is disposed). */
  signal: AbortSignal;
  /** Reports progress of a long request; sent at most every PROGRESS_INTERVAL_MS. */
  progress(done: number, total: number): void;
}

export type Handlers = { [K in RequestType]?: (req: Request<K>, ctx: RequestContext) => Promise<Reply<K>> | Reply<K> };

const PROGRESS_INTERVAL_MS = 100;

export class MessageRouter {
  private running = new Map<number, AbortController>();

  constructor(
    private handlers: Handlers,
    private post: (m: ToView) => unknown,
    private onError: (request: Request, message: string) => void = () => undefined,
  ) {}

  /** Handles one message from the webview; resolves once its answer has been posted. */
  async receive(m: ToHost): Promise<void> {
    if (!m || typeof m !== 'object' || typeof m.id !== 'number') return;
    if (m.kind === 'cancel') {
      this.running.get(m.id)?.abort();
      return;
    }
    if (m.kind !== 'request' || !m.request || typeof m.request.type !== 'string') return;
    const { id, request } = m;
    const abort = new AbortController();
    this.running.set(id, abort);
    let last = 0;
    const ctx: RequestContext = {
      signal: abort.signal,
      progress: (done, total) => {
        const now = Date.now();
        if (now - last < PROGRESS_INTERVAL_MS || abort.signal.aborted) return;
        last = now;
        void this.post({ kind: 'progress', id, done, total });
      },
    };
    let answer: ToView;
    try {
      const handler = this.handlers[request.type] as ((r: Request, c: RequestContext) => Promise<unknown> | unknown) | undefined;
      if (!handler) throw new Error(`this view does not answer ${JSON.stringify(request.type)} requests`);
      const result = await handler(request, ctx);
      answer = abort.signal.aborted ? { kind: 'cancelled', id } : { kind: 'reply', id, result };
    } catch (err) {
      if (err instanceof CancelledError || abort.signal.aborted) answer = { kind: 'cancelled', id };
      else {
        const { code, message } = describeError(err);
        this.onError(request, message);
        answer = { kind: 'error', id, code, message };
      }
    } finally {
      this.running.delete(id);
    }
    await this.post(answer);
  }

  /** Requests still being answered (for tests and for disposal). */
  get pending(): number {
    return this.running.size;
  }

  dispose(): void {
    for (const a of this.running.values()) a.abort();
    this.running.clear();
  }
}
