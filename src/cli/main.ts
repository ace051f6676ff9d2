#!/usr/bin/env node
/** `quant-lens` command line: the same core as the extension, for scripts and CI. */
import { runCli } from './cli';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`quant-lens: internal error: ${(err as Error).message}\n`);
    process.exitCode = 2;
  },
);
