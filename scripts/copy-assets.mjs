// tsc compiles only TypeScript; the engines' migrations are plain .sql files next to their code.
import { cpSync, existsSync } from 'node:fs';

for (const dir of ['storage/sqlite/migrations', 'storage/postgres/migrations']) {
  if (existsSync(`src/${dir}`)) cpSync(`src/${dir}`, `dist/${dir}`, { recursive: true });
}
