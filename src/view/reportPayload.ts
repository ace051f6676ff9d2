/**
 * What the INT8 grid report webview is sent: every judged tensor's figures, without what the table
 * does not show. A checkpoint with a scale per row carries thousands of scales per weight (16 MB of
 * JSON for a 20 GB model); the report shows a per-channel scale as its count and range instead.
 */
import { VerifyReport } from '../analysis/verifyFile';

/** A per-channel scale as the report shows it. */
export interface ScaleSummary {
  channels: number;
  min: number;
  max: number;
}

export interface ReportPayload {
  reports: { file: string; results: Record<string, unknown>[]; skipped: VerifyReport['skipped'] }[];
  failures: { file: string; error: string; code: string }[];
}

export function summarizeScale(scale: number | number[] | null): number | ScaleSummary | null {
  if (!Array.isArray(scale)) return scale;
  let min = Infinity,
    max = -Infinity;
  for (const s of scale) {
    if (s < min) min = s;
    if (s > max) max = s;
  }
  return { channels: scale.length, min, max };
}

export function reportPayload(reports: VerifyReport[], failures: ReportPayload['failures']): ReportPayload {
  return {
    reports: reports.map((r) => ({
      file: r.file,
      results: r.results.map(({ worst, code_histogram: _codes, deviation_histogram: _devs, scale, ...rest }) => ({
        ...rest,
        scale: summarizeScale(scale),
        worst: worst.slice(0, 3),
      })),
      skipped: r.skipped,
    })),
    failures,
  };
}
