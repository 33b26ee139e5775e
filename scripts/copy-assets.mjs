// tsc compiles only TypeScript; the engines' migrations are plain .sql files next to their code.
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';

for (const dir of ['storage/sqlite/migrations', 'storage/postgres/migrations']) {
  // A fresh copy: a migration renamed in src/ must not linger in dist/ under its old number.
  rmSync(`dist/${dir}`, { recursive: true, force: true });
  if (existsSync(`src/${dir}`)) cpSync(`src/${dir}`, `dist/${dir}`, { recursive: true });
}

// The CLI bundle is split (the server's code loads only for `docket serve`): chunks of an earlier
// build carry other hashes, so they are removed rather than left to pile up.
if (existsSync('dist')) {
  for (const file of readdirSync('dist')) if (/^cli(-.+)?\.js$/.test(file)) rmSync(`dist/${file}`);
}
