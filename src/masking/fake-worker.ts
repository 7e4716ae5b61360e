/**
 * A worker thread of fake-pool.ts: masks the batches of COPY rows it is sent with the key it was
 * started with (held in this thread's memory only, as in the main thread) and sends back the masked
 * rows and the digests the verification needs. Bundled on its own as dist/mask-worker/index.js
 * (scripts/build.mjs).
 */
import { parentPort, workerData } from "node:worker_threads";
import { maskCopyRows, type RelationSpec, type RowsResult } from "./copy-rows.js";

export interface WorkerTask {
  id: number;
  spec: RelationSpec;
  input: Uint8Array;
}

export type WorkerReply = { id: number; result: RowsResult } | { id: number; error: string };

const { innerPad, outerPad } = workerData as { innerPad: Uint8Array; outerPad: Uint8Array };
const key = { innerPad: Buffer.from(innerPad), outerPad: Buffer.from(outerPad) };

parentPort!.on("message", ({ id, spec, input }: WorkerTask) => {
  let reply: WorkerReply;
  try {
    const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    reply = { id, result: maskCopyRows(key, spec, bytes) };
  } catch (error) {
    reply = { id, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort!.postMessage(reply);
});
