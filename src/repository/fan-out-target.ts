/**
 * Several destinations for one backup (issue 15, docs/offsite.md): the dump is produced once and
 * each artifact's stream is teed into every destination's writer. A destination whose upload
 * fails is dropped (what it got is taken back) and the others go on; at the end the manifest is
 * written in each destination where every artifact arrived, so no destination ever holds a
 * manifest without its artifacts. The backup fails, naming each failed destination, when fewer
 * than `minCommits` committed; a destination that committed keeps its backup either way (it is
 * whole), and abort() never touches it.
 */
import { PassThrough, type Readable } from "node:stream";
import { InputError, LifeboatError, OperationError, describeError } from "../domain/errors.js";
import type { Manifest } from "../domain/manifest.js";
import type { PutOptions, StoreAccess } from "../storage/store.js";
import type { BackupTarget, BackupWriter } from "./backup-repository.js";

/** What became of the backup in one destination. */
export interface DestinationOutcome {
  url: string;
  /** The manifest's key when the backup committed there. */
  manifestKey?: string;
  /** Why it did not commit there. */
  error?: string;
}

export interface FanOutOptions {
  /** Destinations that must commit for the backup to succeed; default all of them. */
  minCommits?: number;
  /** Where a dropped destination is reported while the others go on. */
  warn?: (message: string) => void;
}

export class FanOutTarget implements BackupTarget {
  private lastWriter: FanOutWriter | undefined;
  private readonly minCommits: number;

  constructor(
    private readonly targets: readonly BackupTarget[],
    private readonly options: FanOutOptions = {},
  ) {
    if (targets.length === 0) throw new Error("a fan-out needs at least one destination");
    this.minCommits = Math.min(options.minCommits ?? targets.length, targets.length);
  }

  get url(): string {
    return this.targets.map((target) => target.url).join(" and ");
  }

  /**
   * Every destination is checked, all at once, before anything is dumped: one unreachable or
   * misconfigured destination fails the run (exit 2 for a configuration the user must fix), named
   * by its own error, whatever min-destinations allows.
   */
  async check(access: StoreAccess): Promise<void> {
    const results = await Promise.allSettled(this.targets.map((target) => target.check(access)));
    const failures = results.flatMap((result) => (result.status === "rejected" ? [result.reason] : []));
    if (failures.length === 0) return;
    if (failures.length === 1) throw failures[0];
    const message = failures.map((error) => describeError(error)).join("; ");
    const allInput = failures.every((error) => error instanceof LifeboatError && error.exitCode === 2);
    throw allInput ? new InputError(message, { input: "storage" }) : new OperationError(message);
  }

  async sweepLeftovers(label: string, olderThan: Date): Promise<string[]> {
    const swept = await Promise.all(this.targets.map((target) => target.sweepLeftovers(label, olderThan)));
    return swept.flat();
  }

  beginBackup(
    label: string,
    backupId: string,
    options: { retention?: PutOptions["retention"] } = {},
  ): BackupWriter {
    const writers = this.targets.map((target) => target.beginBackup(label, backupId, options));
    this.lastWriter = new FanOutWriter(label, backupId, writers, this.minCommits, this.options.warn);
    return this.lastWriter;
  }

  /** Each destination's outcome of the last backup begun, in the order given. */
  outcomes(): DestinationOutcome[] {
    return this.lastWriter?.outcomes() ?? this.targets.map((target) => ({ url: target.url }));
  }
}

interface Branch {
  writer: BackupWriter;
  error?: string;
  manifestKey?: string;
}

class FanOutWriter implements BackupWriter {
  private readonly branches: Branch[];

  constructor(
    readonly label: string,
    readonly backupId: string,
    writers: BackupWriter[],
    private readonly minCommits: number,
    private readonly warn: ((message: string) => void) | undefined,
  ) {
    this.branches = writers.map((writer) => ({ writer }));
  }

  get url(): string {
    return this.branches.map((branch) => branch.writer.url).join(" and ");
  }

  outcomes(): DestinationOutcome[] {
    return this.branches.map((branch) => ({
      url: branch.writer.url,
      ...(branch.manifestKey !== undefined ? { manifestKey: branch.manifestKey } : {}),
      ...(branch.error !== undefined ? { error: branch.error } : {}),
    }));
  }

  private live(): Branch[] {
    return this.branches.filter((branch) => branch.error === undefined);
  }

