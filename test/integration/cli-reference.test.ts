/**
 * The README's CLI reference and JSON key list checked against the code, so neither can drift:
 * every command and option the binary has is in the README's tables (and nothing the README names
 * is missing from the binary); the keys it lists are exactly the keys `--json` prints. Also the
 * version, completion scripts and commander's own errors, through the real binary.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { makeHome, ROOT, type TestHome } from '../helpers/cli.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The text of a README section, from its heading to the next heading of the same or a higher level. */
function section(heading: string): string {
  const start = README.indexOf(`\n${heading}\n`);
  if (start === -1) throw new Error(`README has no "${heading}"`);
  const level = heading.split(' ')[0] as string;
  const rest = README.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`\\n#{1,${level.length}} `));
  return end === -1 ? rest : rest.slice(0, end);
}

const CLI = section('## The CLI');
/** Table rows of the CLI section whose first cell names commands, by the command paths it names. */
const ROWS = CLI.split('\n').filter((line) => line.startsWith('| `docket '));

function commands(command: Command, path: string[] = []): { path: string; command: Command }[] {
  return command.commands.flatMap((sub) => {
    const subPath = [...path, sub.name()];
    return [{ path: subPath.join(' '), command: sub }, ...commands(sub, subPath)];
  });
}

const program = buildProgram();
const ALL = commands(program).filter(({ command }) => command.name() !== 'help');

