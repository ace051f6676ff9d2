/**
 * The only module that knows about @vscode/webview-ui-toolkit (its upstream is archived): views
 * build UI through these helpers, so swapping the toolkit touches this file alone.
 */
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeDivider, vsCodeTag, vsCodeProgressRing } from '@vscode/webview-ui-toolkit';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeDivider(), vsCodeTag(), vsCodeProgressRing());

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

export function button(label: string, onClick: () => void, appearance: 'primary' | 'secondary' = 'secondary'): HTMLElement {
  const b = document.createElement('vscode-button');
  b.setAttribute('appearance', appearance);
  b.textContent = label;
  b.addEventListener('click', onClick);
  return b;
}

export function tag(text: string, kind: 'pass' | 'fail' | 'info' = 'info'): HTMLElement {
  const t = document.createElement('vscode-tag');
  t.textContent = text;
  t.className = `tag-${kind}`;
  return t;
}

export function divider(): HTMLElement {
  return document.createElement('vscode-divider');
}
export function spinner(): HTMLElement {
  return document.createElement('vscode-progress-ring');
}

/** Shows `lines` in a fixed-position tooltip next to the pointer at (x, y). */
export function showTooltip(tooltip: HTMLElement, lines: string[], x: number, y: number): void {
  tooltip.replaceChildren(...lines.map((l) => el('div', {}, l)));
  tooltip.hidden = false;
  tooltip.style.left = `${x + 14}px`;
  tooltip.style.top = `${y + 14}px`;
}

/** A plain, keyboard-navigable table (the toolkit's data grid is heavy for thousands of rows). */
export function table(headers: string[], rows: (string | number | null | undefined)[][], cls = ''): HTMLTableElement {
  const t = el('table', { class: `grid ${cls}` });
  t.append(el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', { scope: 'col' }, h)))));
  const body = el('tbody');
  for (const r of rows) body.append(el('tr', { tabindex: '0' }, ...r.map((c) => el('td', {}, c === null || c === undefined ? '–' : String(c)))));
  t.append(body);
  return t;
}

/** Runs `action` on a click and on Enter or Space while `target` has focus (rows and list items that act as buttons). */
export function onActivate(target: HTMLElement, action: () => void): void {
  target.addEventListener('click', action);
  target.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      action();
      e.preventDefault();
    }
  });
}

/** A table whose body rows act as buttons: activating row k runs `pick(k)`; `title` says what it does. */
export function selectableTable(
  headers: string[],
  rows: (string | number | null | undefined)[][],
  cls: string,
  pick: (row: number) => void,
  title: string,
): HTMLTableElement {
  const t = table(headers, rows, cls);
  t.querySelectorAll('tbody tr').forEach((tr, k) => {
    tr.classList.add('selectable');
    tr.setAttribute('title', title);
    onActivate(tr as HTMLElement, () => pick(k));
  });
  return t;
}

/** A colour legend: one swatch (a CSS class of .swatch) before each label, then a closing hint. */
export function legend(items: [swatchClass: string, label: string][], hint: string): HTMLElement {
  return el('p', { class: 'legend' }, ...items.flatMap(([cls, label]) => [el('span', { class: `swatch ${cls}` }), `${label} `]), hint);
}

/** The colour of a VS Code theme variable, or `fallback` where the theme does not set it. */
export type ThemeColour = (name: string, fallback: string) => string;

/**
 * Runs `repaint` whenever VS Code switches the theme (it swaps the body's class) while `target` is in the
 * page, and stops listening once it has left it: views append what they build in the task that built
 * it, so by the next frame it is in the page or never will be.
 */
export function onThemeChange(target: Element, repaint: () => void): void {
  let shown = false;
  const theme = new MutationObserver(() => {
    if (target.isConnected) {
      shown = true;
      repaint();
    } else if (shown) theme.disconnect();
  });
  theme.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  requestAnimationFrame(() => {
    shown ||= target.isConnected;
    if (!shown) theme.disconnect();
  });
}

/**
 * A canvas that `draw` paints now and again whenever VS Code switches the theme (it swaps the body's
 * class), so charts never keep the old theme's colours; it stops listening once it has left the page.
 * `repaint` draws again (data that arrived later).
 */
export function themedCanvas(
  width: number,
  height: number,
  label: string,
  draw: (ctx: CanvasRenderingContext2D, colour: ThemeColour) => void,
): HTMLCanvasElement & { repaint(): void } {
  const canvas = el('canvas', { role: 'img', 'aria-label': label }) as HTMLCanvasElement & { repaint(): void };
  canvas.width = width;
  canvas.height = height;
  canvas.repaint = () => {
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    const css = getComputedStyle(document.body);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    draw(ctx, (name, fallback) => css.getPropertyValue(name).trim() || fallback);
  };
  onThemeChange(canvas, () => canvas.repaint());
  canvas.repaint();
  return canvas;
}
