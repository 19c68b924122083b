/**
 * Serves the built console (dist/console, made by `npm run build` with vite) under `/`. Its asset
 * URLs and API calls are relative and its pages live in the URL fragment, so the same files work
 * at `/` and behind a reverse proxy under any path prefix. The console makes no request to any
 * other origin, and the Content-Security-Policy holds it to that.
 */
import { readdir, readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import type { Context } from "hono";
import { Hono } from "hono";
import type { Logger } from "../../lib/log.js";
import { projectRoot } from "../../lib/paths.js";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
  ".map": "application/json",
};

/**
 * Scripts and styles from this origin only; inline style attributes are allowed because the chart
 * library positions its legend and cursor with them. No frames, no other origins.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join("; ");

interface Asset {
  body: Uint8Array;
  type: string;
}

export interface StaticRouteOptions {
  /** Folder of the built console; defaults to dist/console in the project. */
  dir?: string;
  log: Logger;
}

/** The console's files, read once into memory (a few hundred KB) on the first request. */
export function staticConsoleRoutes(options: StaticRouteOptions): Hono {
  const dir = options.dir ?? join(projectRoot(), "dist", "console");
  let files: Map<string, Asset> | undefined;

  async function load(): Promise<Map<string, Asset> | undefined> {
    if (files) return files;
    try {
      const loaded = new Map<string, Asset>();
      for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile()) continue;
        const full = join(entry.parentPath, entry.name);
        const path = full.slice(dir.length).replaceAll("\\", "/");
        loaded.set(path, {
          body: await readFile(full),
          type: TYPES[extname(entry.name)] ?? "application/octet-stream",
        });
      }
      if (!loaded.has("/index.html")) return undefined;
      files = loaded;
      return files;
    } catch (error) {
      options.log.warn({ event: "console.assets.missing", dir, err: error });
      return undefined;
    }
  }

  async function serve(c: Context, path: string) {
    const assets = await load();
    if (!assets) {
      return c.text("The console is not built: run `npm run build` (it builds dist/console).\n", 503, {
        "retry-after": "5",
      });
    }
    const asset = assets.get(path);
    if (!asset) return c.text("not found\n", 404);
    // Hashed asset names never change content; the page itself must always be re-read.
    const cache = path.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache";
    return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, {
      "content-type": asset.type,
      "cache-control": cache,
      "content-security-policy": CSP,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "x-frame-options": "DENY",
    });
  }

  const app = new Hono();
  app.get("/", (c) => serve(c, "/index.html"));
  app.get("/index.html", (c) => serve(c, "/index.html"));
  app.get("/favicon.svg", (c) => serve(c, "/favicon.svg"));
  app.get("/assets/:file", (c) => {
    const file = c.req.param("file");
    // Only plain file names: no "..", no separators, whatever the router decoded.
    if (!/^[\w.-]+$/.test(file) || file.includes("..")) return c.text("not found\n", 404);
    return serve(c, `/assets/${file}`);
  });
  return app;
}
