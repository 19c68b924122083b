/** What the device routes answer: a device as stored plus its profile check, and its merge view. */

import { z } from "zod";
import {
  CapabilitiesSchema,
  DesiredStateSchema,
  ReportedStateSchema,
  StatusSchema,
} from "../../../wire/messages.js";
import { REFUSAL_REASONS } from "../../mqtt/device-data-checks.js";
import { MaybeTimestamp, Timestamp } from "./common.js";

export const ProfileCheckSchema = z
  .object({
    ok: z.boolean(),
    problems: z.array(z.string()),
    note: z.string().optional().meta({ description: "why nothing could be compared, when that is the case" }),
  })
  .meta({ id: "ProfileCheck" });

export const DeviceSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    tags: z.record(z.string(), z.string()),
    profile: z.string().nullable(),
    createdAt: Timestamp,
    online: z.boolean(),
    lastSeenAt: MaybeTimestamp,
    agentVersion: z.string().nullable(),
    capabilities: CapabilitiesSchema.nullable(),
    status: StatusSchema.nullable().meta({ description: "the last status message as received" }),
    reported: ReportedStateSchema.nullable().meta({ description: "the last reported message as received" }),
    reportedAt: MaybeTimestamp,
    desired: DesiredStateSchema.nullable().meta({ description: "the desired state last published" }),
    desiredRevision: z.number().int(),
    profileCheck: ProfileCheckSchema,
  })
  .meta({ id: "Device" });

export const MergedModuleSchema = z
  .object({
    name: z.string(),
    version: z.string(),
    deploymentId: z.string(),
    priority: z.number().int(),
    overrides: z.array(
      z.object({ deploymentId: z.string(), version: z.string(), priority: z.number().int() }),
    ),
  })
  .meta({
    id: "MergedModule",
    description: "the deployment that supplies a module, and the ones it overrides",
  });

export const DeviceRefusalsSchema = z
  .object({
    total: z.number().int(),
    byReason: z.partialRecord(z.enum(REFUSAL_REASONS), z.number().int()),
    last: z
      .object({ kind: z.string(), reason: z.enum(REFUSAL_REASONS), detail: z.string(), at: Timestamp })
      .nullable(),
  })
  .meta({
    id: "DeviceRefusals",
    description:
      "messages from this device the hub refused since it started (schema, unstorable text, data invariants, size, quota)",
  });

export const DeviceDetailSchema = DeviceSchema.extend({
  merge: z.array(MergedModuleSchema),
  refusals: DeviceRefusalsSchema,
}).meta({
  id: "DeviceDetail",
});

/** A device as provisioning returns it (no profile check yet: nothing has been reported). */
export const ProvisionedDeviceSchema = DeviceSchema.omit({ profileCheck: true });
