/** What the token and whoami routes answer: tokens (never their secret after creation) and the caller. */
import { z } from "zod";
import { TOKEN_ROLES } from "../auth.js";
import { MaybeTimestamp, Timestamp } from "./common.js";

export const TokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: z.enum(TOKEN_ROLES),
    createdAt: Timestamp,
    lastUsedAt: MaybeTimestamp.meta({ description: "refreshed at most once a minute" }),
    revokedAt: MaybeTimestamp,
    expiresAt: MaybeTimestamp,
    state: z.enum(["active", "expired", "revoked"]),
  })
  .meta({ id: "Token" });

export const CreatedTokenSchema = z
  .object({
    id: z.string(),
    token: z.string().meta({ description: "the bearer secret: shown once, never stored" }),
    role: z.enum(TOKEN_ROLES),
    expiresAt: MaybeTimestamp,
  })
  .meta({ id: "CreatedToken" });

export const PrincipalSchema = z
  .discriminatedUnion("kind", [
    z.object({
      kind: z.literal("operator"),
      tokenId: z.string(),
      name: z.string(),
      role: z.enum(TOKEN_ROLES),
    }),
    z.object({ kind: z.literal("device"), deviceId: z.string() }),
    z.object({ kind: z.literal("attempt"), runId: z.string(), attempt: z.number() }),
  ])
  .meta({ id: "Principal", description: "who the credentials belong to" });
