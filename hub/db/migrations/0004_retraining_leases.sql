ALTER TABLE "retraining_cycles" ADD COLUMN "lease_owner" text;--> statement-breakpoint
ALTER TABLE "retraining_cycles" ADD COLUMN "lease_until" timestamp with time zone;