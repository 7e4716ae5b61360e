/**
 * A streaming tar reader: pax (extended and global headers), ustar, and GNU long names (`L`/`K`)
 * as GNU tar writes them. Yields one entry at a time with its content as a stream; memory stays
 * bounded whatever the sizes. An entry's content must be consumed (or abandoned) before the next
 * entry is asked for: whatever is left of it is skipped then.
 */
import { Readable } from "node:stream";
import {
  BLOCK,
  TarFormatError,
  decodeBlock,
  isZeroBlock,
  paddingFor,
  parsePax,
  typeOf,
} from "./tar-format.js";
import type { TarHeader } from "./tar-format.js";

export interface TarEntry extends TarHeader {
  /** The entry's content (empty for anything but files). */
  body: Readable;
}

const CHUNK = 64 * 1024;
/** Pax and GNU long-name headers are metadata: a huge one means a damaged or hostile archive. */
const MAX_META_BYTES = 1024 * 1024;

/** Exact-length reads over an async iterable of chunks, without copying where it can avoid it. */
class ByteSource {
  private readonly iterator: AsyncIterator<Buffer | Uint8Array | string>;
  private pending: Buffer = Buffer.alloc(0);
  private ended = false;
  /** Bytes consumed so far, for error messages. */
  offset = 0;

  constructor(input: AsyncIterable<Buffer | Uint8Array | string>) {
    this.iterator = input[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    while (this.pending.length === 0) {
      if (this.ended) return false;
      const next = await this.iterator.next();
      if (next.done) {
        this.ended = true;
        return false;
      }
      const value = next.value;
      this.pending =
        typeof value === "string"
          ? Buffer.from(value)
          : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
    return true;
  }

  /** Up to `max` bytes (at least one), or undefined at the end of the input. */
  async readUpTo(max: number): Promise<Buffer | undefined> {
    if (!(await this.fill())) return undefined;
    const chunk = this.pending.subarray(0, max);
    this.pending = this.pending.subarray(chunk.length);
    this.offset += chunk.length;
    return chunk;
  }

  /** Exactly `length` bytes; fewer only at the end of the input. */
  async read(length: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < length) {
      const chunk = await this.readUpTo(length - got);
      if (!chunk) break;
      parts.push(chunk);
      got += chunk.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got);
  }

  async skip(length: number): Promise<number> {
    let left = length;
    while (left > 0) {
      const chunk = await this.readUpTo(Math.min(left, CHUNK));
      if (!chunk) break;
      left -= chunk.length;
    }
    return length - left;
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}

/** An entry's content, read from the shared source on demand. */
class EntryBody extends Readable {
  private remaining: number;
  /** The pump in progress, if any: at most one reads from the shared source at a time. */
  private pumping: Promise<void> | undefined;
  /** A read was asked for while the pump was busy: it goes on instead of stopping. */
  private wanted = false;
  private abandoned = false;

  constructor(
    private readonly source: ByteSource,
    size: number,
    private readonly path: string,
  ) {
    super({ highWaterMark: CHUNK });
    this.remaining = size;
    if (size === 0) this.push(null);
  }

  override _read(): void {
    if (this.pumping) {
      this.wanted = true;
      return;
    }
    if (this.remaining === 0) return;
    let done = (): void => undefined;
    this.pumping = new Promise<void>((resolve) => (done = resolve));
    void this.pump().finally(done);
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        this.wanted = false;
        let more = true;
        while (more && this.remaining > 0 && !this.abandoned) {
          const chunk = await this.source.readUpTo(Math.min(this.remaining, CHUNK));
          if (!chunk) throw new TarFormatError(`tar archive truncated inside "${this.path}"`);
          this.remaining -= chunk.length;
          more = this.push(chunk);
        }
        if (this.remaining === 0 && !this.abandoned) {
          this.push(null);
          return;
        }
        if (!this.wanted || this.abandoned) return;
      }
    } catch (error) {
      this.destroy(error instanceof Error ? error : new Error(String(error)));
    } finally {
      // Synchronously with the last check of `wanted`: a read asked for from now on starts a pump.
      this.pumping = undefined;
    }
  }

