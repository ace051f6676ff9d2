/** Which files are tensor dumps, and the dumps under a folder: the one definition every layer uses. */
import * as fs from 'fs';
import * as path from 'path';
import { FormatError } from '../core/errors';

/** File extensions of the dumps Quant Lens reads (torch `.bin` included; content decides the format). */
export const DUMP_EXTENSIONS: readonly string[] = ['pt', 'pth', 'bin', 'safetensors', 'npy', 'npz'];

const DUMP_NAME = new RegExp(`\\.(${DUMP_EXTENSIONS.join('|')})$`, 'i');

/** A glob for VS Code's file APIs matching every dump. */
export const DUMP_GLOB = `**/*.{${DUMP_EXTENSIONS.join(',')}}`;

export const isDumpFileName = (name: string): boolean => DUMP_NAME.test(name);

/** `layer23_conv1d_input.pt` → `layer23_conv1d_input`. */
export const dumpStem = (file: string): string => path.basename(file).replace(DUMP_NAME, '');

const MAX_FILES = 100_000;
const MAX_DEPTH = 16;

/** Dump files under `root`, relative paths, sorted; bounded in count and depth. */
export function listDumpFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (depth > MAX_DEPTH) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((x, y) => x.name.localeCompare(y.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.isFile() && isDumpFileName(e.name)) {
        out.push(path.relative(root, p));
        if (out.length > MAX_FILES) throw new FormatError('limit-exceeded', `more than ${MAX_FILES} dump files under ${root}`);
      }
    }
  };
  walk(root, 0);
  return out;
}
