/** API tokens: bearer secrets with a role. The secret is returned once; only its sha256 is kept. */
import { randomUUID } from "node:crypto";
import { and, desc, eq, isNull, lte, or } from "drizzle-orm";
import { sha256Hex } from "../../lib/files.js";
import type { Db } from "../db/database.js";
import { apiTokens, TOKEN_ROLES, type TokenRole } from "../db/schema/index.js";
import { clockOf, type RepoOptions } from "./clock.js";
import { NotFoundError, ValidationError } from "./errors.js";
import { newSecret } from "./secret-hash.js";

export const TOKEN_PREFIX = "ef_";
/** last_used_at is refreshed at most this often, so verifying a token is usually a read only. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface TokenInfo {
  id: string;
  name: string;
  role: TokenRole;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  expiresAt: Date | null;
}

export interface CreatedToken {
  id: string;
  /** The bearer secret; shown once, never stored. */
  token: string;
  role: TokenRole;
  expiresAt: Date | null;
}

export interface TokenRepo {
  /** Creates a token; the returned `token` is the only copy of the secret. */
  create(name: string, role: TokenRole, options?: { expiresAt?: Date | null }): Promise<CreatedToken>;
  /** The token's identity when it exists, is not revoked and has not expired, else null. */
  verify(token: string): Promise<{ id: string; name: string; role: TokenRole } | null>;
  /** All tokens, newest first, without secrets. */
  list(): Promise<TokenInfo[]>;
  /** Revokes a token (idempotent); NotFoundError when the id is unknown. */
  revoke(id: string): Promise<void>;
}

/** Token repository over a database. */
export function tokenRepo(db: Db, options?: RepoOptions): TokenRepo {
  const now = clockOf(options);
  const columns = {
    id: apiTokens.id,
    name: apiTokens.name,
    role: apiTokens.role,
    createdAt: apiTokens.createdAt,
    lastUsedAt: apiTokens.lastUsedAt,
    revokedAt: apiTokens.revokedAt,
    expiresAt: apiTokens.expiresAt,
  };
  return {
    async create(name, role, { expiresAt = null } = {}) {
      if (name.trim().length === 0) throw new ValidationError("token name must not be empty");
      if (!TOKEN_ROLES.includes(role))
        throw new ValidationError(`role must be one of ${TOKEN_ROLES.join(", ")}`);
      const createdAt = now();
      if (expiresAt !== null && !(expiresAt.getTime() > createdAt.getTime()))
        throw new ValidationError("a token's expiry must lie in the future");
      const id = randomUUID();
      const token = newSecret(TOKEN_PREFIX);
      await db
        .insert(apiTokens)
        .values({ id, name, role, tokenHash: sha256Hex(token), createdAt, expiresAt });
      return { id, token, role, expiresAt };
    },

    async verify(token) {
      if (!token.startsWith(TOKEN_PREFIX)) return null;
      // Looking up by hash leaks nothing about the secret: an attacker cannot choose hash prefixes.
      const [row] = await db
        .select(columns)
        .from(apiTokens)
        .where(and(eq(apiTokens.tokenHash, sha256Hex(token)), isNull(apiTokens.revokedAt)));
      if (!row) return null;
      const at = now();
      if (row.expiresAt !== null && row.expiresAt.getTime() <= at.getTime()) return null;
      if (!row.lastUsedAt || at.getTime() - row.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
        const stale = new Date(at.getTime() - LAST_USED_RESOLUTION_MS);
        await db
          .update(apiTokens)
          .set({ lastUsedAt: at })
          .where(
            and(eq(apiTokens.id, row.id), or(isNull(apiTokens.lastUsedAt), lte(apiTokens.lastUsedAt, stale))),
          );
      }
      return { id: row.id, name: row.name, role: row.role };
    },

    async list() {
      return db.select(columns).from(apiTokens).orderBy(desc(apiTokens.createdAt), apiTokens.id);
    },

    async revoke(id) {
      const [row] = await db
        .select({ revokedAt: apiTokens.revokedAt })
        .from(apiTokens)
        .where(eq(apiTokens.id, id));
      if (!row) throw new NotFoundError("token", id);
      if (row.revokedAt) return;
      await db
        .update(apiTokens)
        .set({ revokedAt: now() })
        .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)));
    },
  };
}
