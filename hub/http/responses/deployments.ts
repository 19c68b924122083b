/** What the deployment routes answer: the stored deployment, and its status view (waves, devices, counts). */
import { z } from "zod";
import { DEPLOYMENT_STATUSES, DEPLOYMENT_STRATEGIES } from "../../db/schema/deployments.js";
import { MaybeTimestamp, Timestamp } from "./common.js";

const WaveSpecSchema = z.object({
  count: z.number().int().optional().meta({ description: "cumulative devices once this wave is out" }),
  percent: z.number().optional().meta({ description: "cumulative percentage of the targets" }),
  bakeMs: z.number().int(),
});

const GatesSchema = z.object({
  maxFailureRate: z.number(),
  maxErrorRate: z.number(),
  maxLatencyRatio: z.number(),
  maxPredictionShift: z.number(),
  maxMeanShift: z.number(),
  minRequests: z.number().int(),
  onNoData: z.enum(["pass", "wait", "fail"]).optional(),
  activationTimeoutMs: z.number().int().optional(),
  onOffline: z.enum(["exclude", "fail"]).optional(),
});

const ShadowGateResultItem = z.unknown().meta({
  description: "a shadow gate's result: gate, status (pass | fail | no-data), value, threshold, message",
});

const ShadowSpecSchema = z.object({
  bakeMs: z.number().int(),
  minScored: z.number().int(),
  minAgreement: z.number(),
  maxErrorRate: z.number(),
  maxLatencyRatio: z.number(),
  maxLoadFailureRate: z.number(),
  phase: z.enum(["scoring", "promoted"]),
  verdict: z.object({ at: z.string(), results: z.array(ShadowGateResultItem) }).optional(),
});

export const RolloutSpecSchema = z
  .object({
    waves: z.array(WaveSpecSchema),
    ratePerMinute: z.number().nullable(),
    gates: GatesSchema,
    shadow: ShadowSpecSchema.optional().meta({
      description: "shadow scoring first (absent: an ordinary rollout)",
    }),
  })
  .meta({ id: "RolloutSpec" });

const OutcomeSchema = z.object({
  reason: z.enum([
    "gate-failed",
    "paused",
    "aborted",
    "rolled-back",
    "completed",
    "partially-applied",
    "shadow-dropped",
  ]),
  by: z.string(),
  at: z.string(),
  message: z.string(),
  wave: z.number().int().optional(),
  details: z
    .unknown()
    .optional()
    .meta({ description: "what stopped it: the failed gate's results, or the devices not applied" }),
  devices: z
    .array(
      z.object({
        deviceId: z.string(),
        verdict: z.string(),
        state: z.string().optional(),
        reason: z.string().optional(),
      }),
    )
    .optional()
    .meta({ description: "targeted devices that did not end active, and why" }),
});

export const SkippedDeviceSchema = z
  .object({ deviceId: z.string(), reasons: z.array(z.string()) })
  .meta({ id: "SkippedDevice", description: "a targeted device that preflight left out, and why" });

const ProgressSchema = z
  .object({
    active: z.number().int(),
    targeted: z.number().int(),
    released: z.number().int(),
    failed: z.number().int(),
  })
  .meta({ description: "devices running the version out of those targeted, with the released count beside" });

export const DeploymentSchema = z
  .object({
    id: z.string(),
    moduleName: z.string(),
    moduleVersion: z.string(),
    selector: z.object({
      deviceIds: z.array(z.string()).optional(),
      tags: z.record(z.string(), z.string()).optional(),
    }),
    strategy: z.enum(DEPLOYMENT_STRATEGIES),
    status: z.enum(DEPLOYMENT_STATUSES),
    targetDeviceIds: z.array(z.string()),
    createdBy: z.string(),
    createdAt: Timestamp,
    priority: z.number().int(),
    rollout: RolloutSpecSchema,
    wave: z.number().int().meta({ description: "index of the wave being released or baked" }),
    released: z.number().int().meta({ description: "how many of targetDeviceIds have been released" }),
    waveStartedAt: MaybeTimestamp,
    bakeStartedAt: MaybeTimestamp,
    generation: z.number().int(),
    outcome: OutcomeSchema.nullable(),
    gateResults: z.unknown().meta({ description: "the last gate evaluation, per gate" }),
    updatedAt: MaybeTimestamp,
  })
  .meta({ id: "Deployment" });

/** A deployment in the list: the stored row with its progress. */
export const DeploymentListItemSchema = DeploymentSchema.extend({ progress: ProgressSchema }).meta({
  id: "DeploymentListItem",
});

/** A deployment as creating it answers: the stored row plus the devices preflight skipped. */
export const CreatedDeploymentSchema = DeploymentSchema.extend({
  skipped: z.array(SkippedDeviceSchema),
}).meta({
  id: "CreatedDeployment",
});

const WaveViewSchema = z.object({
  index: z.number().int(),
  percent: z.number().optional(),
  count: z.number().int().optional(),
  devices: z.number().int(),
  cumulative: z.number().int(),
  released: z.number().int(),
  bakeMs: z.number().int(),
  state: z.enum(["passed", "waiting", "failed", "settling", "baking", "releasing", "stopped"]),
  bakeEndsAt: Timestamp.optional(),
  activationDeadlineAt: Timestamp.optional(),
});

const DeviceRolloutSchema = z.object({
  deviceId: z.string(),
  online: z.boolean(),
  state: z.string().meta({ description: "unreleased, pending, a module state, overridden or rolled-back" }),
  reportedVersion: z.string().optional(),
  error: z.string().nullish(),
  servingVersion: z.string().nullish(),
  verdict: z.string().optional(),
  reason: z.string().optional(),
});

const ShadowViewSchema = z
  .looseObject({
    phase: z.enum(["scoring", "promoted"]),
    judgedAt: Timestamp.optional(),
    gates: z.array(ShadowGateResultItem),
  })
  .meta({
    description: "serving and candidate figures on the same requests, side by side, and the shadow gates",
  });

export const DeploymentStatusSchema = DeploymentSchema.extend({
  shadow: ShadowViewSchema.optional(),
  counts: z
    .record(z.string(), z.number().int())
    .meta({ description: "devices per state, plus targeted and skipped" }),
  waves: z.array(WaveViewSchema),
  devices: z.array(DeviceRolloutSchema),
  skipped: z.array(SkippedDeviceSchema),
}).meta({ id: "DeploymentStatus" });
