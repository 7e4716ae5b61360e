/**
 * One place where byte pipelines are put together: a source, a list of stages, and a sink (a
 * Writable, or a consumer such as a store's put that takes the last stage's output as a Readable).
 * Built on stream/promises pipeline(), which keeps backpressure (FIELD-NOTES: Web-stream adapters
 * buffer without limit) and destroys every stream when one fails.
 */
import { PassThrough, type Duplex, type Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Stage } from "./stage.js";

/** The named results of a pipeline's stages, read after it ran. */
export class StageResults {
  constructor(private readonly stages: readonly Stage[]) {}

  /** The result of the stage called `name`; throws for a name no stage has. */
  get<R>(name: string): R {
    const stage = this.stages.find((candidate) => candidate.name === name);
    if (!stage) throw new Error(`pipeline: no stage named ${name}`);
    return stage.result() as R;
  }

  /** Whether a stage of that name exists (optional stages: decryption, compression). */
  has(name: string): boolean {
    return this.stages.some((stage) => stage.name === name);
  }
}

/** Stages chained together, ready for a source: the streams in order and their output. */
export interface Composed {
  /** The stages' streams in order; never empty (a pass-through when there are no stages). */
  streams: Duplex[];
  /** The last stream: where the bytes come out. */
  output: Readable;
  results: StageResults;
}

export function compose(stages: readonly Stage[]): Composed {
  const names = new Set<string>();
  for (const stage of stages) {
    if (names.has(stage.name)) throw new Error(`pipeline: two stages named ${stage.name}`);
    names.add(stage.name);
  }
  const streams = stages.length > 0 ? stages.map((stage) => stage.stream) : [new PassThrough()];
  return { streams, output: streams.at(-1)!, results: new StageResults(stages) };
}

/** source -> stages -> sink. Resolves with the stages' results once the sink finished. */
export async function runPipeline(
  source: Readable,
  stages: readonly Stage[],
  sink: Writable,
  options: { signal?: AbortSignal } = {},
): Promise<StageResults> {
  const composed = compose(stages);
  await pipeline([source, ...composed.streams, sink], options.signal ? { signal: options.signal } : {});
  return composed.results;
}

/**
 * source -> stages -> `consume(output)`, where the consumer reads the last stage's output (a
 * store's put). The first failure on either side stops the other: a failing consumer destroys the
 * chain, a failing chain errors the output the consumer reads.
 */
export async function runIntoConsumer<T>(
  source: Readable,
  stages: readonly Stage[],
  consume: (output: Readable) => Promise<T>,
): Promise<{ value: T; results: StageResults }> {
  const composed = compose(stages);
  const chain = pipeline([source, ...composed.streams]);
  const consuming = consume(composed.output).catch((error: unknown) => {
    const reason = error instanceof Error ? error : new Error(String(error));
    source.destroy(reason);
    for (const stream of composed.streams) stream.destroy(reason);
    throw error;
  });
  const [piped, consumed] = await Promise.allSettled([chain, consuming]);
  if (consumed.status === "rejected") throw consumed.reason;
  if (piped.status === "rejected") throw piped.reason;
  return { value: consumed.value, results: composed.results };
}
