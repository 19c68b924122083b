/** Assertions on the hub API's answers: the status and the one error shape. */
import { expect } from "vitest";

/** Reads a JSON answer after checking its status. */
export async function expectJson<T = Record<string, unknown>>(response: Response, status = 200): Promise<T> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as T;
}

/** Checks an error answer: the status, `{error: {code, message}}`, and returns the error. */
export async function expectApiError(
  response: Response,
  status: number,
  code: string,
): Promise<{ code: string; message: string; details?: unknown }> {
  const body = await expectJson<{ error: { code: string; message: string; details?: unknown } }>(
    response,
    status,
  );
  expect(Object.keys(body)).toEqual(["error"]);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(0);
  return body.error;
}
