/**
 * A small strict XML-RPC `<methodCall>` parser. It accepts what xapi's
 * ocaml-rpc accepts — `<int>/<i4>/<i8>`, `<string>`, untyped values (strings),
 * `<boolean>`, `<double>`, `<dateTime.iso8601>`, `<base64>`, `<nil/>`,
 * `<struct>`, `<array>`, whitespace between tags, comments, CDATA — and throws
 * on anything malformed (the endpoint then answers HTTP 500).
 */

/** A malformed request. */
export class XmlRpcParseError extends Error {
  constructor(message: string, position: number) {
    super(`${message} at offset ${position}`);
    this.name = "XmlRpcParseError";
  }
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
const MAX_DEPTH = 64;

function decodeEntities(text: string, at: number): string {
  if (!text.includes("&")) return text;
  return text.replace(/&([^;&<]{0,10});/g, (_all, name: string) => {
    let code: number | undefined;
    if (/^#x[0-9a-fA-F]+$/.test(name)) code = parseInt(name.slice(2), 16);
    else if (/^#[0-9]+$/.test(name)) code = parseInt(name.slice(1), 10);
    if (code !== undefined) {
      if (code > 0x10ffff) throw new XmlRpcParseError("bad character reference", at);
      return String.fromCodePoint(code);
    }
    const entity = ENTITIES[name];
    if (entity === undefined) throw new XmlRpcParseError(`unknown entity &${name};`, at);
    return entity;
  });
}

class Parser {
  private pos = 0;
  constructor(private readonly text: string) {}

  private fail(message: string): never {
    throw new XmlRpcParseError(message, this.pos);
  }

  /** Skips whitespace, comments and processing instructions. */
  private skipMisc(): void {
    const t = this.text;
    for (;;) {
      while (this.pos < t.length && /\s/.test(t[this.pos]!)) this.pos += 1;
      if (t.startsWith("<!--", this.pos)) {
        const end = t.indexOf("-->", this.pos + 4);
        if (end < 0) this.fail("unterminated comment");
        this.pos = end + 3;
      } else if (t.startsWith("<?", this.pos)) {
        const end = t.indexOf("?>", this.pos + 2);
        if (end < 0) this.fail("unterminated processing instruction");
        this.pos = end + 2;
      } else {
        return;
      }
    }
  }

  /** Reads a tag at the current position: `<name>`, `<name/>` or `</name>`. */
  private readTag(): { name: string; close: boolean; empty: boolean } {
    const m = /^<(\/?)\s*([A-Za-z][A-Za-z0-9_.:-]*)\s*(\/?)>/.exec(this.text.slice(this.pos, this.pos + 80));
    if (!m) this.fail("expected a tag");
    this.pos += m[0].length;
    if (m[1] && m[3]) this.fail("malformed tag");
    return { name: m[2]!.toLowerCase(), close: m[1] === "/", empty: m[3] === "/" };
  }

  private peekTag(): { name: string; close: boolean; empty: boolean } | null {
    const save = this.pos;
    this.skipMisc();
    if (this.text[this.pos] !== "<" || this.text.startsWith("<![CDATA[", this.pos)) {
      this.pos = save;
      return null;
    }
    const tag = this.readTag();
    this.pos = save;
    return tag;
  }

  private open(name: string): boolean {
    this.skipMisc();
    const tag = this.readTag();
    if (tag.close || tag.name !== name) this.fail(`expected <${name}>`);
    return !tag.empty;
  }

  private close(name: string): void {
    this.skipMisc();
    const tag = this.readTag();
    if (!tag.close || tag.name !== name) this.fail(`expected </${name}>`);
  }

  /** Character data (entities decoded, CDATA sections kept) up to the next tag. */
  private readText(): string {
    const t = this.text;
    let out = "";
    for (;;) {
      const lt = t.indexOf("<", this.pos);
      if (lt < 0) this.fail("unexpected end of document");
      out += decodeEntities(t.slice(this.pos, lt), this.pos);
      this.pos = lt;
      if (t.startsWith("<![CDATA[", lt)) {
        const end = t.indexOf("]]>", lt + 9);
        if (end < 0) this.fail("unterminated CDATA");
        out += t.slice(lt + 9, end);
        this.pos = end + 3;
        continue;
      }
      return out;
    }
  }

  /** A scalar element's text, after its open tag was read. */
  private scalar(name: string, empty: boolean): string {
    if (empty) return "";
    const text = this.readText();
    this.close(name);
    return text;
  }

  /** Parses `<value>…</value>` (the open tag is next). */
  parseValue(depth: number): unknown {
    if (depth > MAX_DEPTH) this.fail("nesting too deep");
    if (!this.open("value")) return "";
    const start = this.pos;
    const next = this.peekTag();
    if (!next || next.close) {
      // Untyped: the whole content is a string (whitespace kept).
      this.pos = start;
      const text = this.readText();
      this.close("value");
      return text;
    }
    this.skipMisc();
    const tag = this.readTag();
    let value: unknown;
    switch (tag.name) {
      case "string":
        value = this.scalar("string", tag.empty);
        break;
      case "int":
      case "i4": {
        const text = this.scalar(tag.name, tag.empty).trim();
        if (!/^[+-]?\d{1,10}$/.test(text)) this.fail(`bad <${tag.name}> ${text}`);
        value = Number(text);
        break;
      }
      case "i8": {
        const text = this.scalar("i8", tag.empty).trim();
        if (!/^[+-]?\d{1,19}$/.test(text)) this.fail(`bad <i8> ${text}`);
        value = text.replace(/^\+/, "");
        break;
      }
      case "boolean": {
        const text = this.scalar("boolean", tag.empty).trim();
        if (text !== "0" && text !== "1") this.fail(`bad <boolean> ${text}`);
        value = text === "1";
        break;
      }
      case "double": {
        const text = this.scalar("double", tag.empty).trim();
        const n = Number(text);
        if (text === "" || Number.isNaN(n)) this.fail(`bad <double> ${text}`);
        value = n;
        break;
      }
      case "datetime.iso8601": {
        const text = this.scalar("datetime.iso8601", tag.empty).trim();
        const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text);
        if (!m) this.fail(`bad <dateTime.iso8601> ${text}`);
        value = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
        break;
      }
      case "base64":
        value = Buffer.from(this.scalar("base64", tag.empty).replace(/\s+/g, ""), "base64");
        break;
      case "nil":
        if (!tag.empty) this.close("nil");
        value = null;
        break;
      case "array":
        value = tag.empty ? [] : this.parseArray(depth);
        break;
      case "struct":
        value = tag.empty ? Object.create(null) : this.parseStruct(depth);
        break;
      default:
        this.fail(`unknown XML-RPC type <${tag.name}>`);
    }
    this.close("value");
    return value;
  }

  private parseArray(depth: number): unknown[] {
    const items: unknown[] = [];
    const hasData = this.open("data");
    if (hasData) {
      for (let next = this.peekTag(); next && !next.close; next = this.peekTag()) items.push(this.parseValue(depth + 1));
      this.close("data");
    }
    this.close("array");
    return items;
  }

  private parseStruct(depth: number): Record<string, unknown> {
    const out = Object.create(null) as Record<string, unknown>;
    for (let next = this.peekTag(); next && !next.close; next = this.peekTag()) {
      this.open("member");
      this.skipMisc();
      const name = this.readTag();
      if (name.close || name.name !== "name") this.fail("expected <name>");
      const key = this.scalar("name", name.empty);
      out[key] = this.parseValue(depth + 1);
      this.close("member");
    }
    this.close("struct");
    return out;
  }

  /** The whole document. */
  parseCall(): { method: string; params: unknown[] } {
    this.open("methodcall");
    this.skipMisc();
    const nameTag = this.readTag();
    if (nameTag.close || nameTag.name !== "methodname") this.fail("expected <methodName>");
    const method = this.scalar("methodname", nameTag.empty).trim();
    if (method === "") this.fail("empty methodName");
    const params: unknown[] = [];
    const next = this.peekTag();
    if (next && !next.close && next.name === "params") {
      if (this.open("params")) {
        for (let p = this.peekTag(); p && !p.close; p = this.peekTag()) {
          this.open("param");
          params.push(this.parseValue(0));
          this.close("param");
        }
        this.close("params");
      }
    }
    this.close("methodcall");
    this.skipMisc();
    if (this.pos !== this.text.length) this.fail("trailing content");
    return { method, params };
  }
}

/** Parses an XML-RPC request body; throws {@link XmlRpcParseError} when malformed. */
export function parseMethodCallText(text: string): { method: string; params: unknown[] } {
  return new Parser(text).parseCall();
}
