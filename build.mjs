// Bundles the CLI, the extension host code and the webview with esbuild.
import * as esbuild from 'esbuild';
import { chmodSync, mkdirSync } from 'fs';

const node = { bundle: true, sourcemap: true, logLevel: 'warning', target: 'node20', platform: 'node', format: 'cjs' };
mkdirSync('dist', { recursive: true });
await Promise.all([
  esbuild.build({ ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js' }),
  // vscode is provided by the host at run time.
  esbuild.build({ ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] }),
  esbuild.build({
    bundle: true,
    sourcemap: true,
    logLevel: 'warning',
    target: 'es2022',
    platform: 'browser',
    format: 'iife',
    entryPoints: ['webview/main.ts'],
    outfile: 'dist/webview.js',
  }),
]);
chmodSync('dist/cli.js', 0o755);
