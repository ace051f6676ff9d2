/**
 * A subset of VS Code's Dark Modern and Light Modern theme colours, as the workbench exposes them to
 * webviews (--vscode-* CSS variables), so the webview renders here as it does inside VS Code.
 */
export const THEMES: Record<'dark' | 'light', Record<string, string>> = {
  dark: {
    'font-family': 'system-ui, sans-serif',
    'font-size': '13px',
    'editor-font-family': 'monospace',
    foreground: '#cccccc',
    'editor-background': '#1f1f1f',
    'editorWidget-background': '#202020',
    'editorWidget-border': '#313131',
    descriptionForeground: '#9d9d9d',
    errorForeground: '#f85149',
    'charts-blue': '#3794ff',
    'charts-green': '#89d185',
    'charts-red': '#f14c4c',
    'charts-purple': '#b180d7',
    'list-hoverBackground': '#2a2d2e',
    'list-activeSelectionBackground': '#04395e',
    'list-activeSelectionForeground': '#ffffff',
    focusBorder: '#0078d4',
    'editorHoverWidget-background': '#202020',
    'editorHoverWidget-foreground': '#cccccc',
    'editorHoverWidget-border': '#454545',
    'inputValidation-errorBackground': '#5a1d1d',
    'inputValidation-errorBorder': '#be1100',
    'inputValidation-warningBackground': '#352a05',
    'inputValidation-warningBorder': '#b89500',
    'testing-iconPassed': '#73c991',
    'editorLineNumber-foreground': '#6e7681',
  },
  light: {
    'font-family': 'system-ui, sans-serif',
    'font-size': '13px',
    'editor-font-family': 'monospace',
    foreground: '#3b3b3b',
    'editor-background': '#ffffff',
    'editorWidget-background': '#f8f8f8',
    'editorWidget-border': '#e5e5e5',
    descriptionForeground: '#3b3b3b',
    errorForeground: '#f85149',
    'charts-blue': '#1a85ff',
    'charts-green': '#388a34',
    'charts-red': '#e51400',
    'charts-purple': '#652d90',
    'list-hoverBackground': '#f2f2f2',
    'list-activeSelectionBackground': '#e8e8e8',
    'list-activeSelectionForeground': '#000000',
    focusBorder: '#005fb8',
    'editorHoverWidget-background': '#f8f8f8',
    'editorHoverWidget-foreground': '#3b3b3b',
    'editorHoverWidget-border': '#c8c8c8',
    'inputValidation-errorBackground': '#f2dede',
    'inputValidation-errorBorder': '#be1100',
    'inputValidation-warningBackground': '#f6f5d2',
    'inputValidation-warningBorder': '#b89500',
    'testing-iconPassed': '#388a34',
    'editorLineNumber-foreground': '#6e7681',
  },
};

export function themeCss(theme: 'dark' | 'light'): string {
  return `body{${Object.entries(THEMES[theme])
    .map(([k, v]) => `--vscode-${k}:${v}`)
    .join(';')}}`;
}
