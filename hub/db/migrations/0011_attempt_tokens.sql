ALTER TABLE "run_attempts" ADD COLUMN "token_hash" text;--> statement-breakpoint
CREATE UNIQUE INDEX "run_attempts_token_hash_idx" ON "run_attempts" USING btree ("token_hash");