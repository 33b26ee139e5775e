/**
 * A real `docket serve` process for HTTP tests: started from the built CLI on a free port (it
 * prints its URL and, on a fresh store, its first admin token), called with the real fetch, and
 * validated against the OpenAPI document it serves.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll } from 'vitest';
import { BIN, makeHome, type TestHome, waitFor } from './cli.js';

export interface TestServer {
  url: string;
  /** The admin token the first start printed. */
  adminToken: string;
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then waits for the exit; returns the exit code. */
  stop(): Promise<number | null>;
}

/**
 * A fresh docket home and a `docket serve` on it for the tests of one file: started before them,
 * stopped (and the home removed) after them. Read `home` and `server` inside the tests.
 */
export function serveForTests(args: string[] = []): { home: TestHome; server: TestServer } {
  const made = {} as { home: TestHome; server: TestServer };
  beforeAll(async () => {
    made.home = makeHome();
    made.server = await startServer(made.home, args);
  });
  afterAll(async () => {
    await made.server?.stop();
    await made.home?.cleanup();
  });
  return made;
}

export async function startServer(home: TestHome, args: string[] = []): Promise<TestServer> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    env: { ...home.env, DOCKET_LOG_LEVEL: 'warn' },
    cwd: home.home,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let url: string;
  let adminToken: string;
  try {
    url = await waitFor(
      'the server to print its URL',
      () => {
        if (child.exitCode !== null) throw new Error(`docket serve exited ${child.exitCode}: ${output}`);
        return /docket serving (http:\/\/\S+)/.exec(output)?.[1];
      },
      50_000,
    );
    adminToken = (await waitFor('the first token', () => /\?token=(dkt_[A-Za-z0-9_-]+)/.exec(output)?.[1])) as string;
  } catch (error) {
    // A server that never became ready must not outlive its test.
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${output}`);
  }
  return {
    url,
    adminToken,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A token of a tenant and role, made with the CLI. */
export async function createToken(home: TestHome, tenant: string, role: string, extra: string[] = []): Promise<string> {
  const created = await home.json(['token', 'create', '--tenant', tenant, '--role', role, ...extra]);
  return created.token as string;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read JSON loosely and check it against the schemas
  body: any;
  text: string;
}

/** Calls the API with a token; parses JSON bodies. */
export async function call(
  server: { url: string },
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  if ((response.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
  return { status: response.status, headers: response.headers, body: parsed, text };
}

/**
 * Checks responses against the OpenAPI document the server serves: the operation must declare the
 * status and content type, and the body must match the schema.
 */
// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document
export function openApiChecker(document: any): (method: string, path: string, response: ApiResponse) => void {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema(document, 'openapi');
  return (method, path, response) => {
    const operation = document.paths[path]?.[method.toLowerCase()];
    if (!operation) throw new Error(`${method} ${path} is not in the OpenAPI document`);
    const declared = operation.responses[String(response.status)];
    if (!declared)
      throw new Error(`${method} ${path} answered ${response.status}, which the document does not declare`);
    if (response.status === 204) return;
    const type = (response.headers.get('content-type') ?? '').split(';')[0] as string;
    const media = declared.content?.[type];
    if (!media) throw new Error(`${method} ${path} ${response.status}: content type ${type} is not declared`);
    const pointer = `openapi#/paths/${pointerPart(path)}/${method.toLowerCase()}/responses/${response.status}/content/${pointerPart(type)}/schema`;
    const validate = ajv.getSchema(pointer);
    if (!validate) throw new Error(`no schema at ${pointer}`);
    const body = type.includes('json') ? response.body : response.text;
    if (!validate(body)) {
      throw new Error(
        `${method} ${path} ${response.status} does not match its schema: ${ajv.errorsText(validate.errors)}`,
      );
    }
  };
}

function pointerPart(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** A fresh home with a running server. */
export async function homeWithServer(args: string[] = []): Promise<{ home: TestHome; server: TestServer }> {
  const home = makeHome();
  const server = await startServer(home, args);
  return { home, server };
}
