/** What the console's fleet routes answer: fleet counts with profile-check failures, and a page of table rows. */
import { z } from "zod";
import { CapabilitiesSchema } from "../../../wire/messages.js";
import { MaybeTimestamp } from "./common.js";
import { ProfileCheckSchema } from "./devices.js";

export const FleetSummarySchema = z
  .object({
    total: z.number().int(),
    online: z.number().int(),
    offline: z.number().int(),
    byProfile: z.array(
      z.object({ profile: z.string().nullable(), devices: z.number().int(), online: z.number().int() }),
    ),
    byModule: z.array(
      z.object({ module: z.string(), version: z.string(), state: z.string(), devices: z.number().int() }),
    ),
    byAgentVersion: z.array(z.object({ agentVersion: z.string().nullable(), devices: z.number().int() })),
    profileCheck: z.object({
      failing: z.number().int().meta({ description: "devices whose profile check fails" }),
      problems: z.array(
        z.object({ profile: z.string(), devices: z.number().int(), problems: z.array(z.string()) }),
      ),
    }),
  })
  .meta({ id: "FleetSummary" });

/** One row of the devices table: what the table shows, never the desired state or the secret. */
export const FleetRowSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    tags: z.record(z.string(), z.string()),
    profile: z.string().nullable(),
    online: z.boolean(),
    lastSeenAt: MaybeTimestamp,
    agentVersion: z.string().nullable(),
    capabilities: CapabilitiesSchema.nullable(),
    agentProfile: z.string().nullable().meta({ description: "the profile the agent says it runs" }),
    modules: z.array(
      z.object({
        name: z.string(),
        version: z.string(),
        state: z.string(),
        servingVersion: z.string().nullable().optional(),
      }),
    ),
    profileCheck: ProfileCheckSchema,
  })
  .meta({ id: "FleetRow" });

export const FleetPageSchema = z
  .object({
    devices: z.array(FleetRowSchema),
    total: z.number().int().meta({ description: "devices matching the filters, all pages together" }),
    next: z.string().nullable().meta({ description: "pass as `after` for the next page; null on the last" }),
  })
  .meta({ id: "FleetPage" });
