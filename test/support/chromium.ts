/** Debian's Chromium as the UI tests, the end-to-end tests and the benchmarks launch it. */
import { chromium, Browser } from 'playwright-core';

/**
 * Headless, for a closed network: without the background-networking flags Chromium keeps dialling
 * out (and failing) at every start. `extra` adds a caller's own flags.
 */
export function launchChromium(extra: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...extra,
    ],
  });
}
