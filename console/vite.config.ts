// The console build: preact + uPlot bundled by vite into dist/console with relative asset URLs
// (base "./"), so the hub can serve it at / or behind a reverse proxy under any path prefix.
import { fileURLToPath } from "node:url";
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: here,
  base: "./",
  plugins: [preact()],
  logLevel: "warn",
  build: {
    outDir: fileURLToPath(new URL("../dist/console", import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    // No module preload polyfill: it is inline script, which the hub's CSP refuses.
    modulePreload: { polyfill: false },
  },
});
