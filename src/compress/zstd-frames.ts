/**
 * Frame boundaries of a zstd stream (RFC 8878), found without decompressing: enough of each frame
 * header and block header is read to know where the frame ends.
 *
 * Why: Node's zstd decompressor (zlib.createZstdDecompress, Node 24) ends its output when a frame
 * ends inside an input chunk, silently dropping every frame after it; it decodes concatenated
 * frames correctly only when each write ends at a frame boundary. ZstdFrameSplitter re-chunks the
 * stream so that none of its chunks crosses one, and fails on input that is not zstd frames or that
 * ends inside a frame.
 */
import { Transform, type TransformCallback } from "node:stream";
import { OperationError } from "../domain/errors.js";

const FRAME_MAGIC = 0xfd2fb528;
/** Skippable frames have magics 0x184D2A50 to 0x184D2A5F. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const MAX_BLOCK_SIZE = 128 * 1024;
const DICTIONARY_ID_SIZES = [0, 1, 2, 4] as const;
const CONTENT_SIZE_SIZES = [0, 2, 4, 8] as const;

type State =
  | "magic"
  | "frame-header-descriptor"
  | "frame-header-rest"
  | "block-header"
  | "block-content"
  | "checksum"
  | "skippable-size"
  | "skippable-content";

/** States whose bytes are read as a value; the others are passed over. */
const READ: ReadonlySet<State> = new Set([
  "magic",
  "frame-header-descriptor",
  "block-header",
  "skippable-size",
]);

function corrupt(detail: string): OperationError {
  return new OperationError(`the zstd stream is corrupted: ${detail}`);
}

export class ZstdFrameSplitter extends Transform {
  #state: State = "magic";
  #need = 4;
  readonly #field = Buffer.alloc(4);
  #fieldLength = 0;
  #hasChecksum = false;
  #lastBlock = false;
  #frames = 0;
  #offset = 0;

  /** Complete frames seen so far. */
  get frames(): number {
    return this.#frames;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let start = 0;
    let offset = 0;
    try {
      while (offset < chunk.length) {
        const take = Math.min(this.#need, chunk.length - offset);
        if (READ.has(this.#state)) {
          chunk.copy(this.#field, this.#fieldLength, offset, offset + take);
          this.#fieldLength += take;
        }
        offset += take;
        this.#need -= take;
        if (this.#need > 0) continue;
        if (this.#advance(this.#offset + offset)) {
          this.push(chunk.subarray(start, offset));
          start = offset;
        }
      }
    } catch (error) {
      callback(error as Error);
      return;
    }
    this.#offset += chunk.length;
    if (start < chunk.length) this.push(chunk.subarray(start));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.#state !== "magic" || this.#fieldLength > 0) {
      callback(new OperationError("the zstd stream is truncated: it ends inside a frame"));
    } else if (this.#frames === 0) {
      callback(new OperationError("the zstd stream is empty: it holds no frame"));
    } else {
      callback();
    }
  }

  #next(state: State, need: number): void {
    this.#state = state;
    this.#need = need;
    this.#fieldLength = 0;
  }

  /** Moves past a complete field; true when that completed a frame. */
  #advance(position: number): boolean {
    for (;;) {
      switch (this.#state) {
        case "magic": {
          const magic = this.#field.readUInt32LE(0);
          if (magic === FRAME_MAGIC) this.#next("frame-header-descriptor", 1);
          else if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) this.#next("skippable-size", 4);
          else throw corrupt(`no zstd frame starts at byte ${position - 4}`);
          return false;
        }
        case "frame-header-descriptor": {
          const descriptor = this.#field[0]!;
          if (descriptor & 0x08)
            throw corrupt(`a frame header at byte ${position - 1} sets the reserved bit`);
          const singleSegment = (descriptor >> 5) & 1;
          const contentSizeFlag = descriptor >> 6;
          this.#hasChecksum = ((descriptor >> 2) & 1) === 1;
          const rest =
            (singleSegment ? 0 : 1) +
            DICTIONARY_ID_SIZES[descriptor & 3]! +
            (contentSizeFlag === 0 ? singleSegment : CONTENT_SIZE_SIZES[contentSizeFlag]!);
          this.#next("frame-header-rest", rest);
          break;
        }
        case "frame-header-rest":
          this.#next("block-header", 3);
          return false;
        case "block-header": {
          const header = this.#field.readUIntLE(0, 3);
          this.#lastBlock = (header & 1) === 1;
          const type = (header >> 1) & 3;
          const size = header >>> 3;
          if (type === 3) throw corrupt(`a block at byte ${position - 3} has the reserved type`);
          if (size > MAX_BLOCK_SIZE) throw corrupt(`a block at byte ${position - 3} is larger than 128 KiB`);
          // An RLE block stores its one repeated byte.
          this.#next("block-content", type === 1 ? 1 : size);
          break;
        }
        case "block-content":
          if (!this.#lastBlock) this.#next("block-header", 3);
          else if (this.#hasChecksum) this.#next("checksum", 4);
          else return this.#frameEnd();
          return false;
        case "checksum":
        case "skippable-content":
          return this.#frameEnd();
        case "skippable-size":
          this.#next("skippable-content", this.#field.readUInt32LE(0));
          break;
      }
      // A field of zero bytes (a header without optional fields, an empty block) is complete at once.
      if (this.#need > 0) return false;
    }
  }

  #frameEnd(): boolean {
    this.#frames++;
    this.#next("magic", 4);
    return true;
  }
}
