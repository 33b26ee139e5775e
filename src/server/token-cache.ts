/**
 * Verified tokens kept in memory, so that a request does not cost a token lookup in the store —
 * on PostgreSQL a round trip, the largest part of a small request's CPU (the socket write alone);
 * on SQLite a read of the row, a fifth of a small request's CPU.
 *
 * A token revoked by another process (`docket token revoke`) must be refused at once, so what is
 * kept is dropped as soon as the store may have changed:
 * - PostgreSQL's revoke sends a notice in its own statement, and the cache keeps nothing while its
 *   listening connection is down;
 * - SQLite tells no one, but `PRAGMA data_version` moves whenever another connection commits
 *   (one cheap read per request): everything kept is dropped then, and read again. Revocations
 *   through this process's own connection bump `ApiTokens.revision`, which
 *   drops what is kept on PostgreSQL too, before its notice arrives.
 * Expiry is checked against the kept `expiresAt`; every entry is also re-read after
 * `ENTRY_TTL_MS`, a bound for a revocation written by something that sends no notice (SQL by hand
 * on PostgreSQL).
 */

import type { ApiTokens } from '../api-tokens.js';
import { hashToken } from '../core/tokens.js';
import type { ApiToken, StoreNotice } from '../docket-types.js';

/** How long a kept token is trusted without a notice at most. */
export const ENTRY_TTL_MS = 60_000;
/** Tokens kept at most (an API has a few; the bound only keeps memory finite). */
const MAX_ENTRIES = 10_000;

export class TokenCache {
  /**
   * Keyed by the secret's hash, as the store keeps it: no secret is held in memory past its
   * request (a SHA-256 of a token is about a microsecond, against a request's ~150 µs).
   */
  private readonly tokens = new Map<string, { token: ApiToken; readAt: number }>();
  /** True while changes by other processes are noticed (notices, or the change stamp); nothing is kept otherwise. */
  private keeping = false;
  /** Bumped on every flush: a lookup that began before one does not keep what it read. */
  private generation = 0;
  /** The local revision (and, without notices, the store's change stamp) the kept tokens were read under. */
  private stamp: string | null = null;
  private stopListening: (() => Promise<void>) | null = null;

  constructor(private readonly store: Pick<ApiTokens, 'byHash' | 'notices' | 'changeStamp' | 'revision'>) {}

  /** Starts noticing revocations: the store's notices, or (without them) its change stamp. */
  async start(): Promise<void> {
    const notices = this.store.notices;
    if (notices) this.stopListening = await notices.listen((notice) => this.onNotice(notice));
    this.flush(true);
  }

  async stop(): Promise<void> {
    this.flush(false);
    await this.stopListening?.();
    this.stopListening = null;
  }

  /** The token's record if it is known, not revoked and not expired; otherwise null. */
  async verify(secret: string): Promise<ApiToken | null> {
    // This process's own revocations: at once (a notice would come a moment later).
    const stamp = this.store.notices
      ? `${this.store.revision}`
      : `${await this.store.changeStamp()}:${this.store.revision}`;
    if (stamp !== this.stamp) {
      this.flush(this.keeping);
      this.stamp = stamp;
    }
    const now = Date.now();
    const hash = hashToken(secret);
    const kept = this.tokens.get(hash);
    let token: ApiToken | null;
    if (kept && now - kept.readAt < ENTRY_TTL_MS) {
      token = kept.token;
    } else {
      const generation = this.generation;
      token = await this.store.byHash(hash);
      if (token && token.revokedAt === null && this.keeping && generation === this.generation) {
        if (this.tokens.size >= MAX_ENTRIES) this.tokens.clear();
        this.tokens.set(hash, { token, readAt: now });
      }
    }
    if (!token || token.revokedAt !== null) return null;
    if (token.expiresAt !== null && token.expiresAt <= now) return null;
    return token;
  }

  private onNotice(notice: StoreNotice): void {
    if (notice.kind === 'tokens') this.flush(notice.listening);
  }

  private flush(keeping: boolean): void {
    this.keeping = keeping;
    this.generation++;
    this.stamp = null;
    this.tokens.clear();
  }
}
