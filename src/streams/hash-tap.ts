import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";

/** Passes bytes through unchanged while counting them and computing their sha256. */
export class HashTap extends Transform {
  private readonly hash = createHash("sha256");
  private count = 0;
  private hex: string | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.count += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.hex = this.hash.digest("hex");
    callback();
  }

  get bytes(): number {
    return this.count;
  }

  /** Available once the stream has ended. */
  get sha256(): string {
    if (this.hex === undefined) throw new Error("HashTap: sha256 read before the stream ended");
    return this.hex;
  }
}
