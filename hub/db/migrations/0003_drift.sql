CREATE TABLE "alerts" (
	"id" text PRIMARY KEY NOT NULL,
	"monitor_id" text NOT NULL,
	"evaluation_id" integer,
	"at" timestamp with time zone NOT NULL,
	"message" text NOT NULL,
	"details" jsonb NOT NULL,
	"webhook_status" text NOT NULL,
	"webhook_attempts" integer DEFAULT 0 NOT NULL,
	"webhook_error" text,
	"delivered_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "drift_samples" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"device_id" text NOT NULL,
	"module" text NOT NULL,
	"module_version" text NOT NULL,
	"sample_id" text NOT NULL,
	"inputs" jsonb NOT NULL,
	"outputs" jsonb,
	"label" jsonb,
	"at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	CONSTRAINT "drift_samples_device_sample_uq" UNIQUE("device_id","module","sample_id")
);
--> statement-breakpoint
CREATE TABLE "drift_summaries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"device_id" text NOT NULL,
	"seq" integer NOT NULL,
	"module" text NOT NULL,
	"module_version" text NOT NULL,
	"baseline_id" text NOT NULL,
	"rows" integer NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"window_end" timestamp with time zone NOT NULL,
	"summary" jsonb NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	CONSTRAINT "drift_summaries_dedupe_uq" UNIQUE("device_id","seq","module")
);
--> statement-breakpoint
CREATE TABLE "monitor_evaluations" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"monitor_id" text NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"module_version" text NOT NULL,
	"verdict" text NOT NULL,
	"rows" integer NOT NULL,
	"devices" integer NOT NULL,
	"window_end" timestamp with time zone,
	"report" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "monitors" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"module" text NOT NULL,
	"module_version" text NOT NULL,
	"selector" jsonb NOT NULL,
	"settings" jsonb NOT NULL,
	"interval_ms" integer NOT NULL,
	"action" jsonb NOT NULL,
	"webhook" jsonb,
	"enabled" boolean DEFAULT true NOT NULL,
	"state" text DEFAULT 'no-data' NOT NULL,
	"next_run_at" timestamp with time zone NOT NULL,
	"last_evaluated_at" timestamp with time zone,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "monitors_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "retraining_cycles" (
	"id" text PRIMARY KEY NOT NULL,
	"monitor_id" text NOT NULL,
	"alert_id" text,
	"status" text NOT NULL,
	"state" jsonb NOT NULL,
	"error" text,
	"started_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "retraining_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"cycle_id" text NOT NULL,
	"monitor_id" text NOT NULL,
	"step" text NOT NULL,
	"status" text NOT NULL,
	"message" text NOT NULL,
	"details" jsonb,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_monitor_id_monitors_id_fk" FOREIGN KEY ("monitor_id") REFERENCES "public"."monitors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "monitor_evaluations" ADD CONSTRAINT "monitor_evaluations_monitor_id_monitors_id_fk" FOREIGN KEY ("monitor_id") REFERENCES "public"."monitors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "retraining_cycles" ADD CONSTRAINT "retraining_cycles_monitor_id_monitors_id_fk" FOREIGN KEY ("monitor_id") REFERENCES "public"."monitors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "retraining_events" ADD CONSTRAINT "retraining_events_cycle_id_retraining_cycles_id_fk" FOREIGN KEY ("cycle_id") REFERENCES "public"."retraining_cycles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "alerts_monitor_at_idx" ON "alerts" USING btree ("monitor_id","at");--> statement-breakpoint
CREATE INDEX "drift_samples_module_at_idx" ON "drift_samples" USING btree ("module","at");--> statement-breakpoint
CREATE INDEX "drift_summaries_cohort_idx" ON "drift_summaries" USING btree ("module","module_version","device_id","window_end");--> statement-breakpoint
CREATE INDEX "monitor_evaluations_monitor_at_idx" ON "monitor_evaluations" USING btree ("monitor_id","at");--> statement-breakpoint
CREATE INDEX "retraining_cycles_monitor_idx" ON "retraining_cycles" USING btree ("monitor_id","started_at");--> statement-breakpoint
CREATE INDEX "retraining_events_monitor_idx" ON "retraining_events" USING btree ("monitor_id","id");