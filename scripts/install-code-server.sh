#!/usr/bin/env bash
# Installs code-server (a full VS Code, from the npm registry) into .cache/code-server for the
# end-to-end tests, on a machine that reaches only the npm registry and Debian's packages.
# code-server's own install reaches GitHub three times; each is replaced by its registry or Debian twin:
#  - @vscode/proxy-agent is pinned to a GitHub commit: the registry tarball of that version has the same integrity hash;
#  - @vscode/ripgrep downloads rg from GitHub: it is repacked with Debian's ripgrep binary in bin/ (its postinstall then skips);
#  - argon2's prebuilt binary comes from GitHub: it is built from source.
set -euo pipefail
VERSION=4.96.4   # the newest code-server whose Node requirement (20) matches this machine's Node
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/.cache/code-server"
if [ -x "$DEST/node_modules/.bin/code-server" ] && [ -f "$DEST/.complete" ]; then echo "code-server $VERSION already installed"; exit 0; fi
if [ "$(id -u)" = 0 ]; then
  apt-get install -y --no-install-recommends ripgrep libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config >/dev/null
fi
rm -rf "$DEST" && mkdir -p "$DEST" && cd "$DEST"
echo '{"private":true}' > package.json
npm install --no-audit --no-fund --ignore-scripts "code-server@$VERSION" >/dev/null
npm rebuild argon2 --build-from-source >/dev/null
RG="$DEST/ripgrep"
mkdir -p "$RG" && (cd "$RG" && npm pack @vscode/ripgrep@1.15.9 >/dev/null && tar xzf vscode-ripgrep-1.15.9.tgz && mkdir -p package/bin && cp "$(command -v rg)" package/bin/rg && tar czf ripgrep-with-bin.tgz package)
cd node_modules/code-server
python3 - "$RG/ripgrep-with-bin.tgz" <<'PY'
import json, sys
p = 'lib/vscode/npm-shrinkwrap.json'
d = json.load(open(p))
pkgs = d['packages']
proxy = pkgs['node_modules/@vscode/proxy-agent']
if proxy['resolved'].startswith('git+'):
    proxy['resolved'] = 'https://registry.npmjs.org/@vscode/proxy-agent/-/proxy-agent-%s.tgz' % proxy['version']
rg = pkgs['node_modules/@vscode/ripgrep']
rg['resolved'] = 'file:' + sys.argv[1]
rg.pop('integrity', None)
json.dump(d, open(p, 'w'), indent=2)
PY
npm_config_unsafe_perm=true npm_config_user_agent="npm/$(npm --version) node/$(node --version) linux x64" sh postinstall.sh >/dev/null
touch "$DEST/.complete"
echo "code-server $VERSION installed in $DEST"
