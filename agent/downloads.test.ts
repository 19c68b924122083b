/** Tarball downloads against a real HTTP server: resume, integrity refusals, auth scoping. */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../lib/files.js";
import { silentLogger } from "../lib/log.js";
import { type BlobServer, startBlobServer } from "../test/agent/blob-server.js";
import { DownloadError, downloadTarball, hubAuthorization } from "./downloads.js";

const AUTH = hubAuthorization("http://hub/", "http://hub/", "dev-1", "s3cret")!;
const BYTES = randomBytes(200_000);
const SHA = sha256Hex(BYTES);

let server: BlobServer;
let dir: string;

beforeAll(async () => {
  server = await startBlobServer({ authorization: AUTH });
});
afterAll(() => server.close());
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgefleet-downloads-"));
  server.hits.length = 0;
  server.ignoreRange = false;
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function request(url: string, overrides: Partial<Parameters<typeof downloadTarball>[0]> = {}) {
  return {
    url,
    sha256: SHA,
    size: BYTES.length,
    downloadsDir: dir,
    authorization: AUTH,
    log: silentLogger,
    ...overrides,
  };
}

describe("downloadTarball", () => {
  it("downloads, verifies and renames to <sha256>.tar.gz", async () => {
    const path = await downloadTarball(request(server.put("a", BYTES)));
    expect(path).toBe(join(dir, `${SHA}.tar.gz`));
    expect(sha256Hex(await readFile(path))).toBe(SHA);
    expect(await readdir(dir)).toEqual([`${SHA}.tar.gz`]);
  });

  it("resumes a partial .part file with a Range request", async () => {
    const url = server.put("b", BYTES);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${SHA}.part`), BYTES.subarray(0, 70_000));
    await downloadTarball(request(url));
    expect(server.hits.map((h) => [h.range, h.status])).toEqual([["bytes=70000-", 206]]);
    expect(sha256Hex(await readFile(join(dir, `${SHA}.tar.gz`)))).toBe(SHA);
  });

  it("starts over from byte 0 when a resumed download fails its hash (zeroed blocks from a power cut)", async () => {
    const url = server.put("zeroed", BYTES);
    await mkdir(dir, { recursive: true });
    const damaged = Buffer.from(BYTES.subarray(0, 70_000));
    damaged.fill(0, 4096, 8192);
    await writeFile(join(dir, `${SHA}.part`), damaged);
    await downloadTarball(request(url));
    expect(server.hits.map((h) => [h.range, h.status])).toEqual([
      ["bytes=70000-", 206],
      [undefined, 200],
    ]);
    expect(sha256Hex(await readFile(join(dir, `${SHA}.tar.gz`)))).toBe(SHA);
  });

  it("starts over when the part file was zero-extended to the full size", async () => {
    const url = server.put("extended", BYTES);
    await mkdir(dir, { recursive: true });
    const extended = Buffer.alloc(BYTES.length);
    BYTES.copy(extended, 0, 0, 70_000);
    await writeFile(join(dir, `${SHA}.part`), extended);
    await downloadTarball(request(url));
    expect(server.hits.map((h) => h.status)).toEqual([200]);
    expect(sha256Hex(await readFile(join(dir, `${SHA}.tar.gz`)))).toBe(SHA);
  });

  it("gives up on a stalled connection (transient), keeps what arrived and resumes from there", async () => {
    const url = server.put("c", BYTES);
    server.stallNextAfter(50_000);
    const error = await downloadTarball(request(url, { idleTimeoutMs: 1000 })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "stalled", transient: true });
    const partial = await readFile(join(dir, `${SHA}.part`));
    expect(partial.equals(BYTES.subarray(0, 50_000))).toBe(true);
    await downloadTarball(request(url));
    expect(server.hits[1]?.range).toBe("bytes=50000-");
    expect(sha256Hex(await readFile(join(dir, `${SHA}.tar.gz`)))).toBe(SHA);
  });

  it("starts over when the server ignores Range and sends the whole file", async () => {
    const url = server.put("d", BYTES);
    server.ignoreRange = true;
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${SHA}.part`), Buffer.alloc(70_000, 7)); // garbage that must not survive
    await downloadTarball(request(url));
    expect(server.hits[0]?.status).toBe(200);
    expect(sha256Hex(await readFile(join(dir, `${SHA}.tar.gz`)))).toBe(SHA);
  });

  it("refuses bytes with the wrong sha256, permanently, and leaves no file behind", async () => {
    const corrupted = Buffer.from(BYTES);
    corrupted[1234] = corrupted[1234]! ^ 0xff;
    const error = await downloadTarball(request(server.put("e", corrupted))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect(error).toMatchObject({ code: "hash", transient: false });
    expect(await readdir(dir)).toEqual([]);
  });

  it("refuses a server that sends more bytes than announced", async () => {
    const error = await downloadTarball(request(server.put("f", BYTES), { size: 1000 })).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "size", transient: false });
    expect(await readdir(dir)).toEqual([]);
  });

  it("treats 404 and refused credentials as permanent", async () => {
    await expect(downloadTarball(request(`${server.url}/blobs/missing`))).rejects.toMatchObject({
      transient: false,
    });
    const wrongAuth = hubAuthorization("http://hub/", "http://hub/", "dev-1", "wrong")!;
    await expect(
      downloadTarball(request(server.put("g", BYTES), { authorization: wrongAuth })),
    ).rejects.toMatchObject({ transient: false, message: expect.stringContaining("401") });
  });

  it("treats an unreachable server as transient", async () => {
    const closed = await startBlobServer();
    const url = closed.put("x", BYTES);
    await closed.close();
    const error = await downloadTarball(request(url)).catch((e: unknown) => e);
    expect((error as { transient?: boolean }).transient).not.toBe(false);
  });

  it("refuses to start without room for the rest of the tarball and its unpacked copy (transient)", async () => {
    const url = server.put("h", BYTES);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${SHA}.part`), BYTES.subarray(0, 50_000));
    // Needed: 150,000 still to fetch + 200,000 unpacked = 350,000 bytes.
    const error = await downloadTarball(request(url, { freeBytes: async () => 349_999 })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DownloadError);
    expect(error).toMatchObject({ code: "disk", transient: true });
    expect((error as Error).message).toMatch(/350000 bytes needed, 349999 free/);
    expect(server.hits).toEqual([]);
    expect(await readdir(dir)).toEqual([`${SHA}.part`]);
    await downloadTarball(request(url, { freeBytes: async () => 350_000 }));
    expect(server.hits.map((h) => h.range)).toEqual(["bytes=50000-"]);
  });

  it("reports progress after each chunk is on disk", async () => {
    const progress: number[] = [];
    await downloadTarball(
      request(server.put("i", BYTES), { onProgress: (written) => progress.push(written) }),
    );
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(BYTES.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });
});

describe("hubAuthorization", () => {
  it("sends device credentials to the hub's origin only", () => {
    expect(hubAuthorization("http://hub:8470/blobs/x", "http://hub:8470", "dev-1", "pw")).toBe(
      `Basic ${Buffer.from("dev-1:pw").toString("base64")}`,
    );
    expect(hubAuthorization("https://s3.example.com/x", "http://hub:8470", "dev-1", "pw")).toBeUndefined();
    expect(hubAuthorization("http://hub:9999/blobs/x", "http://hub:8470", "dev-1", "pw")).toBeUndefined();
  });
});
