CREATE TABLE "deployments" (
	"id" text PRIMARY KEY NOT NULL,
	"module_name" text NOT NULL,
	"module_version" text NOT NULL,
	"selector" jsonb NOT NULL,
	"strategy" text DEFAULT 'all-at-once' NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"target_device_ids" jsonb NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "devices" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"tags" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"profile" text,
	"secret_hash" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"online" boolean DEFAULT false NOT NULL,
	"last_seen_at" timestamp with time zone,
	"agent_version" text,
	"capabilities" jsonb,
	"status" jsonb,
	"reported" jsonb,
	"reported_at" timestamp with time zone,
	"desired" jsonb,
	"desired_revision" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "device_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"device_id" text NOT NULL,
	"kind" text NOT NULL,
	"module" text,
	"version" text,
	"message" text NOT NULL,
	"details" jsonb,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "model_versions" (
	"id" serial PRIMARY KEY NOT NULL,
	"model_name" text NOT NULL,
	"version" integer NOT NULL,
	"sha256" text NOT NULL,
	"size" bigint NOT NULL,
	"blob_sha256" text NOT NULL,
	"inputs" jsonb NOT NULL,
	"outputs" jsonb NOT NULL,
	"ir_version" integer NOT NULL,
	"opsets" jsonb NOT NULL,
	"producer" text DEFAULT '' NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "model_versions_name_version_uq" UNIQUE("model_name","version")
);
--> statement-breakpoint
CREATE TABLE "models" (
	"name" text PRIMARY KEY NOT NULL,
	"description" text,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "modules" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "modules_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"version" text NOT NULL,
	"model_version_id" integer NOT NULL,
	"manifest" jsonb NOT NULL,
	"tarball_sha256" text NOT NULL,
	"tarball_size" bigint NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "modules_name_version_uq" UNIQUE("name","version")
);
--> statement-breakpoint
CREATE TABLE "telemetry_windows" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"device_id" text NOT NULL,
	"seq" integer NOT NULL,
	"module" text NOT NULL,
	"module_version" text NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"window_end" timestamp with time zone NOT NULL,
	"requests" integer NOT NULL,
	"errors" integer NOT NULL,
	"latency_sum_ms" double precision NOT NULL,
	"payload" jsonb NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	CONSTRAINT "telemetry_windows_dedupe_uq" UNIQUE("device_id","seq","module")
);
--> statement-breakpoint
CREATE TABLE "api_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"token_hash" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_model_name_models_name_fk" FOREIGN KEY ("model_name") REFERENCES "public"."models"("name") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "modules" ADD CONSTRAINT "modules_model_version_id_model_versions_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_versions"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "deployments_module_idx" ON "deployments" USING btree ("module_name","status");--> statement-breakpoint
CREATE INDEX "deployments_targets_idx" ON "deployments" USING gin ("target_device_ids");--> statement-breakpoint
CREATE INDEX "devices_tags_idx" ON "devices" USING gin ("tags");--> statement-breakpoint
CREATE INDEX "device_events_device_at_idx" ON "device_events" USING btree ("device_id","at");--> statement-breakpoint
CREATE INDEX "telemetry_windows_module_end_idx" ON "telemetry_windows" USING btree ("module","window_end");--> statement-breakpoint
CREATE INDEX "telemetry_windows_device_end_idx" ON "telemetry_windows" USING btree ("device_id","window_end");--> statement-breakpoint
CREATE INDEX "api_tokens_created_at_idx" ON "api_tokens" USING btree ("created_at");