/** Which devices a deployment or a monitor targets: device ids, tags, or both. Shared by the API and the domain. */
import { z } from "zod";
import { DEVICE_ID_PATTERN } from "../../wire/topics.js";

export const DeviceIdSchema = z
  .string()
  .regex(DEVICE_ID_PATTERN, "lowercase letters, digits and '-', 1-64 long, not starting or ending with '-'");

export const TagsSchema = z.record(
  z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "tag keys: letters, digits, '_', '.', '-'"),
  z.string().max(256),
);

/** A deployment's or monitor's target: listed device ids (optionally narrowed by tags), or tags. */
export const SelectorSchema = z
  .object({ deviceIds: z.array(DeviceIdSchema).min(1).optional(), tags: TagsSchema.optional() })
  .refine((s) => s.deviceIds !== undefined || (s.tags !== undefined && Object.keys(s.tags).length > 0), {
    message: "a selector needs deviceIds or at least one tag",
  });
