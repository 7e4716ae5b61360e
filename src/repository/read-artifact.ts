/**
 * Reading an artifact back, checked against the manifest: the stored bytes' size and sha256
 * always, and with identities (an empty list for an unencrypted backup) the plaintext's too. Every
 * command that reads an artifact goes through here, so none can skip the check.
 */
import { Writable } from "node:stream";
import type { Identity } from "../crypto/age/index.js";
import { describeError } from "../domain/errors.js";
import type { Artifact, Digest, Manifest } from "../domain/manifest.js";
import { PLAINTEXT, STORED, readStages } from "../pipeline/artifact-stages.js";
import { compose, type StageResults } from "../pipeline/pipeline.js";
import type { Stage } from "../pipeline/stage.js";
import { pipeline } from "node:stream/promises";
import type { BackupRepository } from "./backup-repository.js";

export interface ArtifactRead {
  artifact: Artifact;
  /** What was read, once the whole artifact was; undefined when the read failed. */
  stored: Digest | undefined;
  plaintext: Digest | undefined;
  /** Why the artifact does not match the manifest (or could not be read); empty when it does. */
  problems: string[];
}

/** The differences between what a read found and what the manifest says, one sentence each. */
export function digestProblems(artifact: Artifact, stored: Digest, plaintext: Digest | undefined): string[] {
  if (stored.bytes !== artifact.stored.bytes) {
    return [`read ${stored.bytes} bytes of ${artifact.name}; the manifest says ${artifact.stored.bytes}`];
  }
  if (stored.sha256 !== artifact.stored.sha256) {
    return [
      `the sha256 of ${artifact.name} is ${stored.sha256}; the manifest says ${artifact.stored.sha256}`,
    ];
  }
  if (
    plaintext &&
    (plaintext.bytes !== artifact.plaintext.bytes || plaintext.sha256 !== artifact.plaintext.sha256)
  ) {
    return [
      `the plaintext of ${artifact.name} (${plaintext.bytes} bytes, sha256 ${plaintext.sha256}) differs from the manifest's (${artifact.plaintext.bytes} bytes, sha256 ${artifact.plaintext.sha256})`,
    ];
  }
  return [];
}

/** The digests a finished read pipeline measured (plaintext only when it decrypted). */
export function readDigests(results: StageResults): { stored: Digest; plaintext: Digest | undefined } {
  return {
    stored: results.get<Digest>(STORED),
    plaintext: results.has(PLAINTEXT) ? results.get<Digest>(PLAINTEXT) : undefined,
  };
}

/**
 * The read pipeline of an artifact, ready to run: the store's stream and the stages, for callers
 * that hand the streams to a consumer of their own (pg_restore's stdin). After the run, `check()`
 * compares what passed with the manifest.
 */
export async function openArtifactRead(
  repository: BackupRepository,
  manifest: Manifest,
  artifact: Artifact,
  identities: readonly Identity[] | undefined,
  options: { plaintextTaps?: Stage[]; storedTaps?: Stage[] } = {},
): Promise<{
  streams: (NodeJS.ReadableStream | NodeJS.ReadWriteStream)[];
  check(): string[];
  results: StageResults;
}> {
  const stages = readStages(artifact, identities, { plaintextTaps: options.plaintextTaps ?? [] });
  const all = [...(options.storedTaps ?? []), ...stages];
  const composed = compose(all);
  const source = await repository.openArtifact(manifest, artifact);
  return {
    streams: [source, ...composed.streams],
    results: composed.results,
    check: () => {
      const { stored, plaintext } = readDigests(composed.results);
      return digestProblems(artifact, stored, plaintext);
    },
  };
}

/**
 * Reads the whole artifact into `sink` (default: nowhere) and checks it. Never throws for damage:
 * a read that fails (a missing object, a decryption error) is a problem in the result. One stopped
 * by `signal` is one too: the caller checks the signal before it judges the result.
 */
export async function readArtifact(
  repository: BackupRepository,
  manifest: Manifest,
  artifact: Artifact,
  identities: readonly Identity[] | undefined,
  options: { sink?: Writable; plaintextTaps?: Stage[]; storedTaps?: Stage[]; signal?: AbortSignal } = {},
): Promise<ArtifactRead> {
  let opened: Awaited<ReturnType<typeof openArtifactRead>>;
  try {
    opened = await openArtifactRead(repository, manifest, artifact, identities, options);
    await pipeline([...opened.streams, options.sink ?? discard()], {
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    return {
      artifact,
      stored: undefined,
      plaintext: undefined,
      problems: [`reading ${artifact.name} failed: ${describeError(error)}`],
    };
  }
  const { stored, plaintext } = readDigests(opened.results);
  return { artifact, stored, plaintext, problems: digestProblems(artifact, stored, plaintext) };
}

function discard(): Writable {
  return new Writable({ write: (_chunk, _encoding, callback) => callback() });
}
