/** The SSE reader: the event-stream rules, and the same events however the bytes are chunked. */
import { expect, it } from "vitest";
import { readSse, type SseEvent } from "./sse.js";

async function* chunks(bytes: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let offset = 0;
  let i = 0;
  while (offset < bytes.length) {
    const size = sizes[i++ % sizes.length]!;
    yield bytes.subarray(offset, offset + size);
    offset += size;
  }
}

async function collect(text: string, sizes: number[] = [text.length]): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const e of readSse(chunks(new TextEncoder().encode(text), sizes))) events.push(e);
  return events;
}

const STREAM =
  "\uFEFF: keep-alive comment\r\n" +
  'id: 1\r\nevent: status\r\ndata: {"status":"running"}\r\n\r\n' +
  "event: log\ndata: first line\ndata:second line\nid: 7\n\n" +
  "data: no event name, id carried over\r\r" +
  "event: ignored-no-data\nid: 9\n\n" +
  'event: progress\ndata: {"text":"héllo ✓"}\n\n' +
  "data: unterminated at the end";

const EXPECTED: SseEvent[] = [
  { id: "1", event: "status", data: '{"status":"running"}' },
  { id: "7", event: "log", data: "first line\nsecond line" },
  { id: "7", event: "message", data: "no event name, id carried over" },
  { id: "9", event: "progress", data: '{"text":"héllo ✓"}' },
];

it("parses fields, comments, multi-line data, ids, CR/LF/CRLF line ends and a BOM", async () => {
  expect(await collect(STREAM)).toEqual(EXPECTED);
});

it("gives the same events for any chunking, including split CRLF pairs and UTF-8 characters", async () => {
  for (const sizes of [[1], [2], [3, 1], [5, 7, 2], [13]]) {
    expect(await collect(STREAM, sizes), `chunk sizes ${sizes}`).toEqual(EXPECTED);
  }
});

it("does not dispatch an event whose blank line never came", async () => {
  expect(await collect("event: status\ndata: half")).toEqual([]);
});
