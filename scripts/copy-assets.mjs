// tsc compiles only TypeScript; the engines' migrations are plain .sql files next to their code.
// The target folders are replaced, not merged: a migration renamed or renumbered in src/ must not
// leave its old copy in dist/, where it would break the sequence.
import { cpSync, existsSync, rmSync } from 'node:fs';

for (const dir of ['storage/sqlite/migrations', 'storage/postgres/migrations']) {
  rmSync(`dist/${dir}`, { recursive: true, force: true });
  if (existsSync(`src/${dir}`)) cpSync(`src/${dir}`, `dist/${dir}`, { recursive: true });
}
