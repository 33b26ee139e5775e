/** `docket token create|list|revoke`: bearer tokens for the HTTP API (stored hashed; shown once). */
import type { Command } from 'commander';
import { InvalidInputError } from '../../core/errors.js';
import { isoTimeOrNull } from '../../core/iso-time.js';
import { parseDuration } from '../../core/units.js';
import { TOKEN_ROLES, type TokenRole } from '../../docket-types.js';
import { action, emit, withDocket } from '../context.js';
import { table } from '../format.js';

interface CreateFlags {
  tenant: string;
  user?: string;
  role: string;
  name?: string;
  expires?: string;
}

const iso = isoTimeOrNull;

export function register(program: Command): void {
  const token = program.command('token').description('API tokens: create, list, revoke');
  token
    .command('create')
    .description('create a token and print it once (only its hash is stored)')
    .requiredOption('--tenant <tenant>', 'the tenant whose jobs the token sees')
    .option('--user <user>', 'the user its jobs are recorded under')
    .option(
      '--role <role>',
      `${TOKEN_ROLES.join(', ')}: admin sees every tenant and changes queues; viewer only reads`,
      'member',
    )
    .option('--name <name>', 'a name to recognise it by')
    .option('--expires <duration>', 'expire after this long (30d, 12h); default: never')
    .action(
      action(async (flags: CreateFlags, command: Command) => {
        if (!TOKEN_ROLES.includes(flags.role as TokenRole)) {
          throw new InvalidInputError('--role', `"${flags.role}" is not a role; use ${TOKEN_ROLES.join(', ')}`);
        }
        if (!/^[A-Za-z0-9_.:@-]{1,128}$/.test(flags.tenant)) {
          throw new InvalidInputError('--tenant', `"${flags.tenant}" must be 1–128 letters, digits or _.:@-`);
        }
        const expiresInSeconds = flags.expires === undefined ? undefined : parseDuration(flags.expires, '--expires');
        if (expiresInSeconds !== undefined && expiresInSeconds <= 0) {
          throw new InvalidInputError('--expires', 'must be longer than zero');
        }
        return withDocket(
          command,
          async (docket, options) => {
            const created = await docket.service.tokens.create({
              tenant: flags.tenant,
              user: flags.user ?? null,
              role: flags.role as TokenRole,
              name: flags.name ?? null,
              expiresInSeconds,
            });
            const record = created.record;
            emit(
              options,
              {
                token: created.token,
                id: record.id,
                tenant: record.tenant,
                user: record.user,
                role: record.role,
                expires_at: iso(record.expiresAt),
              },
              () => created.token,
            );
            return 0;
          },
          { reconcile: false },
        );
      }),
    );
  token
    .command('list')
    .description('list tokens (their first characters, never the secret)')
    .action(
      action(async (_flags: unknown, command: Command) =>
        withDocket(
          command,
          async (docket, options) => {
            const tokens = await docket.service.tokens.list();
            const now = Date.now();
            emit(
              options,
              tokens.map((t) => ({
                id: t.id,
                name: t.name,
                tenant: t.tenant,
                user: t.user,
                role: t.role,
                prefix: t.prefix,
                created_at: iso(t.createdAt),
                expires_at: iso(t.expiresAt),
                revoked_at: iso(t.revokedAt),
              })),
              () =>
                table(
                  ['ID', 'PREFIX', 'TENANT', 'USER', 'ROLE', 'STATE', 'NAME'],
                  tokens.map((t) => [
                    t.id,
                    `${t.prefix}…`,
                    t.tenant,
                    t.user,
                    t.role,
                    t.revokedAt !== null
                      ? 'revoked'
                      : t.expiresAt !== null && t.expiresAt <= now
                        ? 'expired'
                        : 'active',
                    t.name,
                  ]),
                ),
            );
            return 0;
          },
          { reconcile: false },
        ),
      ),
    );
  token
    .command('revoke')
    .description('revoke a token at once')
    .argument('<id>', 'token id (see docket token list)')
    .action(
      action(async (id: string, _flags: unknown, command: Command) => {
        if (!/^\d{1,15}$/.test(id) || Number(id) < 1) {
          throw new InvalidInputError('id', `"${id}" is not a token id; see docket token list`);
        }
        const tokenId = Number(id);
        return withDocket(
          command,
          async (docket, options) => {
            await docket.service.tokens.revoke(tokenId);
            emit(options, { id: tokenId, revoked: true }, () => `revoked token ${tokenId}`);
            return 0;
          },
          { reconcile: false },
        );
      }),
    );
}
