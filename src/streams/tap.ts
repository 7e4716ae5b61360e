import { Transform, type TransformCallback } from "node:stream";

/** Watches the bytes of a stream without changing them; `finish` is called once, at the end. */
export interface TapObserver<R> {
  update(chunk: Buffer): void;
  finish(): R;
}

/**
 * Passes bytes through unchanged and shows each chunk to an observer (a digest, a byte count, an
 * archive parser counting rows). An observer that throws fails the stream.
 */
export class Tap<R> extends Transform {
  private outcome: { value: R } | undefined;

  constructor(private readonly observer: TapObserver<R>) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.observer.update(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.outcome = { value: this.observer.finish() };
    } catch (error) {
      callback(error as Error);
      return;
    }
    callback();
  }

  /** True once the whole stream has passed and the observer finished. */
  get finished(): boolean {
    return this.outcome !== undefined;
  }

  /** The observer's result; throws when read before the stream ended. */
  get result(): R {
    if (!this.outcome) throw new Error("tap: result read before the stream ended");
    return this.outcome.value;
  }
}
