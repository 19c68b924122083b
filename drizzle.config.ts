/** drizzle-kit settings: `npm run db:generate` writes SQL migrations from hub/db/schema. */
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./hub/db/schema/index.ts",
  out: "./hub/db/migrations",
});
