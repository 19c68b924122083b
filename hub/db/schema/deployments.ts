/** Deployments: which module version goes to which devices, and whether the decision still stands. */
import { index, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/** How a deployment picks devices; both parts must match when both are given. */
export interface DeploymentSelector {
  deviceIds?: string[];
  tags?: Record<string, string>;
}

export const DEPLOYMENT_STRATEGIES = ["all-at-once"] as const;
export type DeploymentStrategy = (typeof DEPLOYMENT_STRATEGIES)[number];

export const DEPLOYMENT_STATUSES = ["active", "superseded", "cancelled"] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

export const deployments = pgTable(
  "deployments",
  {
    id: text("id").primaryKey(),
    moduleName: text("module_name").notNull(),
    moduleVersion: text("module_version").notNull(),
    selector: jsonb("selector").$type<DeploymentSelector>().notNull(),
    strategy: text("strategy").$type<DeploymentStrategy>().notNull().default("all-at-once"),
    status: text("status").$type<DeploymentStatus>().notNull().default("active"),
    /** Devices the selector resolved to when the deployment was created. */
    targetDeviceIds: jsonb("target_device_ids").$type<string[]>().notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
  },
  (t) => [
    index("deployments_module_idx").on(t.moduleName, t.status),
    index("deployments_targets_idx").using("gin", t.targetDeviceIds),
  ],
);
