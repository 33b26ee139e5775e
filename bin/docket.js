#!/usr/bin/env node
// The CLI entry point. dist/cli.js is the CLI bundled into one file (built by `npm install` via
// `prepare`): loading one module instead of forty saves about 40 ms on every call.
import { main } from '../dist/cli.js';

main(process.argv).then((code) => {
  process.exitCode = code;
});
