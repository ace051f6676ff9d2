import { el, tag, table } from './components';
import { fmt } from './vscodeApi';

const pct = (x: number | null): string => (x === null || x === undefined ? '-' : `${(100 * x).toFixed(2)}%`);

/** Which rounding a kernel used: the verdict first, then every candidate's mismatch count. */
export function roundingView(app: HTMLElement, r: any): void {
  const decided = r.verdict !== 'undetermined' && r.verdict !== 'inconsistent';
  app.append(
    el('h2', {}, 'Rounding fingerprint ', tag(r.verdict, decided ? 'pass' : r.verdict === 'inconsistent' ? 'fail' : 'info')),
    el(
      'p',
      { class: 'paths' },
      `PRE: ${r.pre}${r.pre_tensor ? `#${r.pre_tensor}` : ''}`,
      el('br'),
      `POST: ${r.post}${r.post_tensor ? `#${r.post_tensor}` : ''}`,
    ),
    el(
      'p',
      { class: 'hint' },
      `${r.n} elements, ${r.ties} exact ties (x/s = k + ½); scale ${fmt(r.scale, 9)} from ${r.scale_source}; quotient formed as ` +
        (r.reciprocal === null ? 'x/s or x·fl32(1/s) (both fit)' : r.reciprocal ? 'x·fl32(1/s)' : 'x/s'),
    ),
  );
  if (r.advice) app.append(el('p', { class: 'guard warn', role: 'status' }, r.advice));
  app.append(
    table(
      ['rounding', 'quotient', 'consistent', 'mismatches'],
      r.candidates.map((c: any) => [c.mode, c.reciprocal ? 'x·fl32(1/s)' : 'x / s', c.consistent ? '✓' : '', c.mismatches]),
      'scroll',
    ),
  );
}

/** Two evaluation runs: the document guard first, then per task and metric the difference and its test. */
export function evalCompareView(app: HTMLElement, r: any): void {
  app.append(el('h2', {}, 'Compare evaluation runs'), el('p', { class: 'paths' }, `A: ${r.a}`, el('br'), `B: ${r.b}`));
  if (!r.valid) {
    app.append(el('div', { class: 'guard invalid', role: 'alert' }, el('strong', {}, 'INVALID COMPARISON: '), r.reason));
    return;
  }
  if (r.reason) app.append(el('p', { class: 'guard warn', role: 'status' }, r.reason));
  app.append(
    table(
      ['task', 'metric', 'A', 'B', 'B − A', '95% interval', 'test', 'p', 'A only / B only', 'significant'],
      r.tasks.map((t: any) => [
        t.task,
        t.metric,
        `${pct(t.a.value)} ± ${pct(t.a.stderr)}`,
        `${pct(t.b.value)} ± ${pct(t.b.stderr)}`,
        pct(t.diff),
        t.ci95 ? `[${pct(t.ci95[0])}, ${pct(t.ci95[1])}]` : '-',
        t.test === 'mcnemar' ? `McNemar (n = ${t.n})` : 'unpaired z',
        t.p_value === null ? '-' : t.p_value.toPrecision(3),
        t.a_only === null ? '-' : `${t.a_only} / ${t.b_only}`,
        t.significant ? 'yes' : 'no',
      ]),
      'scroll',
    ),
    el('ul', { class: 'notes' }, ...r.tasks.map((t: any) => el('li', {}, `${t.task} ${t.metric}: ${t.note}`))),
  );
}
