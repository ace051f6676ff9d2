import { el, legend, tag, table, themedCanvas } from './components';
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

/** Theme chart colours, one per factor, in a fixed order. */
const FACTOR_COLOURS = [
  '--vscode-charts-blue',
  '--vscode-charts-orange',
  '--vscode-charts-green',
  '--vscode-charts-purple',
  '--vscode-charts-red',
  '--vscode-charts-yellow',
];
const FALLBACK = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700'];
const colourOf = (i: number): string =>
  getComputedStyle(document.body)
    .getPropertyValue(FACTOR_COLOURS[i % 6])
    .trim() || FALLBACK[i % 6];

/** One horizontal bar per factor for a Shapley value, scaled to the largest magnitude. */
function shapleyBars(r: any, key: 'shapley_codes' | 'shapley_energy', unit: (v: number) => string): HTMLElement {
  const max = Math.max(1e-300, ...r.factors.map((f: any) => Math.abs(f[key])));
  return el(
    'div',
    { class: 'bars', role: 'list' },
    ...r.factors.map((f: any, i: number) => {
      const width = `${((100 * Math.abs(f[key])) / max).toFixed(1)}%`;
      const bar = el('span', { class: `bar${f[key] < 0 ? ' negative' : ''}`, style: `width:${width};background:${colourOf(i)}` });
      return el(
        'div',
        { class: 'bar-row', role: 'listitem', title: f.description },
        el('span', { class: 'bar-label' }, f.name),
        el('span', { class: 'bar-track' }, bar),
        el('span', { class: 'bar-value' }, unit(f[key])),
        f.no_effect ? tag('no effect', 'pass') : el('span'),
      );
    }),
  );
}

/** Per channel: the Shapley share of differing codes, stacked by factor (positive shares up, negative down). */
function channelPlot(r: any, width = 720, height = 160): HTMLElement {
  const channels = r.factors[0]?.channel_codes.length ?? 0;
  const fig = el('figure', { class: 'histogram' });
  let top = 1e-9;
  for (let c = 0; c < channels; c++) {
    let up = 0;
    for (const f of r.factors) up += Math.max(0, f.channel_codes[c]);
    top = Math.max(top, up);
  }
  const canvas = themedCanvas(width, height, 'differing output codes per channel, by factor', (ctx, colour) => {
    if (!channels) return;
    const bw = width / channels;
    const mid = height - 12;
    for (let c = 0; c < channels; c++) {
      let y = mid;
      r.factors.forEach((f: any, i: number) => {
        const v = f.channel_codes[c];
        if (v <= 0) return;
        const h = (v / top) * (mid - 4);
        ctx.fillStyle = colourOf(i);
        ctx.fillRect(c * bw, y - h, Math.max(1, bw - 0.2), h);
        y -= h;
      });
    }
    ctx.fillStyle = colour('--vscode-foreground', '#ccc');
    ctx.font = '10px sans-serif';
    ctx.fillText('0', 0, height - 1);
    const last = String(channels - 1);
    ctx.fillText(last, width - ctx.measureText(last).width, height - 1);
  });
  fig.append(canvas, el('figcaption', {}, `differing outputs per channel (${channels} channels), stacked by factor; peak ${fmt(top, 3)}`));
  return fig;
}

/** Which switch between two modes explains the output difference: totals, Shapley bars for codes and error energy, a channel plot. */
export function attributionView(app: HTMLElement, r: any): void {
  const total = r.total;
  const rounding = r.from === 'baseline' || r.to === 'baseline' ? ` (Baseline rounding ${r.rounding})` : '';
  app.append(
    el('h2', {}, `Mode difference (${r.layer}): ${r.from} → ${r.to}${rounding}`),
    el('p', { class: 'paths' }, `params: ${r.params}`, el('br'), `input: ${r.input}`),
    el(
      'p',
      { class: 'hint' },
      `${total.codes_differ} of ${total.n} output ${r.counted === 'codes' ? 'codes' : 'values'} differ${total.max_abs_int === null ? '' : ` (max |Δq| ${total.max_abs_int})`}; error energy against the FP32 reference changes by ${fmt(total.energy, 4)}. ` +
        `Each factor's Shapley value is its average effect over every order of switching (${r.combinations.length} combinations evaluated); the values add up to the total.`,
    ),
  );
  if (total.codes_differ === 0 && r.factors.every((f: any) => f.no_effect))
    app.append(el('p', { class: 'guard ok', role: 'status' }, 'The two modes give identical outputs for this layer and input: no factor changes any output.'));
  const share = (v: number): string => (total.codes_differ ? `${fmt(v, 4)} (${((100 * v) / total.codes_differ).toFixed(1)}%)` : fmt(v, 4));
  app.append(
    el('h3', {}, r.counted === 'codes' ? 'Output codes that differ' : 'Output values that differ'),
    shapleyBars(r, 'shapley_codes', share),
    el('h3', {}, 'Change in error energy vs the FP32 reference'),
    shapleyBars(r, 'shapley_energy', (v) => fmt(v, 4)),
    legend(
      r.factors.map((f: any, i: number) => [`factor-${i % 6}`, f.name] as [string, string]),
      '',
    ),
    el('p', { class: 'hint' }, 'A factor marked “no effect” changes no output in any combination: it cannot explain the difference.'),
    channelPlot(r),
    table(
      ['factor', 'what it switches', 'codes (Shapley)', 'energy (Shapley)', 'alone', 'no effect'],
      r.factors.map((f: any) => [f.name, f.description, fmt(f.shapley_codes, 6), fmt(f.shapley_energy, 4), f.alone_codes, f.no_effect ? 'yes' : '']),
      'scroll',
    ),
  );
}