describe('the README CLI reference matches the commands', () => {
  it.each(ALL.filter(({ command }) => command.commands.length === 0).map(({ path, command }) => [path, command]))(
    'docket %s is in a row of the command table with each of its options',
    (path, command) => {
      const row = ROWS.find((line) => new RegExp(`\`docket ${path}( |\`)`).test(line.split(' | ')[0] as string));
      expect(row, `no README row for docket ${path}`).toBeDefined();
      // submit and run share the job options table; the bulk actions, the FILTERS paragraph.
      const shared = path === 'submit' || path === 'run' ? section('### Job options') : '';
      const filters = row?.includes('FILTERS') ? (/\nFILTERS \([\s\S]*?\n\n/.exec(CLI)?.[0] ?? '') : '';
      const where = `${row}\n${shared}\n${filters}`;
      for (const option of (command as Command).options.filter((candidate) => !candidate.hidden)) {
        expect(where, `docket ${path} ${option.long}`).toContain(option.long as string);
      }
    },
  );

  it('names only commands that exist, and the global options', () => {
    const paths = new Set(ALL.map(({ path }) => path));
    for (const row of ROWS) {
      const first = row.split(' | ')[0] as string;
      for (const [, words] of first.matchAll(/`docket ([a-z-]+(?: [a-z-]+)?)/g)) {
        const path = (words as string).split(' ');
        const known = paths.has(path.join(' ')) || paths.has(path[0] as string);
        expect(known, `README names docket ${words}`).toBe(true);
      }
    }
    for (const option of program.options) expect(CLI, option.long).toContain(option.long as string);
  });

  it('has a row in the exit-code table for every code the errors use', () => {
    const table = section('### Exit codes');
    for (const code of [0, 1, 2, 3, 4, 124, 130, 141]) expect(table).toMatch(new RegExp(`\\n\\| ${code} \\|`));
  });
});

let t: TestHome;
beforeAll(() => {
  t = makeHome();
});
afterAll(() => t.cleanup());

/** The keys a README paragraph lists in backticks, e.g. `id, name, … resources {cpu_count, …}`. */
function listedKeys(text: string): { top: string[]; nested: Record<string, string[]> } {
  const nested: Record<string, string[]> = {};
  const flat = text.replace(/(\w+)\s*\{([^}]*)\}/g, (_, key: string, inner: string) => {
    nested[key] = inner.split(',').map((word) => word.trim());
    return key;
  });
  return {
    top: flat
      .split(',')
      .map((word) => word.trim().split(/\s/)[0] as string)
      .filter(Boolean),
    nested,
  };
}

describe('the README JSON keys are exactly what --json prints', () => {
  it('for a job (submit, list) and for its attempts (status)', async () => {
    const json = section('### JSON');
    const [, jobText] = /job objects use snake_case keys:\s+`([^`]*)`/i.exec(json) ?? [];
    const [, attemptText] = /`executions`: one object per attempt with\s+`([^`]*)`/.exec(json) ?? [];
    const job = listedKeys(jobText as string);
    const attempt = listedKeys(attemptText as string);
    const submitted = await t.json(['run', '--job-name', 'keys', '--cmd', 'true']);
    expect(Object.keys(submitted).sort()).toEqual([...job.top].sort());
    for (const [key, inner] of Object.entries(job.nested))
      expect(Object.keys(submitted[key]).sort()).toEqual(inner.sort());
    const status = await t.json(['status', String(submitted.id)]);
    // `list` and `status` add `state_reason`, as the README says after the list.
    expect(json).toContain('`list` and `status` add `state_reason`');
    expect(Object.keys(status).sort()).toEqual([...job.top, 'executions', 'state_reason'].sort());
    expect(Object.keys(status.executions[0]).sort()).toEqual([...attempt.top].sort());
  });

  it('for an error: {error, code, exit_code}, as the README says', async () => {
    expect(section('### JSON')).toContain('`{error, code, exit_code}`');
    const result = await t.run(['--json', 'status', '999999']);
    expect(result.code).toBe(3);
    expect(Object.keys(JSON.parse(result.stdout))).toEqual(['error', 'code', 'exit_code']);
  });
});

describe('usage errors, version and completion through the binary', () => {
  it.each([
    [['list', '--bogus'], "docket: unknown option '--bogus' (see docket list --help)"],
    [['nosuch'], "docket: unknown command 'nosuch' (see docket --help)"],
    [
      ['status', '1', '2'],
      "docket: too many arguments for 'status'. Expected 1 argument but got 2. (see docket status --help)",
    ],
    [['queue', 'set'], "docket: missing required argument 'name' (see docket queue set --help)"],
    [
      ['run', 'ls', '-d', '/tmp'],
      "docket: unknown option '-d'; to pass options to the program, put -- before it: docket run -- ls -d /tmp (see docket run --help)",
    ],
    [
      ['submit', '--queue', 'q', 'ls', '-la'],
      "docket: unknown option '-la'; to pass options to the program, put -- before it: docket submit --queue q -- ls -la (see docket submit --help)",
    ],
  ])('docket %j says one line and exits 2', async (args, line) => {
    const result = await t.run(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`${line}\n`);
    expect(result.stdout).toBe('');
    // With --json: the same line, and the error document on stdout.
    const json = await t.run(['--json', ...args]);
    expect(json.stderr.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(json.stdout)).toEqual({
      error: json.stderr.trim().slice('docket: '.length),
      code: 'usage',
      exit_code: 2,
    });
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    for (const flag of ['--version', '-V'])
      expect(await t.run([flag])).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('every command help shows examples', async () => {
    for (const { path, command } of ALL) {
      if (command.name() === 'help' || (command.parent?.name() !== 'docket' && command.commands.length === 0)) continue;
      const help = await t.run([...path.split(' '), '--help']);
      expect(help.stdout, `docket ${path} --help`).toMatch(/\nExamples:\n {2}(docket|eval) /);
    }
  });

  it('completion bash completes commands, subcommands and options', async () => {
    const script = (await t.run(['completion', 'bash'])).stdout;
    const complete = (words: string[]) =>
      execFileSync(
        'bash',
        [
          '-c',
          `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _docket; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      )
        .trim()
        .split('\n');
    expect(complete(['docket', 'can'])).toEqual(['cancel']);
    expect(complete(['docket', 'queue', ''])).toEqual(expect.arrayContaining(['set', 'pause', 'resume', 'list', 'rm']));
    expect(complete(['docket', 'cancel', '--na'])).toEqual(['--name']);
    expect(complete(['docket', '--json', 'queue', 'set', '--cap'])).toEqual(['--capacity']);
  });

  it('completion zsh and fish name every command; an unknown shell is refused', async () => {
    const zsh = (await t.run(['completion', 'zsh'])).stdout;
    expect(zsh).toContain('bashcompinit');
    const fish = (await t.run(['completion', 'fish'])).stdout;
    for (const { command } of ALL.filter(({ command }) => command.parent?.name() === 'docket')) {
      expect(fish).toContain(`-a ${command.name()} `);
    }
    expect(fish).toContain("__fish_seen_subcommand_from cancel' -l name -r");
    const refused = await t.run(['completion', 'tcsh']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('docket: shell: "tcsh" is not a shell docket completes; use bash, zsh, fish\n');
  });
});
