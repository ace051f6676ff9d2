// Lint rules, including the layer boundaries: formats → analysis → cli / view → extension.
// Nothing below src/extension imports `vscode` or the CLI; webview code talks to the host only through messages.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

const restrict = (...patterns) => ['error', { patterns }];
const noVscode = { group: ['vscode'], message: 'only src/extension may import vscode' };
const noCli = { group: ['**/cli', '**/cli/*', '**/cli/**'], message: 'the CLI is an edge like the extension: nothing below it imports it' };
const noExtension = { group: ['**/extension', '**/extension/*', '**/extension/**'], message: 'only the VS Code entry point imports the extension layer' };
const noView = { group: ['**/view', '**/view/*', '**/view/**'], message: 'view/ is host-side UI logic, above analysis' };
const noAnalysis = { group: ['**/analysis', '**/analysis/*', '**/analysis/**'], message: 'formats/ read files; analysis builds on them, not the other way' };

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', '.cache/**', 'native/**', 'test/fixtures/**', 'test/hostile/corpus/**', 'bench/data/**', '**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(noVscode, noCli, noExtension, noView, noAnalysis, {
        group: ['**/formats/**', '**/native/**'],
        message: 'core/ depends on nothing',
      }),
    },
  },
  {
    files: ['src/formats/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(noVscode, noCli, noExtension, noView, noAnalysis, { group: ['**/native/**'], message: 'readers are pure TypeScript' }),
    },
  },
  { files: ['src/native/**/*.ts', 'src/analysis/**/*.ts'], rules: { 'no-restricted-imports': restrict(noVscode, noCli, noExtension, noView) } },
  { files: ['src/view/**/*.ts'], rules: { 'no-restricted-imports': restrict(noVscode, noCli, noExtension) } },
  { files: ['src/cli/**/*.ts'], rules: { 'no-restricted-imports': restrict(noVscode, noExtension, noView) } },
  { files: ['src/extension/**/*.ts'], rules: { 'no-restricted-imports': restrict(noCli) } },
  {
    files: ['webview/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(noVscode, noCli, noExtension, noAnalysis, {
        group: ['**/formats/**', '**/native/**'],
        message: 'the webview runs in a browser: it gets data by messages',
      }),
    },
  },
  {
    files: ['webview/**/*.ts'],
    ignores: ['webview/components.ts'],
    rules: {
      'no-restricted-imports': restrict(
        noVscode,
        { group: ['@vscode/webview-ui-toolkit', '@vscode/webview-ui-toolkit/*'], message: 'the toolkit is used only through webview/components.ts' },
        {
          group: ['**/formats/**', '**/native/**', '**/analysis/**', '**/cli/**', '**/extension/**'],
          message: 'the webview runs in a browser: it gets data by messages',
        },
      ),
    },
  },
);
