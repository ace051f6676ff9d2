/**
 * Runs test/vscode/suite.ts inside a real VS Code with @vscode/test-electron. It downloads VS Code,
 * so it runs where that is possible (`npm run test:vscode`); set VSCODE_EXECUTABLE to use a local build.
 */
import * as path from 'path';
import { runTests } from '@vscode/test-electron';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..', '..');
  await runTests({
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(__dirname, 'suite'),
    vscodeExecutablePath: process.env.VSCODE_EXECUTABLE,
    launchArgs: [path.join(root, 'test', 'fixtures'), '--disable-extensions', '--disable-workspace-trust'],
  });
}

main().catch((err) => {
  console.error(`extension-host tests failed: ${(err as Error).message}`);
  process.exit(1);
});
