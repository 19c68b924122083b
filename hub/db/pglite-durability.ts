/**
 * Makes PGlite durable on Node. Two things are needed, and the second is not obvious:
 *
 * 1. PGlite's default start parameters include `-F` (fsync off); we start without it.
 * 2. Even with fsync on, PGlite's Node file system (Emscripten's NODEFS) turns Postgres' fsync into
 *    nothing: measured with `strace -e fsync,fdatasync`, 50 commits made 0 sync calls either way.
 *    So after every statement (PGlite's `syncToFs` hook, which each query awaits before it
 *    resolves) we fsync the WAL segments that changed ourselves: a commit the hub acknowledged is
 *    on disk. Postgres recycles WAL only after a checkpoint, which writes the data files without a
 *    real fsync too; when `global/pg_control` changes (every checkpoint rewrites it) every file
 *    of the cluster is fsynced before the next statement returns, so no WAL is recycled whose
 *    changes are only in the page cache.
 *
 * Cost: one fdatasync per writing statement (bench H3, docs/development.md).
 */
import { open, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { fsyncFolder } from "../../lib/files.js";

const WAL_SEGMENT = /^[0-9A-F]{24}$/;

/** Tracks the cluster's WAL and control file and fsyncs what changed since the last call. */
export class PgliteDurability {
  /** WAL segment → size and mtime when last synced. */
  readonly #synced = new Map<string, string>();
  #control = "";
  #running: Promise<void> | undefined;
  #again = false;

  constructor(private readonly folder: string) {}

  /** fsyncs changed WAL segments (and the whole cluster after a checkpoint); one pass at a time. */
  async sync(): Promise<void> {
    if (this.#running) {
      // A pass in flight may have looked before this statement wrote: run one more after it.
      this.#again = true;
      while (this.#running) await this.#running;
      return;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.#pass();
        } while (this.#again);
      } finally {
        this.#running = undefined;
      }
    })();
    await this.#running;
  }

  async #pass(): Promise<void> {
    const walDir = join(this.folder, "pg_wal");
    let walChanged = false;
    for (const name of await readdir(walDir)) {
      if (!WAL_SEGMENT.test(name)) continue;
      const path = join(walDir, name);
      const info = await stat(path).catch(() => null);
      if (info === null) continue;
      const mark = `${info.size}:${info.mtimeMs}`;
      if (this.#synced.get(name) === mark) continue;
      await fsyncFile(path, true);
      this.#synced.set(name, mark);
      walChanged = true;
    }
    if (walChanged) await fsyncFolder(walDir);
    const control = await stat(join(this.folder, "global", "pg_control")).catch(() => null);
    const mark = control ? `${control.size}:${control.mtimeMs}` : "";
    if (mark !== this.#control) {
      await fsyncTree(this.folder);
      this.#control = mark;
    }
  }
}

async function fsyncFile(path: string, dataOnly: boolean): Promise<void> {
  const handle = await open(path, "r+");
  try {
    await (dataOnly ? handle.datasync() : handle.sync());
  } finally {
    await handle.close();
  }
}

/** fsyncs every regular file and folder under `folder`. */
async function fsyncTree(folder: string): Promise<void> {
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) await fsyncTree(path);
    else if (entry.isFile()) await fsyncFile(path, false).catch(() => undefined);
  }
  await fsyncFolder(folder);
}
