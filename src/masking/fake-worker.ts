/**
 * A worker thread of fake-pool.ts: computes the batches it is sent with the key it was started with
 * (held in this thread's memory only, as in the main thread) and sends back their COPY text and
 * digests. Bundled on its own as dist/mask-worker/index.js (scripts/build.mjs).
 */
import { parentPort, workerData } from "node:worker_threads";
import { maskBatch, type BatchSpec, type Row } from "./batch.js";

export interface WorkerTask {
  id: number;
  spec: BatchSpec;
  rows: Row[];
}

export type WorkerReply = { id: number; text: string; digests: Int32Array } | { id: number; error: string };

const { innerPad, outerPad } = workerData as { innerPad: Uint8Array; outerPad: Uint8Array };
const key = { innerPad: Buffer.from(innerPad), outerPad: Buffer.from(outerPad) };

parentPort!.on("message", ({ id, spec, rows }: WorkerTask) => {
  let reply: WorkerReply;
  try {
    const { text, digests } = maskBatch(key, spec, rows);
    reply = { id, text, digests };
  } catch (error) {
    reply = { id, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort!.postMessage(reply, "digests" in reply ? [reply.digests.buffer as ArrayBuffer] : []);
});
