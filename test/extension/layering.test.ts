import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { ESLint } from 'eslint';
import { REPO_ROOT } from '../support/fixtures';

/** The layer boundaries are lint rules: each forbidden import below must be reported, each allowed one not. */
const CASES: [file: string, source: string, forbidden: boolean][] = [
  ['src/formats/probe.ts', "import * as vscode from 'vscode';", true],
  ['src/analysis/probe.ts', "import * as vscode from 'vscode';", true],
  ['src/view/probe.ts', "import * as vscode from 'vscode';", true],
  ['src/analysis/probe.ts', "import { runCli } from '../cli/cli';", true],
  ['src/view/probe.ts', "import { verifyCommand } from '../cli/commands/verify';", true],
  ['src/extension/probe.ts', "import { runCli } from '../cli/cli';", true],
  ['src/formats/probe.ts', "import { verifyFile } from '../analysis/verifyFile';", true],
  ['src/core/probe.ts', "import { openDump } from '../formats/open';", true],
  ['webview/probe.ts', "import { provideVSCodeDesignSystem } from '@vscode/webview-ui-toolkit';", true],
  ['webview/probe.ts', "import { openDump } from '../src/formats/open';", true],
  ['src/extension/probe.ts', "import * as vscode from 'vscode';", false],
  ['src/analysis/probe.ts', "import { openDump } from '../formats/open';", false],
  ['src/cli/probe.ts', "import { verifyFile } from '../analysis/verifyFile';", false],
  ['webview/probe.ts', "import type { ToView } from '../src/view/protocol';", false],
];

test('the import rules report every layer violation and nothing else', async () => {
  const eslint = new ESLint({ cwd: REPO_ROOT });
  for (const [file, source, forbidden] of CASES) {
    const [result] = await eslint.lintText(
      `${source}\nexport const used = [${source
        .match(/\{ (?:type )?(\w+)|\* as (\w+)/)!
        .slice(1)
        .find(Boolean)}];\n`,
      {
        filePath: path.join(REPO_ROOT, file),
      },
    );
    const hits = result.messages.filter((m) => m.ruleId === 'no-restricted-imports');
    assert.equal(hits.length > 0, forbidden, `${file}: ${source} -> ${JSON.stringify(result.messages.map((m) => m.message))}`);
  }
});
