/**
 * Test stand-in for the hub's blob and signing-key endpoints: a node:http server on a free port
 * that serves tarballs by path with Range support and device Basic auth, records every request,
 * and can stall a response halfway to imitate a dead connection.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface BlobHit {
  path: string;
  range: string | undefined;
  authorization: string | undefined;
  status: number;
}

export interface BlobServer {
  url: string;
  hits: BlobHit[];
  /** Serves `bytes` at `${url}/blobs/${id}`; returns that URL. */
  put(id: string, bytes: Uint8Array): string;
  /**
   * The next blob response sends only this many bytes, then stalls with the connection open (a
   * dead link as the client sees it). Stalling, not closing, keeps the test deterministic: a fetch
   * body that errors discards chunks its reader has not pulled yet, a stalled one does not.
   */
  stallNextAfter(bytes: number): void;
  /** Answer Range requests with the whole file (200), as a server without Range support would. */
  ignoreRange: boolean;
  close(): Promise<void>;
}

export interface BlobServerOptions {
  /** Expected `Authorization` header; other values get 401. */
  authorization?: string;
  /** PEM served at GET /api/v1/signing-key as `{ publicKeyPem }`. */
  signingKeyPem?: string;
}

/** Starts the server on 127.0.0.1 and a free port. */
export async function startBlobServer(options: BlobServerOptions = {}): Promise<BlobServer> {
  const blobs = new Map<string, Uint8Array>();
  const hits: BlobHit[] = [];
  let stallAfter: number | undefined;
  const state = { ignoreRange: false };

  const handle = (req: IncomingMessage, res: ServerResponse): number => {
    if (options.authorization !== undefined && req.headers.authorization !== options.authorization) {
      res.writeHead(401, { "content-type": "application/json" }).end('{"error":{"code":"unauthorized"}}');
      return 401;
    }
    if (req.url === "/api/v1/signing-key" && options.signingKeyPem !== undefined) {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ publicKeyPem: options.signingKeyPem }));
      return 200;
    }
    const bytes = blobs.get(req.url ?? "");
    if (bytes === undefined) {
      res.writeHead(404).end();
      return 404;
    }
    let start = 0;
    let status = 200;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range && !state.ignoreRange) {
      start = Number(range[1]);
      if (start >= bytes.length) {
        res.writeHead(416, { "content-range": `bytes */${bytes.length}` }).end();
        return 416;
      }
      status = 206;
    }
    const body = Buffer.from(bytes.subarray(start));
    const headers: Record<string, string | number> = {
      "content-length": body.length,
      "accept-ranges": "bytes",
    };
    if (status === 206) headers["content-range"] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
    res.writeHead(status, headers);
    if (stallAfter !== undefined) {
      res.write(body.subarray(0, stallAfter));
      stallAfter = undefined;
    } else {
      res.end(body);
    }
    return status;
  };

  const server = createServer((req, res) => {
    const status = handle(req, res);
    hits.push({
      path: req.url ?? "",
      range: req.headers.range,
      authorization: req.headers.authorization,
      status,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    hits,
    put(id, bytes) {
      blobs.set(`/blobs/${id}`, bytes);
      return `${url}/blobs/${id}`;
    },
    stallNextAfter(bytes) {
      stallAfter = bytes;
    },
    get ignoreRange() {
      return state.ignoreRange;
    },
    set ignoreRange(value: boolean) {
      state.ignoreRange = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
