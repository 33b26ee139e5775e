/**
 * The HTTP API's tokens: made (the secret is returned once; the store keeps its SHA-256 hash),
 * listed, looked up by hash and revoked, with what a server's token cache needs to notice
 * revocations. Part of the facade: it reaches the store only through the storage port.
 */
import { NotFoundError } from './core/errors.js';
import { generateToken, hashToken, tokenPrefix } from './core/tokens.js';
import type { ApiToken, ChangeNotices, StorageEngine, TokenRole } from './storage/engine.js';

export interface NewToken {
  tenant: string;
  user?: string | null;
  role: TokenRole;
  name?: string | null;
  /** Seconds until it expires; undefined for never. */
  expiresInSeconds?: number;
}

export class ApiTokens {
  /**
   * Counts revocations made through this process: a server's token cache drops what it keeps when
   * it moves (SQLite tells other processes' commits apart, not its own connection's).
   */
  revision = 0;

  constructor(private readonly store: () => StorageEngine) {}

  /** Creates a token; the secret is returned here once and never stored. */
  async create(request: NewToken): Promise<{ token: string; record: ApiToken }> {
    const token = generateToken();
    const now = Date.now();
    const record = await this.store().createToken({
      name: request.name ?? null,
      tenant: request.tenant,
      user: request.user ?? null,
      role: request.role,
      prefix: tokenPrefix(token),
      tokenHash: hashToken(token),
      createdAt: now,
      expiresAt: request.expiresInSeconds === undefined ? null : now + request.expiresInSeconds * 1000,
    });
    return { token, record };
  }

  list(): Promise<ApiToken[]> {
    return this.store().listTokens();
  }

  /** The token with this hash, revoked and expired ones included (the caller decides). */
  byHash(hash: string): Promise<ApiToken | null> {
    return this.store().tokenByHash(hash);
  }

  async revoke(id: number): Promise<void> {
    const revoked = await this.store().revokeToken(id);
    this.revision++;
    if (!revoked) throw new NotFoundError(`token ${id} does not exist; see docket token list`);
  }

  /** Moves when another connection commits to the store (0 on stores that send change notices). */
  changeStamp(): Promise<number> {
    return this.store().changeStamp();
  }

  /** The store's own change notices (revocations among them), or null when it sends none. */
  get notices(): ChangeNotices | null {
    return this.store().capabilities.pushesChanges;
  }
}
