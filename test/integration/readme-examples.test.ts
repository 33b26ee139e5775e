/**
 * The README's TypeScript examples, as a user meets them, so the README cannot drift from the API.
 * Every ```ts block names its file on its first line (`// example.ts`). The test writes them all
 * into one project folder whose node_modules/docket links to this package (as `npm install
 * /path/to/docket` does), type-checks them with tsc (strict, NodeNext; skipLibCheck, as most
 * projects set it) against the built package's declarations, then runs each file the README says to run with `npx tsx FILE` against a SQLite
 * store in a fresh DOCKET_HOME and compares what it prints with the file's `// → …` comments.
 * The PostgreSQL example (orders.ts) is compiled only: it needs the application's own database.
 * Uses the build (dist/), like every test of the CLI: the package a user imports.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, ROOT, runProcess, type TestHome } from '../helpers/cli.js';

interface Example {
  file: string;
  code: string;
  /** The README line its fence opens on, for messages. */
  line: number;
}

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
/** Packages the examples import besides docket, linked from this project's node_modules. */
const LINKED = ['pg', '@types/node', '@types/pg'];
/** Examples that need more than a SQLite file: compiled, never run. */
const COMPILE_ONLY = ['orders.ts'];

/** Every ```ts block of the README (indented ones too, inside list items), with its file name. */
function readmeExamples(readme: string): Example[] {
  const examples: Example[] = [];
  for (const match of readme.matchAll(/^( *)```ts\n([\s\S]*?)^\1```$/gm)) {
    const indent = match[1] as string;
    const code = (match[2] as string)
      .split('\n')
      .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
      .join('\n');
    const line = readme.slice(0, match.index).split('\n').length;
    const file = /^\/\/ ([\w./-]+\.m?ts)\b/.exec(code)?.[1];
    if (!file) throw new Error(`README line ${line}: a ts example must start with "// FILE.ts", the file it shows`);
    examples.push({ file, code, line });
  }
  return examples;
}

/** What the example prints, from its `// → text` comments, in order. */
function expectedOutput(code: string): string[] {
  return [...code.matchAll(/\/\/ → (.*)$/gm)].map((match) => (match[1] as string).trim());
}

const examples = readmeExamples(README);
/** Files the README tells the reader to run. */
const runnable = [...new Set([...README.matchAll(/`npx tsx ([\w./-]+)`/g)].map((match) => match[1] as string))];
let project: string;

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'docket-readme-'));
  for (const example of examples) {
    mkdirSync(dirname(join(project, example.file)), { recursive: true });
    writeFileSync(join(project, example.file), example.code);
  }
  // The project the README's setup makes: an ES module package with docket installed from its clone.
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-jobs', private: true, type: 'module' }));
  const compilerOptions = {
    strict: true,
    module: 'NodeNext',
    target: 'ES2022',
    types: ['node'],
    skipLibCheck: true,
    noEmit: true,
  };
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['**/*.ts'] }));
  mkdirSync(join(project, 'node_modules', '@types'), { recursive: true });
  symlinkSync(ROOT, join(project, 'node_modules', 'docket'));
  for (const name of LINKED) symlinkSync(join(ROOT, 'node_modules', name), join(project, 'node_modules', name));
});

afterAll(() => {
  rmSync(project, { recursive: true, force: true });
});

describe('README TypeScript examples', () => {
  it('every file an example names or the README runs is shown, once', () => {
    const files = examples.map((example) => example.file);
    expect(files.length).toBeGreaterThanOrEqual(6);
    expect(files.filter((file, index) => files.indexOf(file) !== index)).toEqual([]);
    expect(runnable.length).toBeGreaterThanOrEqual(2);
    for (const file of [...runnable, ...COMPILE_ONLY]) expect(files).toContain(file);
    // Files an example refers to by a relative path ('./jobs/send-email.ts').
    const named = examples.flatMap((example) => [...example.code.matchAll(/'\.\/([\w./-]+\.m?ts)'/g)]);
    for (const match of named) expect(files).toContain(match[1]);
  });

  it('type-check under strict NodeNext against the package as a user imports it', async () => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await runProcess(process.execPath, [tsc, '-p', project], { cwd: project });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  for (const file of runnable) {
    it(`${file} runs against a SQLite store and prints what its comments say`, async () => {
      const example = examples.find((candidate) => candidate.file === file) as Example;
      const expected = expectedOutput(example.code);
      expect(expected.length).toBeGreaterThan(0);
      const home: TestHome = makeHome();
      try {
        const tsx = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
        const result = await runProcess(process.execPath, [tsx, file], { cwd: project, env: home.env });
        expect(result.stderr).toBe('');
        expect(result.stdout.trimEnd().split('\n')).toEqual(expected);
        expect(result.code).toBe(0);
      } finally {
        await home.cleanup();
      }
    });
  }
});
