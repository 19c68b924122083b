ALTER TABLE "drift_summaries" DROP CONSTRAINT "drift_summaries_dedupe_uq";--> statement-breakpoint
ALTER TABLE "telemetry_windows" DROP CONSTRAINT "telemetry_windows_dedupe_uq";--> statement-breakpoint
ALTER TABLE "drift_summaries" ADD COLUMN "epoch" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "telemetry_windows" ADD COLUMN "epoch" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "drift_summaries" ADD CONSTRAINT "drift_summaries_dedupe_uq" UNIQUE("device_id","epoch","seq","module");--> statement-breakpoint
ALTER TABLE "telemetry_windows" ADD CONSTRAINT "telemetry_windows_dedupe_uq" UNIQUE("device_id","epoch","seq","module");