import { describe, expect, it } from "vitest";
import { DatasetError } from "../errors.js";
import { CsvParser, parseCsvText } from "./csv.js";
import { JsonlParser } from "./jsonl.js";

describe("CSV (RFC 4180)", () => {
  it("reads quoted fields with commas, escaped quotes and line breaks, CRLF and LF", () => {
    const text = 'a,b,c\r\n1,"x, y","say ""hi"""\r\n2,"two\r\nlines",\n3,,z';
    expect(parseCsvText(text)).toEqual([
      ["a", "b", "c"],
      ["1", "x, y", 'say "hi"'],
      ["2", "two\r\nlines", ""],
      ["3", "", "z"],
    ]);
  });

  it("gives the same records whatever the chunk boundaries", () => {
    const text = '\ufeffa,b\r\n"q""x",2\r\n\r\n"multi\nline",3\r\n';
    const whole = parseCsvText(text);
    const pieces: string[][] = [];
    const parser = new CsvParser((fields) => pieces.push(fields));
    for (const ch of text) parser.write(ch);
    parser.end();
    expect(pieces).toEqual(whole);
    expect(whole).toEqual([
      ["a", "b"],
      ['q"x', "2"],
      ["multi\nline", "3"],
    ]);
  });

  it("skips empty lines but keeps a quoted empty field", () => {
    expect(parseCsvText('a\n\n""\n')).toEqual([["a"], [""]]);
  });

  it("refuses an unterminated quote, text after a closing quote and a bare quote", () => {
    expect(() => parseCsvText('a\n"open')).toThrow(/never closes/);
    expect(() => parseCsvText('a\n"x"y')).toThrow(/after a closing quote/);
    expect(() => parseCsvText('a\nx"y')).toThrow(DatasetError);
  });
});

describe("JSON Lines", () => {
  const parse = (text: string) => {
    const rows: unknown[][] = [];
    let header: string[] = [];
    const parser = new JsonlParser(
      (h) => (header = h),
      (values) => rows.push(values),
    );
    parser.write(text);
    parser.end();
    return { header, rows };
  };

  it("reads objects with scalars, CRLF and a missing final newline", () => {
    expect(parse('{"a":1,"b":"x"}\r\n\n{"b":null,"a":true}')).toEqual({
      header: ["a", "b"],
      rows: [
        [1, "x"],
        [true, null],
      ],
    });
  });

  it("refuses ragged objects, nested values, arrays and bad JSON", () => {
    expect(() => parse('{"a":1}\n{"a":1,"b":2}')).toThrow(expect.objectContaining({ code: "ragged" }));
    expect(() => parse('{"a":1,"b":2}\n{"a":1}')).toThrow(/missing "b"/);
    expect(() => parse('{"a":{"x":1}}')).toThrow(expect.objectContaining({ code: "bad_value" }));
    expect(() => parse("[1,2]")).toThrow(/expected an object/);
    expect(() => parse('{"a":')).toThrow(expect.objectContaining({ code: "format" }));
  });
});
