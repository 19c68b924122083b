/** Packaged model modules: one row per (name, semver version), pointing at its signed tarball blob. */
import { bigint, integer, jsonb, pgTable, text, timestamp, unique } from "drizzle-orm/pg-core";
import type { Manifest } from "../../../modules/manifest.js";
import { modelVersions } from "./models.js";

export const modules = pgTable(
  "modules",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    name: text("name").notNull(),
    version: text("version").notNull(),
    modelVersionId: integer("model_version_id")
      .notNull()
      .references(() => modelVersions.id, { onDelete: "restrict" }),
    manifest: jsonb("manifest").$type<Manifest>().notNull(),
    tarballSha256: text("tarball_sha256").notNull(),
    tarballSize: bigint("tarball_size", { mode: "number" }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
  },
  (t) => [unique("modules_name_version_uq").on(t.name, t.version)],
);
