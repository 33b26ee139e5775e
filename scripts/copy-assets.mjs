// tsc compiles only TypeScript; the engines' migrations are plain .sql files next to their code.
import { cpSync, existsSync, rmSync } from 'node:fs';

for (const dir of ['storage/sqlite/migrations', 'storage/postgres/migrations']) {
  // A fresh copy: a migration renamed in src/ must not linger in dist/ under its old number.
  rmSync(`dist/${dir}`, { recursive: true, force: true });
  if (existsSync(`src/${dir}`)) cpSync(`src/${dir}`, `dist/${dir}`, { recursive: true });
}
