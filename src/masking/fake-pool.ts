/**
 * The masked rows of large batches computed on every core: each batch goes whole to the worker
 * thread with the fewest batches in hand, and the caller (archive-mask.ts) keeps several in flight
 * and takes the results back in order, so the masked archive is the one the main thread alone
 * would have written (copy-rows.ts runs in both). Masking is CPU-bound in the job (HMAC-SHA256 per
 * value, docs/masking.md, Speed) while pg_dump and the server mostly wait for it.
 *
 * The workers get the key's pads in memory (workerData), never through an environment, argument or
 * file. From the sources they run fake-worker.ts (the parent's --import tsx is inherited); from a
 * bundle, dist/mask-worker/index.js next to the bundle's own directory.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { maskCopyRows, type RelationSpec, type RowsResult } from "./copy-rows.js";
import type { MaskingKey } from "./fakes.js";
import type { WorkerReply, WorkerTask } from "./fake-worker.js";

/** Below this many bytes a batch is computed in the main thread: posting it costs more than it saves. */
export const MIN_POOL_BYTES = 64 * 1024;
/** Workers at most, whatever the runner has: pg_dump, the server and the compressor need cores too. */
const MAX_WORKERS = 8;

export function defaultWorkers(): number {
  const cores = availableParallelism();
  return cores < 2 ? 0 : Math.min(cores, MAX_WORKERS);
}

function workerScript(): URL {
  const here = import.meta.url;
  return here.endsWith(".ts") ? new URL("./fake-worker.ts", here) : new URL("../mask-worker/index.js", here);
}

interface Pending {
  worker: number;
  resolve: (result: RowsResult) => void;
  reject: (error: Error) => void;
}

export class FakePool {
  private readonly workers: Worker[] = [];
  private readonly busy: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | undefined;
  private closed = false;

  constructor(
    private readonly key: MaskingKey,
    size: number,
  ) {
    const workerData = { innerPad: new Uint8Array(key.innerPad), outerPad: new Uint8Array(key.outerPad) };
    try {
      for (let i = 0; i < size; i++) {
        const worker = new Worker(workerScript(), { workerData });
        worker.on("message", (reply: WorkerReply) => this.settle(reply));
        worker.on("messageerror", (error) => this.fail(error));
        worker.on("error", (error) => this.fail(error));
        // Any exit before close() leaves its batches unanswered: they fail, never wait.
        worker.on("exit", (code) => this.fail(new Error(`a masking worker thread exited with code ${code}`)));
        this.workers.push(worker);
        this.busy.push(0);
      }
    } catch (error) {
      void this.close();
      throw error;
    }
  }

  /** The batch's masked rows, computed by a worker when it is large enough. */
  async run(spec: RelationSpec, input: Buffer): Promise<RowsResult> {
    if (this.failure) throw this.failure;
    if (input.length < MIN_POOL_BYTES || this.workers.length === 0)
      return maskCopyRows(this.key, spec, input);
    let worker = 0;
    for (let i = 1; i < this.busy.length; i++) if (this.busy[i]! < this.busy[worker]!) worker = i;
    const id = this.nextId++;
    const result = await new Promise<RowsResult>((resolve, reject) => {
      this.pending.set(id, { worker, resolve, reject });
      this.busy[worker]!++;
      this.workers[worker]!.postMessage({ id, spec, input } satisfies WorkerTask);
    });
    // Structured cloning hands back a Uint8Array: the caller writes it on as a Buffer.
    const output = result.output;
    result.output = Buffer.from(output.buffer, output.byteOffset, output.byteLength);
    return result;
  }

  async close(): Promise<void> {
    this.fail(new Error("the masking worker threads were stopped"));
    this.closed = true;
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  private settle(reply: WorkerReply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    this.busy[pending.worker]!--;
    if ("error" in reply) pending.reject(new Error(`a masking worker thread failed: ${reply.error}`));
    else pending.resolve(reply.result);
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.failure ??= error;
    for (const pending of this.pending.values()) pending.reject(this.failure);
    this.pending.clear();
  }
}
