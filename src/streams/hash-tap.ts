import { createHash } from "node:crypto";
import type { TapObserver } from "./tap.js";

/** Size and sha256 of the bytes seen, with the size readable while they flow. */
export class DigestObserver implements TapObserver<{ bytes: number; sha256: string }> {
  private readonly hash = createHash("sha256");
  bytes = 0;

  update(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }

  finish(): { bytes: number; sha256: string } {
    return { bytes: this.bytes, sha256: this.hash.digest("hex") };
  }
}
