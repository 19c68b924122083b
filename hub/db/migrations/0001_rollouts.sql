ALTER TABLE "deployments" ADD COLUMN "priority" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "rollout" jsonb DEFAULT '{"waves":[{"percent":100,"bakeMs":0}],"ratePerMinute":null,"gates":{"maxFailureRate":1,"maxErrorRate":1,"maxLatencyRatio":1000000,"maxPredictionShift":1,"maxMeanShift":1000000,"minRequests":1}}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "wave" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "released" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "wave_started_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "bake_started_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "generation" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "outcome" jsonb;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "gate_results" jsonb;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "updated_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "deployments_status_idx" ON "deployments" USING btree ("status");--> statement-breakpoint
-- Deployments made before rollouts were released to every target at once: record them as done.
UPDATE "deployments" SET "released" = jsonb_array_length("target_device_ids"), "status" = CASE WHEN "status" = 'active' THEN 'completed' ELSE "status" END;
