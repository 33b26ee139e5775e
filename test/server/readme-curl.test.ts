/**
 * The README's curl examples of the HTTP API (its sections "Endpoints" and "The event stream"),
 * run as written by bash and the real curl against a real `docket serve` on a fresh store, in the
 * README's order: each answers with a status the README promises. Only two things are added to
 * each call: `--max-time` (the streams run until Ctrl-C by design) and a final line with the HTTP
 * status. The server also runs a worker, so that the jobs the examples follow really end.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { serveForTests } from '../helpers/server.js';

const running = serveForTests(['--workers', '1']);

/** The shell lines of the ```sh blocks between two headings, continuation lines joined. */
function shellLines(markdown: string, from: string, to: string): string[] {
  const start = markdown.indexOf(from);
  const end = markdown.indexOf(to, start);
  if (start < 0 || end < 0) throw new Error(`README: no section "${from}" … "${to}"`);
  const blocks = [...markdown.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] as string);
  return blocks
    .flatMap((block) => block.replace(/\\\n\s*/g, '').split('\n'))
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const lines = shellLines(README, '### Endpoints', '### Metrics');
const curls = lines.filter((line) => line.startsWith('curl '));

/** What the README says each example answers (by a phrase of the call), when it is not a plain 2xx. */
function allowed(line: string): number[] | null {
  if (line.includes('-X DELETE')) return [204, 409]; // "finished jobs only: 204; a live one is 409"
  return null;
}

it('has the examples it runs', () => {
  expect(lines.some((line) => line.startsWith('export DOCKET_URL='))).toBe(true);
  expect(curls.length).toBeGreaterThanOrEqual(20);
});

it("runs every curl example of the README's HTTP API section as written", { timeout: 240_000 }, async () => {
  const { server, home } = running;
  // The server's address and token, where the README has its default address and a token's place.
  const setup = lines
    .filter((line) => !line.startsWith('curl '))
    .map((line) =>
      line.replace('http://127.0.0.1:7070', server.url.replace(/\/$/, '')).replace('TOKEN=dkt_…', 'TOKEN="$T"'),
    );
  // The status goes to stderr (stdout may be redirected to a file); an example's own -w comes
  // after ours and wins (the DELETE example prints its status on stdout).
  const wrapper = `curl() { command curl --max-time "$MAX_TIME" -w '%{stderr}\\n%{http_code}\\n' "$@"; }`;
  for (const line of curls) {
    const streams = line.includes(' -N ');
    const follows = line.includes('follow=1');
    // A followed log ends by itself when its job ends; the event stream never does.
    const maxTime = follows ? 120 : streams ? 2 : 30;
    const script = [...setup, wrapper, line].join('\n');
    const result = spawnSync('bash', ['-c', script], {
      cwd: home.home,
      env: { ...process.env, T: server.adminToken, MAX_TIME: String(maxTime) },
      encoding: 'utf8',
    });
    const status = lastNumber(result.stderr) ?? lastNumber(result.stdout) ?? -1;
    const context = `${line}\n→ exit ${result.status}, ${result.stdout.slice(-400)}${result.stderr}`;
    if (!streams || follows) expect(result.status, context).toBe(0);
    else expect([0, 28], context).toContain(result.status); // 28: curl's --max-time on a live stream
    const statuses = allowed(line);
    if (statuses) expect(statuses, context).toContain(status);
    else expect(status >= 200 && status < 300, context).toBe(true);
    if (follows) expect(result.stdout, context).toMatch(/event: end/);
  }
  // The examples did what they say: job 1 ran and said hello, the batch stored two more jobs,
  // and the OpenAPI document was saved.
  expect(await home.json(['status', '1'])).toMatchObject({ name: 'hello', status: 'completed', key: 'hello-1' });
  expect((await home.run(['logs', '1'])).stdout).toBe('hello\n');
  expect(await home.json(['status', '3'])).toMatchObject({ command: 'echo a' });
  expect(await home.json(['status', '4'])).toMatchObject({ command: 'echo b', priority: 5 });
  expect(JSON.parse(readFileSync(join(home.home, 'openapi.json'), 'utf8'))).toMatchObject({ openapi: '3.1.0' });
});

/** The HTTP status curl's -w wrote at the end of a text (right after a body, or on its own line), or null. */
function lastNumber(text: string): number | null {
  const match = /(\d{3})\s*$/.exec(text);
  return match ? Number(match[1]) : null;
}
