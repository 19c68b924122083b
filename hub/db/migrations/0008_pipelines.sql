CREATE TABLE "pipeline_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"spec" jsonb NOT NULL,
	"status" text NOT NULL,
	"failed_step" text,
	"error" text,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "pipeline_steps" (
	"id" text PRIMARY KEY NOT NULL,
	"pipeline_run_id" text NOT NULL,
	"kind" text NOT NULL,
	"position" integer NOT NULL,
	"status" text NOT NULL,
	"inputs_hash" text,
	"inputs" jsonb,
	"output" jsonb,
	"progress" jsonb,
	"reused_step_id" text,
	"reused_pipeline_run_id" text,
	"error" text,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	CONSTRAINT "pipeline_steps_run_kind_uq" UNIQUE("pipeline_run_id","kind")
);
--> statement-breakpoint
ALTER TABLE "pipeline_steps" ADD CONSTRAINT "pipeline_steps_pipeline_run_id_pipeline_runs_id_fk" FOREIGN KEY ("pipeline_run_id") REFERENCES "public"."pipeline_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "pipeline_runs_name_created_idx" ON "pipeline_runs" USING btree ("name","created_at");--> statement-breakpoint
CREATE INDEX "pipeline_runs_status_idx" ON "pipeline_runs" USING btree ("status");--> statement-breakpoint
CREATE INDEX "pipeline_steps_reuse_idx" ON "pipeline_steps" USING btree ("kind","inputs_hash","status");