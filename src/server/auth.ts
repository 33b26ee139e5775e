/**
 * Bearer tokens: who is calling, and what they may see. A token belongs to a tenant; `admin`
 * tokens see every tenant (and may narrow with `?tenant=`), the others only their own.
 */
import type { FastifyRequest } from 'fastify';
import type { ApiToken, TokenRole } from '../docket-types.js';
import type { Scope } from '../job-service.js';
import { HttpProblem } from './problems.js';
import type { TokenCache } from './token-cache.js';

const RANK: Record<TokenRole, number> = { viewer: 0, member: 1, admin: 2 };

export interface Principal {
  token: ApiToken;
}

/** Checks the request's token and role; throws a 401 or 403 problem otherwise. */
export async function authenticate(
  tokens: TokenCache,
  request: FastifyRequest,
  needed: TokenRole,
  tokenInQuery: boolean,
): Promise<Principal> {
  const secret = bearer(request, tokenInQuery);
  if (secret === null) {
    throw new HttpProblem(401, 'send Authorization: Bearer <token>; create one with docket token create');
  }
  const token = await tokens.verify(secret);
  if (!token)
    throw new HttpProblem(401, 'the token is unknown, revoked or expired; create one with docket token create');
  if (RANK[token.role] < RANK[needed]) {
    throw new HttpProblem(403, `a ${token.role} token may not do this; it needs the ${needed} role`);
  }
  return { token };
}

function bearer(request: FastifyRequest, tokenInQuery: boolean): string | null {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer +([A-Za-z0-9_\-.~+/]+=*) *$/i.exec(header);
    return match ? (match[1] as string) : null;
  }
  if (tokenInQuery) {
    const value = (request.query as Record<string, unknown> | undefined)?.access_token;
    if (typeof value === 'string' && value.length > 0 && value.length < 200) return value;
  }
  return null;
}

/** The principal of an authenticated route. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new HttpProblem(401, 'send Authorization: Bearer <token>');
  return request.principal;
}

/**
 * The tenants a request may see: its own, or — for admins — every tenant, or the one named in
 * `?tenant=`. A non-admin naming another tenant is refused.
 */
export function scopeOf(request: FastifyRequest, requestedTenant?: string): Scope {
  const { token } = principalOf(request);
  if (token.role === 'admin') return { tenant: requestedTenant };
  if (requestedTenant !== undefined && requestedTenant !== token.tenant) {
    throw new HttpProblem(403, `tenant: a ${token.role} token sees only its own tenant (${token.tenant})`);
  }
  return { tenant: token.tenant };
}
