/** The local-directory driver: `file:///absolute/path`, or a plain path (the registry's default). */
import { fileURLToPath, pathToFileURL } from "node:url";
import type { StoreDriver } from "./driver.js";

/** `path` is absolute. */
export interface FileLocation {
  kind: "file";
  path: string;
}

export const fileDriver: StoreDriver<FileLocation, unknown> = {
  kind: "file",
  schemes: ["file"],
  forms: ["file:///absolute/path", "a directory path"],
  options: [],
  parse(text, { fail }) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return fail();
    }
    if (url.host !== "") return fail(`a file URL names no host ("${url.host}")`);
    if (url.search !== "" || url.hash !== "") return fail("a file URL has no query or fragment");
    const path = fileURLToPath(url);
    return { kind: "file", path: path.length > 1 ? path.replace(/\/+$/, "") : path };
  },
  format: (location) => pathToFileURL(location.path).href,
  async open(location) {
    const { LocalStore } = await import("./local-store.js");
    return new LocalStore(location.path);
  },
};
