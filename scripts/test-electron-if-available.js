// Runs the @vscode/test-electron suite (test/vscode) when a VS Code build is at hand: VSCODE_EXECUTABLE,
// or one @vscode/test-electron downloaded earlier into .vscode-test/. These machines cannot download it,
// so here it says so and the code-server end-to-end tests (test/e2e) carry the real-VS-Code checks.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const cached = fs.existsSync(path.join(root, '.vscode-test')) && fs.readdirSync(path.join(root, '.vscode-test')).some((d) => d.startsWith('vscode-'));
if (!process.env.VSCODE_EXECUTABLE && !cached) {
  console.log('test-electron suite: no VS Code build available (set VSCODE_EXECUTABLE, or run `npm run test:vscode` where VS Code can be downloaded)');
  process.exit(0);
}
const r = spawnSync(process.execPath, [path.join(root, 'out', 'test', 'vscode', 'run.js')], { stdio: 'inherit' });
process.exit(r.status ?? 1);
