import { openDump } from '../formats/open';
import { DumpFile } from '../formats/dump';
import { numelOf } from '../formats/tensor';
import { judgeTensor, planGridCheck } from './gridPlan';
import { VerifyResult, VerifyOptions } from './verify';
import { FormatError } from '../core/errors';

export interface VerifyFileOptions extends VerifyOptions {
  tensor?: string;
  scale?: number;
  /** Progress over the file's elements: (verified so far, total, tensor being verified). */
  onProgress?: (done: number, total: number, tensor: string) => void;
}
export interface VerifyReport {
  file: string;
  results: VerifyResult[];
  skipped: { name: string; reason: string }[];
  /** Tensors with no evidence of being quantized (also listed in skipped): never judged, never failed. */
  not_quantized: { name: string; dtype: string; reason: string }[];
}

/**
 * Verifies the quantized tensors of one file, each against the scale its evidence gives (gridPlan.ts).
 * Without --tensor, int32/int64 tensors (biases, indices), 0-d tensors, quantization parameters and
 * tensors with no evidence of being quantized are skipped and listed; a named tensor is judged
 * whenever there is a scale or codes to judge it by.
 */
export async function verifyFile(file: string, opts: VerifyFileOptions = {}): Promise<VerifyReport> {
  const dump = openDump(file);
  try {
    return await verifyDump(file, dump, opts);
  } finally {
    dump.close();
  }
}

/** verifyFile over an opened dump (one file, or the tensors of several shards seen as one model). */
export async function verifyDump(file: string, dump: DumpFile, opts: VerifyFileOptions = {}): Promise<VerifyReport> {
  const results: VerifyResult[] = [];
  const skipped: { name: string; reason: string }[] = [];
  let targets = dump.tensors;
  if (opts.tensor !== undefined) {
    targets = dump.tensors.filter((t) => t.name === opts.tensor);
    if (!targets.length)
      throw new FormatError(
        'tensor-not-found',
        `no tensor named ${JSON.stringify(opts.tensor)} (have ${dump.tensors.map((t) => JSON.stringify(t.name)).join(', ')})`,
        file,
      );
  }
  const total = targets.reduce((n, t) => n + numelOf(t.shape), 0);
  let done = 0;
  const notQuantized: VerifyReport['not_quantized'] = [];
  const planOf = (t: (typeof targets)[number]): ReturnType<typeof planGridCheck> => {
    const plan = planGridCheck(file, dump, t, { explicitScale: opts.scale, named: opts.tensor !== undefined });
    plan.catch(() => undefined); // awaited in its turn, which rethrows; unobserved until then, not unhandled
    return plan;
  };
  // The next tensor's plan (its header checks and scale reads, on this thread) is made while the
  // addon's threads verify the current one: on a checkpoint of many tensors those gaps added up.
  let nextPlan = targets.length ? planOf(targets[0]) : undefined;
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i];
    const plan = await nextPlan!;
    nextPlan = i + 1 < targets.length ? planOf(targets[i + 1]) : undefined;
    if (!plan.judge) {
      if (opts.tensor !== undefined && plan.notQuantized) {
        throw new FormatError('scale-not-found', `${JSON.stringify(t.name)} is ${plan.reason}: pass --scale to judge it against a grid`, file);
      }
      skipped.push({ name: t.name, reason: plan.reason });
      if (plan.notQuantized) notQuantized.push({ name: t.name, dtype: t.dtype, reason: plan.reason });
      continue;
    }
    const onElements = (count: number): void => {
      done += count;
      opts.onProgress?.(done, total, t.name || '<root>');
    };
    results.push(await judgeTensor(t, plan, { ...opts, onElements }));
  }
  return { file, results, skipped, not_quantized: notQuantized };
}
