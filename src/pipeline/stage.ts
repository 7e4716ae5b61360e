/**
 * A stage of a byte pipeline (pgBackRest's filters): a named stream with a named result. Two kinds:
 *
 * - `tap`: passes the bytes through unchanged and observes them (a digest, a byte count for
 *   progress, and next an archive parser that counts rows per table). Its result exists once the
 *   stream ended.
 * - `transform`: changes the bytes (encryption, decryption; next compression). Its result, if any,
 *   is what it learned on the way.
 *
 * Stages are single-use: each holds one stream.
 */
import type { Duplex, Transform, TransformCallback } from "node:stream";
import { DigestObserver } from "../streams/hash-tap.js";
import { Tap, type TapObserver } from "../streams/tap.js";
import type { Digest } from "../domain/manifest.js";

export interface Stage<R = unknown> {
  readonly name: string;
  readonly kind: "tap" | "transform";
  readonly stream: Duplex;
  /** The stage's result; for a tap, available only once its stream has ended. */
  result(): R;
}

/** A pass-through stage that shows every chunk to `observer` and yields its `finish()`. */
export function tapStage<R>(name: string, observer: TapObserver<R>): Stage<R> {
  const tap = new Tap(observer);
  return { name, kind: "tap", stream: tap, result: () => tap.result };
}

/** Size and sha256 of the bytes at this point of the pipeline; `bytes` is live (for progress). */
export function digestStage(name: string): Stage<Digest> & { readonly bytesSoFar: number } {
  const observer = new DigestObserver();
  const stage = tapStage(name, observer);
  return {
    ...stage,
    get bytesSoFar() {
      return observer.bytes;
    },
  };
}

/** A stage that changes the bytes (encryption, compression); its result is undefined. */
export function transformStage(name: string, stream: Duplex): Stage<undefined> {
  return { name, kind: "transform", stream, result: () => undefined };
}

/**
 * Calls `release(chunk)` for each input chunk once `stream` is done with it: when its transform
 * calls back, which for a compressor is after the thread pool read the chunk, and for one that
 * copies (encryption, the parallel compressor) after the copy. The source can then refill the
 * chunk (the backup's pg_dump pipe: bulk-pipe.ts). Only for a stream that neither keeps nor passes
 * on its input chunks.
 */
export function releaseInputWhenDone(stream: Transform, release: (chunk: Buffer) => void): void {
  const transform = stream._transform.bind(stream);
  stream._transform = (chunk: Buffer, encoding: BufferEncoding, callback: TransformCallback) => {
    transform(chunk, encoding, (error?: Error | null, data?: unknown) => {
      if (!error) release(chunk);
      callback(error, data);
    });
  };
}