  /** Stops delivering and skips whatever the consumer did not read. */
  async finish(): Promise<void> {
    this.abandoned = true;
    await this.pumping;
    if (this.remaining > 0) {
      const skipped = await this.source.skip(this.remaining);
      const missing = this.remaining - skipped;
      this.remaining = 0;
      if (missing > 0) throw new TarFormatError(`tar archive truncated inside "${this.path}"`);
      if (!this.destroyed && !this.readableEnded) this.destroy();
    }
  }
}

async function readBlock(source: ByteSource): Promise<Buffer | undefined> {
  const block = await source.read(BLOCK);
  if (block.length === 0) return undefined;
  if (block.length < BLOCK) throw new TarFormatError("tar archive truncated inside a header");
  return block;
}

async function readMeta(source: ByteSource, size: number, what: string): Promise<Buffer> {
  if (size > MAX_META_BYTES) throw new TarFormatError(`tar ${what} of ${size} bytes: too large`);
  const data = await source.read(size);
  if (data.length < size) throw new TarFormatError(`tar archive truncated inside a ${what}`);
  await source.skip(paddingFor(size));
  return data;
}

function cString(data: Buffer): string {
  const end = data.indexOf(0);
  return data.subarray(0, end === -1 ? data.length : end).toString("utf8");
}

/**
 * Reads a tar archive. Ends at the end-of-archive blocks (or at the end of the input after a
 * whole entry, as some writers omit them); a truncated entry or a damaged header throws
 * TarFormatError.
 */
export async function* readTar(input: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<TarEntry> {
  const source = new ByteSource(input);
  let globalPax = new Map<string, string>();
  let pax = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  try {
    for (;;) {
      const block = await readBlock(source);
      if (!block) return;
      if (isZeroBlock(block)) {
        // Read the input to its end (the record's padding), so that whatever hashes or decrypts
        // it upstream sees all of it instead of a stream cut short.
        while (await source.readUpTo(CHUNK));
        return;
      }
      const raw = decodeBlock(block);
      switch (raw.flag) {
        case "x":
          pax = parsePax(await readMeta(source, raw.size, "pax header"));
          continue;
        case "g":
          globalPax = new Map([...globalPax, ...parsePax(await readMeta(source, raw.size, "pax header"))]);
          continue;
        case "L":
          longName = cString(await readMeta(source, raw.size, "GNU long name"));
          continue;
        case "K":
          longLink = cString(await readMeta(source, raw.size, "GNU long link"));
          continue;
      }
      const fields = new Map([...globalPax, ...pax]);
      const type = typeOf(raw.flag);
      let path = fields.get("path") ?? longName ?? raw.name;
      const paxSize = fields.get("size");
      const size = paxSize !== undefined ? Number(paxSize) : raw.size;
      if (!Number.isSafeInteger(size) || size < 0) throw new TarFormatError(`tar entry "${path}": bad size`);
      const paxMtime = fields.get("mtime");
      const mtimeSeconds = paxMtime !== undefined ? Number(paxMtime) : raw.mtime;
      const linkTarget = fields.get("linkpath") ?? longLink ?? raw.linkName;
      pax = new Map();
      longName = undefined;
      longLink = undefined;
      if (type === "directory" && path.endsWith("/")) path = path.slice(0, -1);
      // Only files carry content; a size on a link or directory header is ignored as tar does.
      const contentSize = type === "file" || type === "other" ? size : 0;
      const body = new EntryBody(source, type === "file" ? contentSize : 0, path);
      const entry: TarEntry = {
        path,
        type,
        size: type === "file" ? size : 0,
        mtime: new Date((Number.isFinite(mtimeSeconds) ? mtimeSeconds : 0) * 1000),
        mode: raw.mode,
        body,
      };
      if (type === "symlink" || type === "hardlink") entry.linkTarget = linkTarget;
      yield entry;
      await body.finish();
      if (type === "other") await source.skip(contentSize);
      await source.skip(paddingFor(contentSize));
    }
  } finally {
    await source.close();
  }
}
