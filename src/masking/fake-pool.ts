/**
 * The fakes of large batches computed on every core: a batch is cut into one slice per worker
 * thread, and the slices' COPY text and digests are put back together in order, so the result is
 * the one the main thread would have computed (batch.ts runs in both). Masking is CPU-bound in the
 * job (HMAC-SHA256 per value, docs/masking.md, Speed) while the server mostly waits for it.
 *
 * The workers get the key's pads in memory (workerData), never through an environment, argument or
 * file. From the sources they run fake-worker.ts (the parent's --import tsx is inherited); from a
 * bundle, dist/mask-worker/index.js next to the bundle's own directory.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { maskBatch, type BatchResult, type BatchSpec, type Row } from "./batch.js";
import type { MaskingKey } from "./fakes.js";
import type { WorkerReply, WorkerTask } from "./fake-worker.js";

/** Below this many rows a batch is computed in the main thread: posting it costs more than it saves. */
export const MIN_POOL_ROWS = 2_000;
/** Workers at most, whatever the runner has: masking's COPY and UPDATE need the server's cores too. */
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
  resolve: (result: BatchResult) => void;
  reject: (error: Error) => void;
}

export class FakePool {
  private readonly workers: Worker[] = [];
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
        // Any exit before close() leaves its slices unanswered: the batch fails, never waits.
        worker.on("exit", (code) => this.fail(new Error(`a masking worker thread exited with code ${code}`)));
        this.workers.push(worker);
      }
    } catch (error) {
      void this.close();
      throw error;
    }
  }

  /** The batch's result, computed by all the workers when it is large enough. */
  async run(spec: BatchSpec, rows: Row[]): Promise<BatchResult> {
    if (this.failure) throw this.failure;
    if (rows.length < MIN_POOL_ROWS || this.workers.length === 0) return maskBatch(this.key, spec, rows);
    const slice = Math.ceil(rows.length / this.workers.length);
    const parts = await Promise.all(
      this.workers.map((worker, i) => this.post(worker, spec, rows.slice(i * slice, (i + 1) * slice))),
    );
    let size = 0;
    for (const part of parts) size += part.digests.length;
    const digests = new Int32Array(size);
    let at = 0;
    for (const part of parts) {
      digests.set(part.digests, at);
      at += part.digests.length;
    }
    return { text: parts.map((part) => part.text).join(""), digests };
  }

  async close(): Promise<void> {
    this.fail(new Error("the masking worker threads were stopped"));
    this.closed = true;
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  private post(worker: Worker, spec: BatchSpec, rows: Row[]): Promise<BatchResult> {
    const id = this.nextId++;
    return new Promise<BatchResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, spec, rows } satisfies WorkerTask);
    });
  }

  private settle(reply: WorkerReply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    if ("error" in reply) pending.reject(new Error(`a masking worker thread failed: ${reply.error}`));
    else pending.resolve({ text: reply.text, digests: reply.digests });
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.failure ??= error;
    for (const pending of this.pending.values()) pending.reject(this.failure);
    this.pending.clear();
  }
}
