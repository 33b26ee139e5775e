/**
 * API tokens: 32 random bytes, shown once as `dkt_<base64url>`; the store keeps only their SHA-256
 * hash, so a copy of the database grants nothing.
 */
import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_PREFIX = 'dkt_';

/** A new secret token. */
export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** The hash the store keeps for a token (hex SHA-256). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** What listings show of a token: enough to recognise it, not to use it. */
export function tokenPrefix(token: string): string {
  return token.slice(0, TOKEN_PREFIX.length + 6);
}
