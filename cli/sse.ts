/**
 * A small Server-Sent Events reader over a fetch body stream (the WHATWG event-stream format):
 * enough for the hub's run events, without an EventSource dependency, and resumable because the
 * caller sees every event's id.
 */

export interface SseEvent {
  /** The event's `id:` (or the last one seen in this stream), when the server sent one. */
  id?: string;
  /** `event:` field; "message" when absent. */
  event: string;
  /** `data:` lines joined with "\n". */
  data: string;
}

/** Yields each event of an SSE body; chunks may split lines, CRLF pairs and UTF-8 characters anywhere. */
export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder("utf-8");
  const parser = new SseParser();
  for await (const chunk of body) yield* parser.push(decoder.decode(chunk, { stream: true }));
  yield* parser.push(decoder.decode());
}

/** Incremental line parser: feed text, get the events completed by it. */
export class SseParser {
  private buffer = "";
  /** A CR ended the last chunk: a LF at the start of the next one belongs to it. */
  private pendingCr = false;
  private data: string[] = [];
  private event = "";
  private lastId: string | undefined;
  private sawBom = false;

  /** Parses more text; returns the events it completes. */
  push(text: string): SseEvent[] {
    if (!this.sawBom && text.length > 0) {
      this.sawBom = true;
      if (text.startsWith("\uFEFF")) text = text.slice(1);
    }
    if (this.pendingCr && text.startsWith("\n")) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    const events: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c !== "\n" && c !== "\r") continue;
      const line = this.buffer.slice(start, i);
      if (c === "\r") {
        if (i + 1 < this.buffer.length) {
          if (this.buffer[i + 1] === "\n") i++;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field === "id" && !value.includes("\0")) this.lastId = value;
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const data = this.data;
    const event = this.event || "message";
    this.data = [];
    this.event = "";
    // An event with no data lines is not dispatched (the spec's rule), but its id still counts.
    if (data.length === 0) return undefined;
    return { event, data: data.join("\n"), ...(this.lastId !== undefined ? { id: this.lastId } : {}) };
  }
}
