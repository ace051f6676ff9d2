/** Human-readable renderings of the CLI's JSON documents. */
import type { VerifyReport } from '../analysis/verifyFile';
import type { DiffReport } from '../analysis/diff';
import type { ModelReport } from '../analysis/verifyModel';

const g = (x: number | null | undefined, p = 6): string => (x === null || x === undefined ? '-' : Number.isInteger(x) ? String(x) : x.toPrecision(p));

export function formatVerify(r: VerifyReport): string {
  const lines = [r.file];
  for (const t of r.results) {
    const sc = Array.isArray(t.scale) ? `${t.scale.length} per-channel scales` : g(t.scale, 9);
    const sat = t.n ? ` (${g((100 * (t.saturated_pos + t.saturated_neg)) / t.n, 3)}%)` : '';
    const dq = t.dequant_min !== undefined ? `; dequantized [${g(t.dequant_min)}, ${g(t.dequant_max)}]` : '';
    if (t.scheme === 'fp8') {
      lines.push(`  ${t.verdict.toUpperCase()}  ${t.name || '<root>'}  ${t.dtype}  n=${t.n}  scale: ${t.scale_source}`);
      lines.push(
        `        codes [${g(t.code_min)}, ${g(t.code_max)}]; saturated at ±max +${t.saturated_pos} -${t.saturated_neg}${sat}; NaN ${t.nan}, Inf ${t.inf}${dq}`,
      );
    } else if (t.scheme === 'packed_int') {
      lines.push(
        `  ${t.verdict.toUpperCase()}  ${t.name || '<root>'}  ${t.bits}-bit ${t.format} in int32 [${t.packed_shape}] = [${t.logical_shape}]  scale: ${t.scale_source}`,
      );
      lines.push(
        `        codes [${g(t.int_min)}, ${g(t.int_max)}] of [${t.code_range?.join(', ')}]; at the ends +${t.saturated_pos} -${t.saturated_neg}${sat}${dq}; non-finite ${t.nan}`,
      );
    } else {
      lines.push(`  ${t.verdict.toUpperCase()}  ${t.name || '<root>'}  ${t.dtype}  n=${t.n}  scale=${sc} (${t.scale_source})`);
      lines.push(
        `        codes [${g(t.int_min)}, ${g(t.int_max)}] mean ${g(t.int_mean)} std ${g(t.int_std)}; saturated +${t.saturated_pos} -${t.saturated_neg}; out of range ${t.out_of_range}`,
      );
      lines.push(
        `        max deviation ${g(t.max_deviation)}; over ${t.tolerance}: ${t.offgrid_tolerance}; FP32 round-trip artifacts ${t.fp32_artifacts}; true off-grid ${t.true_offgrid}; NaN ${t.nan}, Inf ${t.inf}`,
      );
    }
    for (const reason of t.reasons) lines.push(`        ! ${reason}`);
  }
  for (const s of r.skipped) lines.push(`  skip  ${s.name || '<root>'}: ${s.reason}`);
  return `${lines.join('\n')}\n`;
}

export function formatDiff(r: DiffReport): string {
  const lines = [`${r.a}  vs  ${r.b}`];
  lines.push(r.valid ? (r.reason ? `  WARNING: ${r.reason}` : '  inputs match: the comparison is valid') : `  INVALID COMPARISON: ${r.reason}`);
  for (const p of r.pairs) {
    if (p.error) {
      lines.push(`  ${p.key}: ${p.error}`);
      continue;
    }
    if (p.same_as) {
      lines.push(`  ${p.key}: the same tensor as ${p.same_as}, same figures`);
      continue;
    }
    const grid =
      p.exact_pct !== null && p.exact_pct !== undefined
        ? `; codes equal ${g(p.exact_pct, 5)}%, max |Δq| ${g(p.max_abs_int)}, mean |Δq| ${g(p.mean_abs_int)}`
        : '';
    lines.push(
      `  ${p.is_input ? '[input] ' : ''}${p.key}: max |Δ| ${g(p.max_abs_diff)}, mean |Δ| ${g(p.mean_abs_diff)}, exact ${g(p.exact_match_pct, 5)}%${grid}, SQNR ${g(p.sqnr_db, 5)} dB, cos ${g(p.cosine, 8)}`,
    );
  }
  if (r.layers.length > 1) {
    lines.push('  per layer (outputs):');
    for (const l of r.layers) {
      const codes = l.exact_pct === null ? '' : `, codes equal ${g(l.exact_pct, 5)}%, max |Δq| ${g(l.max_abs_int)}`;
      lines.push(
        `  ${l.first_divergence ? '→' : ' '} ${l.layer}: SQNR ${g(l.sqnr_db, 5)} dB${codes}; inputs ${l.input_guard}${l.first_divergence ? '  ← first layer where the runs part' : ''}`,
      );
    }
  }
  if (r.only_in_a.length) lines.push(`  only in A: ${r.only_in_a.join(', ')}`);
  if (r.only_in_b.length) lines.push(`  only in B: ${r.only_in_b.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export function formatExplain(e: { steps: string[]; class: string }): string {
  return `${e.steps.map((s, i) => `${i + 1}. ${s}`).join('\n')}\nclass: ${e.class}\n`;
}

/** A model folder: one row per judged tensor, then what was not judged and why, then the summary. */
export function formatModel(m: ModelReport): string {
  const lines = [`${m.file}${m.quantization_config ? `  (config.json: ${JSON.stringify(m.quantization_config).slice(0, 120)})` : ''}`];
  const head = ['verdict', 'tensor', 'scheme', 'bits', 'granularity', 'scale source', 'max dev (LSB)', 'saturated %'];
  const rows = m.layers.map((l) => [
    l.verdict.toUpperCase(),
    `${l.file}:${l.tensor || '<root>'}`,
    l.scheme,
    String(l.bits),
    l.granularity,
    l.scale_source ?? '-',
    g(l.max_deviation_lsb, 3),
    l.saturation_pct.toFixed(2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmtRow = (r: string[]): string => `  ${r.map((c, i) => c.padEnd(widths[i])).join('  ')}`.trimEnd();
  lines.push(fmtRow(head), ...rows.map(fmtRow));
  for (const n of m.not_quantized) lines.push(`  skip  ${n.file}:${n.name || '<root>'}: ${n.reason}`);
  for (const e of m.errors) lines.push(`  unreadable  ${e.file}: ${e.message} [${e.code}]`);
  const s = m.summary;
  lines.push(
    `  ${s.files} files: ${s.judged} tensors judged, ${s.passed} pass, ${s.failed} fail; ${s.not_quantized} not quantized; ${s.skipped} skipped in all; ${s.unreadable} unreadable`,
  );
  return `${lines.join('\n')}\n`;
}