  /** Drops a destination: records why, takes back what it got, and says so. */
  private drop(branch: Branch, error: unknown): void {
    if (branch.error !== undefined) return;
    branch.error = describeError(error);
    void branch.writer.abort().catch(() => undefined);
    const left = this.live().length;
    this.warn?.(`destination ${branch.writer.url} failed: ${branch.error} (${left} still writing)`);
  }

  /** The error once too few destinations are left to commit: each failed one named. */
  private tooFew(action: string): OperationError {
    const failed = this.branches.filter((branch) => branch.error !== undefined);
    const named = failed.map((branch) => `${branch.writer.url}: ${branch.error}`).join("; ");
    const needed =
      this.minCommits === this.branches.length ? "every destination" : `at least ${this.minCommits}`;
    return new OperationError(
      `backup ${this.label}/${this.backupId} ${action} in ${failed.length} of ${this.branches.length} destinations (${needed} must commit): ${named}`,
    );
  }

  async putArtifact(
    name: string,
    body: Readable,
    options: { sizeHint?: number; signal?: AbortSignal } = {},
  ): Promise<{ bytes: number; key: string }> {
    const branches = this.live();
    if (branches.length < this.minCommits) {
      body.destroy();
      throw this.tooFew("failed");
    }
    const pipes = new Map<Branch, PassThrough>(
      branches.map((branch) => {
        const pipe = new PassThrough();
        // A store that fails destroys its body with the error; its put's rejection reports it.
        pipe.on("error", () => undefined);
        return [branch, pipe];
      }),
    );
    const waiting = new Set<PassThrough>();
    let bodyError: unknown;
    let tooFew: OperationError | undefined;
    const resume = () => {
      if (waiting.size === 0 && body.isPaused()) body.resume();
    };
    const cut = (branch: Branch, error: unknown) => {
      const pipe = pipes.get(branch);
      if (!pipe) return;
      pipes.delete(branch);
      waiting.delete(pipe);
      pipe.destroy();
      if (bodyError !== undefined) return;
      this.drop(branch, error);
      if (pipes.size < this.minCommits && tooFew === undefined) {
        // Too few left to matter: stop the dump rather than upload it to nobody's benefit.
        tooFew = this.tooFew("failed");
        body.destroy(tooFew);
      } else resume();
    };
    body.on("data", (chunk: Buffer) => {
      for (const pipe of pipes.values()) {
        if (pipe.destroyed) continue;
        if (!pipe.write(chunk) && !waiting.has(pipe)) {
          waiting.add(pipe);
          pipe.once("drain", () => {
            waiting.delete(pipe);
            resume();
          });
        }
      }
      if (waiting.size > 0) body.pause();
    });
    body.once("end", () => {
      for (const pipe of pipes.values()) pipe.end();
    });
    body.once("error", (error) => {
      bodyError ??= tooFew ?? error;
      for (const pipe of pipes.values()) pipe.destroy(error);
    });
    const puts = branches.map((branch) =>
      branch.writer.putArtifact(name, pipes.get(branch)!, options).then(
        (result) => ({ branch, result }),
        (error: unknown) => {
          cut(branch, error);
          throw error;
        },
      ),
    );
    const settled = await Promise.allSettled(puts);
    if (tooFew) throw tooFew;
    if (bodyError !== undefined) throw bodyError;
    const stored = settled.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value] : []));
    const first = stored.find((entry) => entry.branch.error === undefined);
    if (!first || stored.length < this.minCommits) throw this.tooFew("failed");
    return first.result;
  }

  async commit(manifest: Manifest, options: { signal?: AbortSignal; text?: string } = {}): Promise<string> {
    const branches = this.live();
    await Promise.all(
      branches.map(async (branch) => {
        try {
          branch.manifestKey = await branch.writer.commit(manifest, options);
        } catch (error) {
          this.drop(branch, error);
        }
      }),
    );
    const committed = this.branches.filter((branch) => branch.manifestKey !== undefined);
    if (committed.length < this.minCommits || committed.length === 0) {
      throw this.tooFew(committed.length > 0 ? `committed in ${committed.length} but failed` : "failed");
    }
    return committed[0]!.manifestKey!;
  }

  /** Takes back what every destination that did not commit holds; a committed backup stays. */
  async abort(): Promise<void> {
    await Promise.all(
      this.branches
        .filter((branch) => branch.manifestKey === undefined)
        .map((branch) => branch.writer.abort().catch(() => undefined)),
    );
  }
}
