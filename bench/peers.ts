/**
 * Runs docket beside its peers in one run of the shared harness (../shared/bench): pg-boss,
 * graphile-worker, BullMQ on Redis and PostgreSQL, and the minimal SQLite and PostgreSQL queues.
 *
 *   npm run bench:peers                       # every adapter, 3 repetitions (about 12 minutes)
 *   npm run bench:peers -- --quick            # N=1000, 1 repetition
 *   npm run bench:peers -- --adapters docket,sqlite-baseline,bullmq --workloads w2,w3
 *
 * The harness is read-only where it lives, so it is copied to a scratch folder (kept between runs
 * in bench/.peers, which holds its node_modules) with docket's adapter added. Needs `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const harness = join(root, '..', 'shared', 'bench');
const scratch = join(here, '.peers');
const dist = join(root, 'dist', 'index.js');

if (!existsSync(harness)) throw new Error(`the shared harness is missing: ${harness}`);
if (!existsSync(dist)) throw new Error('docket is not built: run npm run build first');

mkdirSync(scratch, { recursive: true });
cpSync(harness, scratch, {
  recursive: true,
  filter: (source) => !/(node_modules|results|data)$/.test(source),
});
const adapter = readFileSync(join(here, 'adapters', 'docket.ts'), 'utf8').replace(
  "'DOCKET_DIST'",
  JSON.stringify(dist),
);
writeFileSync(join(scratch, 'src', 'adapters', 'docket.ts'), adapter);

const registryPath = join(scratch, 'src', 'registry.ts');
const registry = readFileSync(registryPath, 'utf8');
if (!registry.includes("id: 'docket-pg'")) {
  const entry = `  {
    id: 'docket', module: './adapters/docket.ts', defaultOn: true,
    note: 'docket (this repository): embedded SQLite engine, batched claims and completions, socket wake-ups',
  },
  {
    id: 'docket-pg', module: './adapters/docket.ts', options: { engine: 'postgres' }, defaultOn: true,
    note: 'docket (this repository): PostgreSQL engine, SKIP LOCKED batch claims, batched completions, LISTEN/NOTIFY',
  },
`;
  writeFileSync(
    registryPath,
    registry.replace(
      'export const VARIANTS: VariantSpec[] = [\n',
      `export const VARIANTS: VariantSpec[] = [\n${entry}`,
    ),
  );
}
// The copied files are read-only like their originals; run.sh must stay executable.
const result = spawnSync('bash', [join(scratch, 'run.sh'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  cwd: scratch,
});
process.exit(result.status ?? 1);
