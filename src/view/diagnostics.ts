/** Verification results as problems on the dump file: pure data, turned into vscode.Diagnostic at the edge. */
import type { VerifyReport } from '../analysis/verifyFile';

export type Severity = 'error' | 'warning' | 'information';
export interface Problem {
  severity: Severity;
  message: string;
  tensor: string;
  code: string;
}

export function problemsOf(report: VerifyReport): Problem[] {
  const out: Problem[] = [];
  for (const r of report.results) {
    const name = r.name || '<root>';
    if (r.scheme) {
      // FP8 and packed integers are judged by their own rules; each failed rule is one problem.
      for (const reason of r.reasons)
        out.push({ severity: 'error', tensor: r.name, code: r.scheme === 'fp8' ? 'fp8' : 'packed-int', message: `${name}: ${reason}` });
      if (r.saturated_pos || r.saturated_neg) {
        const where = r.scheme === 'fp8' ? `at ±${r.dtype} max` : `at the ends of the ${r.bits}-bit range`;
        out.push({
          severity: 'warning',
          tensor: r.name,
          code: 'saturation',
          message: `${name}: ${r.saturated_pos} + ${r.saturated_neg} codes ${where} (scale from ${r.scale_source})`,
        });
      }
      continue;
    }
    if (r.true_offgrid)
      out.push({
        severity: 'error',
        tensor: r.name,
        code: 'off-grid',
        message: `${name}: ${r.true_offgrid} of ${r.n} values are off the INT8 grid (not fl32(q·s) for any integer q; scale ${fmtScale(r.scale)} from ${r.scale_source}; largest |x/s − q| over all elements ${r.max_deviation.toExponential(3)})`,
      });
    if (r.out_of_range)
      out.push({
        severity: 'error',
        tensor: r.name,
        code: 'out-of-range',
        message: `${name}: ${r.out_of_range} codes outside [${r.code_histogram_min}, ${r.code_histogram_min + r.code_histogram.length - 1}]`,
      });
    if (r.nan || r.inf) out.push({ severity: 'error', tensor: r.name, code: 'non-finite', message: `${name}: ${r.nan} NaN and ${r.inf} Inf values` });
    if (r.saturated_pos || r.saturated_neg)
      out.push({
        severity: 'warning',
        tensor: r.name,
        code: 'saturation',
        message: `${name}: ${r.saturated_pos} codes saturated at the top and ${r.saturated_neg} at the bottom of the range`,
      });
    if (r.scale_source === 'inferred')
      out.push({
        severity: 'warning',
        tensor: r.name,
        code: 'inferred-scale',
        message: `${name}: scale ${fmtScale(r.scale)} was inferred from the data (confidence ${((r.scale_confidence ?? 0) * 100).toFixed(1)}%); give it explicitly or dump it next to the tensor`,
      });
    if (r.fp32_artifacts)
      out.push({
        severity: 'information',
        tensor: r.name,
        code: 'fp32-artifact',
        message: `${name}: ${r.fp32_artifacts} values are FP32 round-trip artifacts: each equals fl32(q·s) exactly, so its nonzero |x/s − q| comes from FP32 rounding alone; not quantization errors`,
      });
  }
  for (const nq of report.not_quantized ?? [])
    out.push({ severity: 'information', tensor: nq.name, code: 'not-quantized', message: `${nq.name || '<root>'}: ${nq.reason}; not judged` });
  return out;
}

function fmtScale(s: number | number[] | null): string {
  if (Array.isArray(s)) return `${s.length} per-channel scales`;
  return s === null ? 'none' : String(s);
}
