import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { verifyFile } from '../../src/analysis/verifyFile';
import { reportPayload } from '../../src/view/reportPayload';
import { fixture } from '../support/fixtures';

test('the report payload keeps every figure the table shows and summarizes a per-channel scale by its count and range', async () => {
  const perChannel = await verifyFile(fixture('checkpoints', 'torch-2.11/fake_quant_per_channel.pt'));
  const perTensor = await verifyFile(fixture('torch-2.11', 'mamba_conv1d/mode2/layer23_conv1d.pt'));
  const failures = [{ file: 'x.pt', error: 'truncated', code: 'truncated' }];
  const payload = reportPayload([perChannel, perTensor], failures);
  assert.deepEqual(payload.failures, failures);
  assert.equal(payload.reports.length, 2);
  for (const [k, r] of [perChannel, perTensor].entries()) {
    const sent = payload.reports[k];
    assert.equal(sent.file, r.file);
    assert.deepEqual(sent.skipped, r.skipped);
    assert.equal(sent.results.length, r.results.length);
    for (const [i, x] of r.results.entries()) {
      const y = sent.results[i];
      for (const key of ['name', 'verdict', 'scale_source', 'int_min', 'int_max', 'saturated_pos', 'fp32_artifacts', 'true_offgrid', 'max_deviation'])
        assert.deepEqual(y[key], (x as unknown as Record<string, unknown>)[key], key);
      assert.ok(!('code_histogram' in y) && !('deviation_histogram' in y), 'histograms are not sent');
      assert.deepEqual(y.worst, x.worst.slice(0, 3));
      if (Array.isArray(x.scale)) {
        assert.deepEqual(y.scale, { channels: x.scale.length, min: Math.min(...x.scale), max: Math.max(...x.scale) });
      } else {
        assert.equal(y.scale, x.scale);
      }
    }
  }
  assert.ok(
    perChannel.results.some((x) => Array.isArray(x.scale)) && perTensor.results.some((x) => typeof x.scale === 'number'),
    'both kinds of scale are covered',
  );
});
