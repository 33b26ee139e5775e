#!/usr/bin/env node
// The CLI entry point; the compiled code lives in dist/ (built by `npm install` via `prepare`).
import { main } from '../dist/cli/main.js';

main(process.argv).then((code) => {
  process.exitCode = code;
});
