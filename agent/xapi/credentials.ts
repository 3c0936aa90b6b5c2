/** XAPI credentials, kept out of logs, errors, JSON and util.inspect output. */
import { inspect } from "node:util";

/** The XAPI username and password. The password is only readable through `reveal()`. */
export class XapiCredentials {
  readonly #password: string;

  constructor(
    readonly username: string,
    password: string,
  ) {
    if (username.trim() === "") throw new Error("XAPI username is empty");
    if (password === "") throw new Error("XAPI password is empty");
    this.#password = password;
  }

  /** The password, for the XML-RPC call that needs it. */
  reveal(): string {
    return this.#password;
  }

  /** Replaces every occurrence of the password in a text. */
  scrub(text: string): string {
    return text.split(this.#password).join("[redacted]");
  }

  toJSON(): { username: string; password: string } {
    return { username: this.username, password: "[redacted]" };
  }

  toString(): string {
    return `XapiCredentials(${this.username})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
