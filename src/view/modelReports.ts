/** A model folder's verification, as the explorer shows it: one report per file, so each shard has its own Problems and badge. */
import * as fs from 'fs';
import * as path from 'path';
import type { ModelReport } from '../analysis/verifyModel';
import type { VerifyReport } from '../analysis/verifyFile';

/** A folder holding a sharded checkpoint (`*.safetensors.index.json`): verified as one model. */
export const isShardedModel = (dir: string): boolean => fs.readdirSync(dir).some((n) => n.endsWith('.safetensors.index.json'));

export /** A model report split back into one report per file (absolute paths), each shard with the tensors it holds. */
function perShardReports(dir: string, m: ModelReport): VerifyReport[] {
  const byFile = new Map<string, VerifyReport>();
  const reportOf = (rel: string): VerifyReport => {
    const file = path.join(dir, rel);
    if (!byFile.has(file)) byFile.set(file, { file, results: [], skipped: [], not_quantized: [] });
    return byFile.get(file)!;
  };
  for (const f of m.files) for (const rel of f.shards ?? [f.file]) reportOf(rel);
  for (const { file, shard, ...r } of m.results) reportOf(shard ?? file).results.push(r);
  for (const { file, shard, ...s } of m.skipped) reportOf(shard ?? file).skipped.push(s);
  for (const { file, shard, ...n } of m.not_quantized) reportOf(shard ?? file).not_quantized.push(n);
  return [...byFile.values()];
}
