/**
 * Writes a gzipped tar of in-memory files, byte-for-byte reproducible: entries in the given order,
 * fixed mtime, mode 0644, uid/gid 0 and no user names, so the same module always hashes the same.
 */
import { gzipSync } from "node:zlib";
import { Header } from "tar";

const BLOCK = 512;
/** Every entry's mtime; a constant so that rebuilding a module gives the same bytes. */
export const FIXED_MTIME = new Date("2000-01-01T00:00:00Z");

export interface TarFile {
  /** A plain file name (no folders). */
  name: string;
  data: Uint8Array;
}

function headerBlock(file: TarFile): Buffer {
  const header = new Header({
    path: file.name,
    mode: 0o644,
    uid: 0,
    gid: 0,
    uname: "",
    gname: "",
    size: file.data.byteLength,
    mtime: FIXED_MTIME,
    type: "File",
  });
  const block = Buffer.alloc(BLOCK);
  // encode() reports whether the fields needed a pax header; our short plain names never do.
  if (header.encode(block, 0)) throw new Error(`tar entry "${file.name}" would need a pax header`);
  return block;
}

/** Builds the tar.gz of `files` in order. */
export function writeTarGz(files: TarFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    parts.push(headerBlock(file), Buffer.from(file.data.buffer, file.data.byteOffset, file.data.byteLength));
    const padding = (BLOCK - (file.data.byteLength % BLOCK)) % BLOCK;
    if (padding > 0) parts.push(Buffer.alloc(padding));
  }
  parts.push(Buffer.alloc(BLOCK * 2)); // end-of-archive marker: two zero blocks
  return gzipSync(Buffer.concat(parts), { level: 9 });
}
