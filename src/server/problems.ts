/**
 * Every error the API returns is an RFC 9457 problem document (`application/problem+json`):
 * `type, title, status, detail`, `errors: [{field, message}]` for validation, `current_state` for
 * an illegal move. Nothing a request sends produces a 5xx.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidInputError, InvalidStateError, NotFoundError } from '../core/errors.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** An error that carries its HTTP status (authentication, permissions, bad requests). */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { field: string; message: string }[];
  [extension: string]: unknown;
}

export function problem(status: number, detail: string, extra: Record<string, unknown> = {}): ProblemDocument {
  const title = TITLES[status] ?? 'Error';
  return { type: `urn:docket:problem:${title.toLowerCase().replace(/ /g, '-')}`, title, status, detail, ...extra };
}

export function sendProblem(reply: FastifyReply, document: ProblemDocument): FastifyReply {
  return reply.code(document.status).type('application/problem+json').send(document);
}

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** The field an ajv issue is about: `priority`, `resources.cpu_count`, `jobs[2].cmd`, a query name. */
function fieldOf(issue: AjvIssue): string {
  const path = issue.instancePath
    .split('/')
    .filter(Boolean)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('')
    .replace(/^\./, '');
  const child = (issue.params.additionalProperty ?? issue.params.missingProperty) as string | undefined;
  if (child !== undefined) return path ? `${path}.${child}` : child;
  return path || '(body)';
}

function messageOf(issue: AjvIssue): string {
  if (issue.keyword === 'additionalProperties') return 'is not a known field; remove it';
  if (issue.keyword === 'required') return 'is required';
  return issue.message ?? 'is not valid';
}

/** Maps anything thrown by a route or by Fastify to a problem document. */
export function toProblem(error: FastifyError | Error, request: FastifyRequest): ProblemDocument {
  const fastifyError = error as FastifyError & { validation?: AjvIssue[]; validationContext?: string };
  if (fastifyError.validation) {
    const seen = new Set<string>();
    const errors = fastifyError.validation
      .map((issue) => ({ field: fieldOf(issue), message: messageOf(issue) }))
      // A union reports each branch; keep the first message per field.
      .filter((entry) => !seen.has(entry.field) && seen.add(entry.field));
    const where =
      fastifyError.validationContext === 'querystring' ? 'query' : (fastifyError.validationContext ?? 'body');
    const first = errors[0];
    const detail = first ? `${first.field}: ${first.message}` : `the ${where} is not valid`;
    return problem(400, detail, { errors });
  }
  if (error instanceof HttpProblem) return problem(error.status, error.message, error.extra);
  if (error instanceof InvalidInputError) {
    return problem(400, error.message, {
      errors: [{ field: error.field, message: error.message.slice(error.field.length + 2) }],
    });
  }
  if (error instanceof NotFoundError) return problem(404, error.message);
  if (error instanceof InvalidStateError) return problem(409, error.message);
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problem(413, 'the request body is larger than 1 MiB');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problem(415, 'send JSON with Content-Type: application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return problem(400, 'the body is empty but Content-Type says JSON; send a JSON document or no Content-Type');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return problem(400, 'Content-Length does not match the body');
  }
  if (error instanceof SyntaxError || fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return problem(400, `the body is not valid JSON: ${error.message}`);
  }
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) return problem(status, error.message);
  request.log.error({ err: error }, 'request failed');
  return problem(500, 'the server failed to answer; see its log');
}

export { InvalidStateError };
