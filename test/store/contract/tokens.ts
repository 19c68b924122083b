/** Contract: API tokens. */
import { describe, expect, it } from "vitest";
import { NotFoundError, tokenRepo, ValidationError } from "../../../hub/repos/index.js";
import { type ContractContext, manualClock, unique } from "./context.js";

/** Registers the token tests. */
export function tokenContract(ctx: ContractContext): void {
  describe("tokens", () => {
    it("creates a token shown once and verifies it to its identity", async () => {
      const tokens = tokenRepo(ctx.db());
      const name = unique("ci");
      const created = await tokens.create(name, "operator");
      expect(created.token).toMatch(/^ef_[A-Za-z0-9_-]{43}$/);
      expect(created.role).toBe("operator");
      expect(await tokens.verify(created.token)).toEqual({ id: created.id, name, role: "operator" });
      const listed = (await tokens.list()).find((t) => t.id === created.id);
      expect(listed).toMatchObject({ name, role: "operator", revokedAt: null });
      expect(JSON.stringify(listed)).not.toContain(created.token);
    });

    it("refuses wrong, malformed and revoked tokens", async () => {
      const tokens = tokenRepo(ctx.db());
      const created = await tokens.create(unique(), "viewer");
      expect(await tokens.verify(`${created.token}x`)).toBeNull();
      expect(await tokens.verify(created.token.slice(3))).toBeNull();
      expect(await tokens.verify("")).toBeNull();
      await tokens.revoke(created.id);
      await tokens.revoke(created.id); // idempotent
      expect(await tokens.verify(created.token)).toBeNull();
      expect((await tokens.list()).find((t) => t.id === created.id)?.revokedAt).toBeInstanceOf(Date);
    });

    it("refuses unknown ids, bad roles and empty names", async () => {
      const tokens = tokenRepo(ctx.db());
      await expect(tokens.revoke("00000000-0000-4000-8000-000000000000")).rejects.toBeInstanceOf(
        NotFoundError,
      );
      await expect(tokens.create("x", "root" as "admin")).rejects.toBeInstanceOf(ValidationError);
      await expect(tokens.create("  ", "admin")).rejects.toBeInstanceOf(ValidationError);
    });

    it("refreshes last_used_at at most once a minute", async () => {
      const clock = manualClock();
      const tokens = tokenRepo(ctx.db(), clock);
      const created = await tokens.create(unique(), "admin");
      const lastUsed = async () =>
        (await tokens.list()).find((t) => t.id === created.id)?.lastUsedAt?.getTime();
      const t0 = Date.parse("2025-02-01T00:00:00.000Z");
      clock.set(t0);
      await tokens.verify(created.token);
      expect(await lastUsed()).toBe(t0);
      clock.set(t0 + 30_000);
      await tokens.verify(created.token);
      expect(await lastUsed()).toBe(t0);
      clock.set(t0 + 61_000);
      await tokens.verify(created.token);
      expect(await lastUsed()).toBe(t0 + 61_000);
    });
  });
}
