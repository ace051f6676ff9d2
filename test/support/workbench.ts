/**
 * A real VS Code for the end-to-end tests and the extension-host benchmark: code-server (installed by
 * scripts/install-code-server.sh) with this extension installed from its VSIX into a throwaway
 * extensions folder, and the explorer helpers both drive it with.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import * as http from 'http';
import { spawn, spawnSync, ChildProcess } from 'child_process';
import type { Locator, Page } from 'playwright-core';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const CODE_SERVER = path.join(ROOT, '.cache', 'code-server', 'node_modules', '.bin', 'code-server');
/** The extension as users install it: the platform VSIX that `npm run package` builds. */
export const VSIX = path.join(ROOT, 'quant-lens-linux-x64.vsix');
export const codeServerInstalled = fs.existsSync(CODE_SERVER) && fs.existsSync(path.join(ROOT, '.cache', 'code-server', '.complete'));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

async function waitHttp(u: string, ms: number): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    const ok = await new Promise<boolean>((r) =>
      http
        .get(u, (res) => {
          res.resume();
          r(true);
        })
        .on('error', () => r(false)),
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`code-server did not answer at ${u}`);
}

export interface CodeServer {
  url: string;
  process: ChildProcess;
  /** The installed copy of the extension (code-server writes its metadata there, never into the checkout). */
  extensionDir: string;
}

/**
 * Installs the VSIX into `tmp`/extensions and starts code-server on a free port with `workspace`
 * open and `settings` as the user's settings (telemetry, updates and tips off besides).
 */
export async function startCodeServer(tmp: string, workspace: string, settings: Record<string, unknown> = {}): Promise<CodeServer> {
  if (!fs.existsSync(VSIX)) throw new Error(`${VSIX} is missing: run npm run package (npm test builds it)`);
  const ext = path.join(tmp, 'extensions');
  fs.mkdirSync(ext);
  const install = spawnSync(CODE_SERVER, ['--extensions-dir', ext, '--install-extension', VSIX], { encoding: 'utf8', timeout: 120000 });
  if (install.status !== 0) throw new Error(`code-server --install-extension failed: ${install.stdout}${install.stderr}`);
  const installedDirs = fs.readdirSync(ext).filter((d) => d.startsWith('quant-lens.quant-lens-'));
  if (installedDirs.length !== 1) throw new Error(`one installed copy of the extension expected, found ${fs.readdirSync(ext)}`);
  const extensionDir = path.join(ext, installedDirs[0]);
  const user = path.join(tmp, 'user-data', 'User');
  fs.mkdirSync(user, { recursive: true });
  fs.writeFileSync(
    path.join(user, 'settings.json'),
    JSON.stringify({
      'workbench.startupEditor': 'none',
      'workbench.colorTheme': 'Default Dark Modern',
      'telemetry.telemetryLevel': 'off',
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'git.enabled': false,
      'workbench.tips.enabled': false,
      ...settings,
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = spawn(
    CODE_SERVER,
    [
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--extensions-dir',
      ext,
      '--user-data-dir',
      path.join(tmp, 'user-data'),
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      workspace,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  server.stdout!.on('data', () => undefined);
  server.stderr!.on('data', () => undefined);
  await waitHttp(url, 60000);
  return { url, process: server, extensionDir };
}

/** An explorer row by its label. */
export const explorerRow = (p: Page, label: string) => p.locator(`.explorer-folders-view .monaco-list-row[aria-label="${label}"]`).first();

/**
 * Right-clicks an explorer row until its context menu offers `item`, and returns that entry with the menu
 * open. Until the extension host has registered the extension's contributions the menu lacks them, so
 * each miss closes the menu, calls `missed` and tries again; after `ms` it fails, naming what the menu showed.
 */
async function menuOffering(p: Page, label: string, item: string, ms: number, missed: () => void, failureShot?: string): Promise<Locator> {
  for (const t0 = Date.now(); ; await p.waitForTimeout(1000)) {
    await explorerRow(p, label).click({ button: 'right' });
    const entry = p.locator('.monaco-menu .action-label', { hasText: item });
    if (
      await entry.waitFor({ timeout: 3000 }).then(
        () => true,
        () => false,
      )
    )
      return entry;
    const shown = await p
      .locator('.monaco-menu')
      .allInnerTexts()
      .catch(() => []);
    await p.keyboard.press('Escape');
    if (Date.now() - t0 > ms) {
      if (failureShot) await p.screenshot({ path: failureShot });
      throw new Error(`the explorer menu of ${label} never offered ${item}: the extension's contributions are not registered; menu showed: ${shown}`);
    }
    missed();
  }
}

/**
 * Waits until the workbench has registered the extension's contributions, seen as the explorer context
 * menu of `label` offering `item` (the menu is closed again). Until then VS Code opens a file with its
 * own editors: a dump clicked in the first seconds after the window loads opens as text. A wait, not a
 * retry: the misses are not logged.
 */
export async function contributionsRegistered(p: Page, label: string, item: string, ms = 90000): Promise<void> {
  await menuOffering(p, label, item, ms, () => undefined);
  await p.keyboard.press('Escape');
}

/**
 * Right-clicks an explorer row and picks `item`, retrying while the extension host is still
 * registering contributions; a failure leaves a screenshot at `failureShot`. Resolves to the time
 * (Date.now()) of the click or key press that ran the item, so a benchmark times from there.
 */
export async function contextMenu(p: Page, label: string, item: string, failureShot: string, ms = 90000): Promise<number> {
  const entry = await menuOffering(
    p,
    label,
    item,
    ms,
    () => console.log(`# context menu of ${label}: ${item} not offered yet, opened again`), // counted by the consecutive-runs check
    failureShot,
  );
  await entry.click();
  let ran = Date.now();
  // The click highlights the item; when the menu also stays open (seen with an item just below the
  // pointer's right-click position), Enter runs the highlighted item.
  const menu = p.locator('.monaco-menu');
  if (
    !(await menu.waitFor({ state: 'hidden', timeout: 2000 }).then(
      () => true,
      () => false,
    ))
  ) {
    await p.keyboard.press('Enter');
    ran = Date.now();
    await menu.waitFor({ state: 'hidden', timeout: 5000 });
  }
  return ran;
}
