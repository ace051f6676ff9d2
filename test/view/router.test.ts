import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { fixture } from '../support/fixtures';
import { MessageRouter } from '../../src/view/router';
import { TensorSession, tensorHandlers } from '../../src/view/tensorSession';
import { ToView, ELEMENT_CLASSES } from '../../src/view/protocol';

function collect(): { sent: ToView[]; post: (m: ToView) => void } {
  const sent: ToView[] = [];
  return { sent, post: (m) => void sent.push(m) };
}

test('router: each request is answered once under its id; errors reach the request that caused them', async () => {
  const s = new TensorSession(fixture('torch-2.11', 'mamba_conv1d/mode2/layer23_conv1d.pt'));
  const { sent, post } = collect();
  const router = new MessageRouter(tensorHandlers(s), post);
  try {
    await Promise.all([
      router.receive({ kind: 'request', id: 7, request: { type: 'tree' } }),
      router.receive({ kind: 'request', id: 8, request: { type: 'page', tensor: 'no such tensor', start: 0, count: 10 } }),
      router.receive({ kind: 'request', id: 9, request: { type: 'page', tensor: 'input', start: 0, count: 100 } }),
      router.receive({ kind: 'request', id: 10, request: { type: 'pairPage', key: 'k', side: 'a', start: 0, count: 1 } }),
    ]);
    const byId = new Map(sent.map((m) => [m.id, m]));
    assert.equal(sent.length, 4);
    const tree = byId.get(7)!;
    assert.equal(tree.kind, 'reply');
    assert.ok((tree as { result: { nodes: unknown[] } }).result.nodes.length >= 5);
    const bad = byId.get(8)!;
    assert.equal(bad.kind, 'error');
    assert.equal((bad as { code: string }).code, 'tensor-not-found');
    assert.match((bad as { message: string }).message, /no tensor named "no such tensor"/);
    const page = (byId.get(9) as { result: { values: Float32Array; cls: Uint8Array } }).result;
    assert.ok(page.values instanceof Float32Array, 'pages travel as typed arrays');
    assert.equal(page.values.length, 100);
    assert.ok(page.cls instanceof Uint8Array && [...page.cls].every((c) => c < ELEMENT_CLASSES.length));
    assert.equal(byId.get(10)!.kind, 'error', 'a request this view does not answer is an error, not silence');
    assert.equal(router.pending, 0);
  } finally {
    router.dispose();
    s.dispose();
  }
});

test('summary: kept once computed, shared while computing, cancelled only when every caller cancels', async () => {
  const s = new TensorSession(fixture('torch-2.11', 'mamba_conv1d/mode2/layer23_conv1d.pt'));
  try {
    // Two callers at once share one computation; one of them cancelling does not stop the other.
    const first = new AbortController();
    const progress: number[] = [];
    const a = s.summary('input', { signal: first.signal });
    const b = s.summary('input', { onProgress: (done, total) => progress.push(done / total) });
    first.abort();
    await assert.rejects(a, /cancelled/);
    const sum = await b;
    assert.ok(sum.verify, 'the input is judged against its grid');
    assert.ok(progress.length > 0 && progress.every((f) => f > 0 && f <= 1), `progress reported: ${progress}`);
    // Kept: the same object comes back without recomputing.
    assert.equal(await s.summary('input'), sum);
    // The verifier's worst list, in index order, for next/previous problem.
    const probs = sum.verify!.problems;
    assert.ok(probs.length > 0 && probs.length <= sum.verify!.problems_listed);
    assert.deepEqual(
      probs.map((p) => p.index),
      [...probs.map((p) => p.index)].sort((x, y) => x - y),
    );
    // A sole caller that cancels stops the work; asking again computes it afresh.
    const alone = new AbortController();
    const c = s.summary('output_xproj', { signal: alone.signal });
    alone.abort();
    await assert.rejects(c, /cancelled/);
    const again = await s.summary('output_xproj');
    assert.equal(again.name, 'output_xproj');
  } finally {
    s.dispose();
  }
});

test('router: a cancel message answers the request as cancelled', async () => {
  const { sent, post } = collect();
  let started!: () => void;
  const begun = new Promise<void>((r) => (started = r));
  const router = new MessageRouter(
    {
      summary: (_r, ctx) =>
        new Promise((_res, rej) => {
          started();
          ctx.signal.addEventListener('abort', () => rej(new Error('stopped')));
        }),
    },
    post,
  );
  const answered = router.receive({ kind: 'request', id: 3, request: { type: 'summary', tensor: 'x' } });
  await begun;
  await router.receive({ kind: 'cancel', id: 3 });
  await answered;
  assert.deepEqual(sent, [{ kind: 'cancelled', id: 3 }]);
});
