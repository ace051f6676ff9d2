import * as path from 'path';
import * as fs from 'fs';

/** The repository root, found from wherever the compiled test runs (out/test/...). */
export const REPO_ROOT = ((): string => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = up;
  }
  return dir;
})();

/** The repo's own copy of the real PyTorch fixtures (copied from ../shared/fixtures so the repo stands alone). */
export const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');
export const TORCH_VERSIONS = ['torch-2.11', 'torch-1.13'];

export function expected(version: string): any {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, version, 'expected.json'), 'utf8'));
}

export function fixture(version: string, rel: string): string {
  return path.join(FIXTURES, version, rel);
}

/** Relative closeness for float sums computed in different orders. */
export function close(actual: number, want: number, rel = 1e-9, abs = 1e-12): boolean {
  return Math.abs(actual - want) <= Math.max(abs, rel * Math.abs(want));
}

/**
 * Where UI tests save their screenshots: out/screenshots, so a test run never writes into the
 * checkout; `npm run screenshots` points it at docs/screenshots to refresh the README's pictures.
 */
export function screenshotDir(): string {
  return process.env.QL_SCREENSHOTS_DIR ? path.resolve(process.env.QL_SCREENSHOTS_DIR) : path.join(REPO_ROOT, 'out', 'screenshots');
}
