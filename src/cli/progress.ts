/** A progress line on stderr for long work, drawn only on a terminal and never into --json output. */
import { Io } from './options';

export type ProgressSink = (done: number, total: number, label: string) => void;

export interface ProgressLine {
  update: ProgressSink;
  /** Clears the line so the command's own output starts on a clean line. */
  end(): void;
}

const REDRAW_MS = 100;

export function progressLine(io: Io, enabled: boolean): ProgressLine {
  if (!enabled || !io.stderrIsTty) return { update: () => undefined, end: () => undefined };
  let last = 0;
  let drawn = false;
  return {
    update(done, total, label) {
      const now = Date.now();
      if (now - last < REDRAW_MS && done < total) return;
      last = now;
      const pct = total > 0 ? ((100 * done) / total).toFixed(0) : '0';
      io.stderr(`\r\u001b[2K${pct.padStart(3)}% ${done}/${total} ${label}`.slice(0, 200));
      drawn = true;
    },
    end() {
      if (drawn) io.stderr('\r\u001b[2K');
    },
  };
}
