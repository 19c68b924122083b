CREATE TABLE "model_aliases" (
	"model_name" text NOT NULL,
	"alias" text NOT NULL,
	"version" integer NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "model_aliases_model_name_alias_pk" PRIMARY KEY("model_name","alias")
);
--> statement-breakpoint
CREATE TABLE "dataset_versions" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "dataset_versions_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"version" text NOT NULL,
	"format" text NOT NULL,
	"bytes" bigint NOT NULL,
	"rows" integer NOT NULL,
	"target" text,
	"task" text,
	"overrides" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"columns" jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "dataset_versions_name_version_uq" UNIQUE("name","version")
);
--> statement-breakpoint
CREATE TABLE "run_attempts" (
	"run_id" text NOT NULL,
	"n" integer NOT NULL,
	"worker_id" text NOT NULL,
	"status" text NOT NULL,
	"lease_expires_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"error" jsonb,
	CONSTRAINT "run_attempts_run_id_n_pk" PRIMARY KEY("run_id","n")
);
--> statement-breakpoint
CREATE TABLE "run_logs" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"run_id" text NOT NULL,
	"attempt" integer NOT NULL,
	"stream" text NOT NULL,
	"text" text NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "run_metrics" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" text NOT NULL,
	"attempt" integer NOT NULL,
	"name" text NOT NULL,
	"step" integer NOT NULL,
	"value" double precision NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "runs" (
	"id" text PRIMARY KEY NOT NULL,
	"experiment" text NOT NULL,
	"status" text NOT NULL,
	"spec" jsonb NOT NULL,
	"kind" text NOT NULL,
	"attempt" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer NOT NULL,
	"metrics" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"outputs" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"error" jsonb,
	"created_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "workers" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"capabilities" jsonb NOT NULL,
	"registered_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "model_versions" ADD COLUMN "lineage" jsonb;--> statement-breakpoint
ALTER TABLE "model_versions" ADD COLUMN "metrics" jsonb;--> statement-breakpoint
ALTER TABLE "model_versions" ADD COLUMN "baseline" jsonb;--> statement-breakpoint
ALTER TABLE "model_versions" ADD COLUMN "training" jsonb;--> statement-breakpoint
ALTER TABLE "model_aliases" ADD CONSTRAINT "model_aliases_model_name_models_name_fk" FOREIGN KEY ("model_name") REFERENCES "public"."models"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_attempts" ADD CONSTRAINT "run_attempts_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_logs" ADD CONSTRAINT "run_logs_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_metrics" ADD CONSTRAINT "run_metrics_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "dataset_versions_name_created_idx" ON "dataset_versions" USING btree ("name","created_at");--> statement-breakpoint
CREATE INDEX "run_attempts_status_lease_idx" ON "run_attempts" USING btree ("status","lease_expires_at");--> statement-breakpoint
CREATE INDEX "run_attempts_worker_idx" ON "run_attempts" USING btree ("worker_id","status");--> statement-breakpoint
CREATE INDEX "run_logs_run_seq_idx" ON "run_logs" USING btree ("run_id","seq");--> statement-breakpoint
CREATE INDEX "run_metrics_run_idx" ON "run_metrics" USING btree ("run_id","name","step");--> statement-breakpoint
CREATE INDEX "runs_status_created_idx" ON "runs" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "runs_experiment_created_idx" ON "runs" USING btree ("experiment","created_at");