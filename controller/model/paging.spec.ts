import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { decodePageToken, effectivePageSize, encodePageToken, pageOf } from "./paging.js";

/** Asserts that fn throws INVALID_ARGUMENT naming page_token. */
/** Awaits what fn returns and checks it rejected as an invalid page token. */
async function expectRejectedToken(fn: () => Promise<unknown>): Promise<void> {
  await fn().then(
    () => expect.unreachable("the page token was accepted"),
    (err: unknown) => expectInvalidToken(() => {
      throw err;
    }),
  );
}

function expectInvalidToken(fn: () => unknown): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ConnectError);
  const err = thrown as ConnectError;
  expect(err.code).toBe(Code.InvalidArgument);
  const fields = err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field));
  expect(fields).toEqual(["page_token"]);
}

describe("page tokens", () => {
  it("round-trip a string position for the same filter", () => {
    const token = encodePageToken("host-17", "aggregate=3");
    expect(decodePageToken<string>(token, "aggregate=3", "string")).toBe("host-17");
  });

  it("round-trip a number position for the same filter", () => {
    const token = encodePageToken(42, "");
    expect(decodePageToken<number>(token, "", "number")).toBe(42);
    expect(decodePageToken<number>(encodePageToken(0, "f"), "f", "number")).toBe(0);
  });

  it("are opaque URL-safe text", () => {
    const token = encodePageToken("a/b+c?d", "state=RUNNING&x=1");
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(token).not.toContain("state");
  });

  it("the empty token means the first page", () => {
    expect(decodePageToken("", "anything", "string")).toBeUndefined();
    expect(decodePageToken("", "anything", "number")).toBeUndefined();
  });

  it("a token issued for another filter is INVALID_ARGUMENT", () => {
    const token = encodePageToken("host-17", "aggregate=3");
    expectInvalidToken(() => decodePageToken(token, "aggregate=4", "string"));
    expectInvalidToken(() => decodePageToken(token, "", "string"));
  });

  it("a token whose position is of the other kind is INVALID_ARGUMENT", () => {
    expectInvalidToken(() => decodePageToken(encodePageToken(42, "f"), "f", "string"));
    expectInvalidToken(() => decodePageToken(encodePageToken("42", "f"), "f", "number"));
  });

  it("garbage is INVALID_ARGUMENT", () => {
    for (const garbage of ["not a token", "!!!!", "eyJ", Buffer.from("null").toString("base64url"), Buffer.from("[1,2]").toString("base64url"), Buffer.from('{"f":"f"}').toString("base64url")]) {
      expectInvalidToken(() => decodePageToken(garbage, "f", "string"));
    }
  });
});

describe("effectivePageSize", () => {
  it("uses the default for 0 and the request otherwise", () => {
    expect(effectivePageSize(0)).toBe(100);
    expect(effectivePageSize(0, 25)).toBe(25);
    expect(effectivePageSize(7)).toBe(7);
  });
});

describe("pageOf", () => {
  const ids = Array.from({ length: 10 }, (_, i) => i + 1);
  /** A fake source over ids, recording what it was asked. */
  const source = () => {
    const calls: { after: number | undefined; limit: number }[] = [];
    const fetch = async (after: number | undefined, limit: number) => {
      calls.push({ after, limit });
      return ids.filter((id) => after === undefined || id > after).slice(0, limit);
    };
    return { calls, fetch };
  };
  const position = (id: number) => id;

  it("asks for one more item than the page holds, from the start for an empty token", async () => {
    const s = source();
    await pageOf({ pageSize: 3, pageToken: "", filter: "f" }, "number", s.fetch, position);
    expect(s.calls).toEqual([{ after: undefined, limit: 4 }]);
  });

  it("asks for the default size plus one for page size 0", async () => {
    const s = source();
    await pageOf({ pageSize: 0, pageToken: "", filter: "f" }, "number", s.fetch, position);
    expect(s.calls).toEqual([{ after: undefined, limit: 101 }]);
  });

  it("returns a full page and a token for the next when more follow", async () => {
    const s = source();
    const page = await pageOf({ pageSize: 3, pageToken: "", filter: "f" }, "number", s.fetch, position);
    expect(page.items).toEqual([1, 2, 3]);
    expect(page.nextPageToken).not.toBe("");
    expect(decodePageToken<number>(page.nextPageToken, "f", "number")).toBe(3);
  });

  it("continues after the token's position", async () => {
    const s = source();
    const first = await pageOf({ pageSize: 3, pageToken: "", filter: "f" }, "number", s.fetch, position);
    const second = await pageOf({ pageSize: 3, pageToken: first.nextPageToken, filter: "f" }, "number", s.fetch, position);
    expect(s.calls[1]).toEqual({ after: 3, limit: 4 });
    expect(second.items).toEqual([4, 5, 6]);
  });

  it("walks every item exactly once and ends with an empty token", async () => {
    const s = source();
    const seen: number[] = [];
    let token = "";
    let pages = 0;
    do {
      const page = await pageOf({ pageSize: 4, pageToken: token, filter: "f" }, "number", s.fetch, position);
      seen.push(...page.items);
      token = page.nextPageToken;
      pages++;
    } while (token !== "" && pages < 20);
    expect(seen).toEqual(ids);
    expect(pages).toBe(3);
  });

  it("issues no token when exactly a page's worth is left", async () => {
    const s = source();
    const page = await pageOf({ pageSize: 10, pageToken: "", filter: "f" }, "number", s.fetch, position);
    expect(page.items).toEqual(ids);
    expect(page.nextPageToken).toBe("");
  });

  it("issues no token for a short or empty page", async () => {
    const s = source();
    expect((await pageOf({ pageSize: 50, pageToken: "", filter: "f" }, "number", s.fetch, position)).nextPageToken).toBe("");
    const empty = await pageOf({ pageSize: 5, pageToken: encodePageToken(10, "f"), filter: "f" }, "number", s.fetch, position);
    expect(empty).toEqual({ items: [], nextPageToken: "" });
  });

  it("binds the next token to the request's filter", async () => {
    const s = source();
    const page = await pageOf({ pageSize: 2, pageToken: "", filter: "aggregate=1" }, "number", s.fetch, position);
    await expectRejectedToken(() => pageOf({ pageSize: 2, pageToken: page.nextPageToken, filter: "aggregate=2" }, "number", s.fetch, position));
  });

  it("refuses a bad token before fetching anything", async () => {
    const s = source();
    await expectRejectedToken(() => pageOf({ pageSize: 2, pageToken: "garbage", filter: "f" }, "number", s.fetch, position));
    expect(s.calls).toEqual([]);
  });

  it("works with string positions", async () => {
    const names = ["a", "b", "c"];
    const fetch = async (after: string | undefined, limit: number) => names.filter((n) => after === undefined || n > after).slice(0, limit);
    const first = await pageOf<string, string>({ pageSize: 2, pageToken: "", filter: "" }, "string", fetch, (n) => n);
    expect(first.items).toEqual(["a", "b"]);
    const second = await pageOf<string, string>({ pageSize: 2, pageToken: first.nextPageToken, filter: "" }, "string", fetch, (n) => n);
    expect(second).toEqual({ items: ["c"], nextPageToken: "" });
  });
});
