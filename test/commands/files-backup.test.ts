/**
 * --files through the commands, against a real PostgreSQL cluster, the S3 mock (standing in for
 * Supabase Storage) and local trees: a backup with the database, a bucket and a directory; deep
 * verify; restore-files into an empty directory and an empty bucket, compared byte for byte;
 * overwrite and confirm; tampering; bad sources refused with exit 2 and nothing written; the
 * storage.objects consistency check on the imitation Supabase layout.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { createFilesS3Client } from "../../src/files/s3-client.js";
import { runCli } from "../helpers/cli.js";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { startS3Server, type S3TestServer } from "../helpers/s3-server.js";
import { createSupabaseLayout } from "../helpers/supabase-layout.js";
import { assertSameTree, makeSampleTree, pseudoRandom } from "../files/files-helpers.js";

let cluster: Cluster;
let server: S3TestServer;
let admin: S3Client;
let work: string;
let tree: string;
let identityFile: string;
let recipient: string;

const PHOTOS: Record<string, Buffer> = {
  "ünïcödé/写真 😀.jpg": pseudoRandom(50_000, 1),
  "empty.txt": Buffer.alloc(0),
  "nested/a/b/c.txt": Buffer.from("c\n"),
  [`${"long-".repeat(40)}/${"name-".repeat(30)}.bin`]: pseudoRandom(3_000, 2),
};

async function put(bucket: string, objects: Record<string, Buffer>): Promise<void> {
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const [key, body] of Object.entries(objects)) {
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  }
}

async function objectsOf(bucket: string): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
  for (const object of listed.Contents ?? []) {
    const got = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key! }));
    found.set(object.Key!, Buffer.from(await got.Body!.transformToByteArray()));
  }
  return found;
}

before(async () => {
  [cluster, server] = await Promise.all([startCluster(), startS3Server()]);
  await createShop(cluster, "shop");
  await createSupabaseLayout(cluster, "app");
  admin = createFilesS3Client({
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  await put("photos", PHOTOS);
  work = mkdtempSync(join(tmpdir(), "lifeboat-files-cmd-"));
  tree = join(work, "tree");
  makeSampleTree(tree);
  identityFile = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
});

after(async () => {
  admin?.destroy();
  await Promise.all([cluster?.stop(), server?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The files sources' credentials only: the backup store is a local directory. */
const env = (database = "shop", keys = true) => ({
  PATH: process.env.PATH,
  DATABASE_URL: cluster.url(database),
  ...(keys
    ? {
        LIFEBOAT_FILES_AWS_ACCESS_KEY_ID: server.accessKeyId,
        LIFEBOAT_FILES_AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
      }
    : {}),
});

const filesS3 = () => ["--files-s3-endpoint", server.endpoint, "--files-s3-force-path-style"];

function manifestOf(storage: string, label: string, backupId: string) {
  return JSON.parse(readFileSync(join(storage, label, backupId, "manifest.json"), "utf8")) as {
    artifacts: {
      name: string;
      kind: string;
      source?: string;
      files?: number;
      bytes?: number;
      storageObjects?: Record<string, number>;
    }[];
  };
}

describe("backup --files, verify, restore-files", () => {
  let storage: string;
  let backupId: string;

  before(async () => {
    storage = join(work, "store");
    const run = await runCli(
      [
        "backup",
        "--storage",
        storage,
        "--label",
        "both",
        "--recipient",
        recipient,
        "--files",
        "s3://photos",
        "--files",
        tree,
        ...filesS3(),
        "--json",
      ],
      { env: env() },
    );
    assert.equal(run.code, 0, run.stderr);
    backupId = run.json.backupId as string;
  });

  test("one backup holds the dump and one encrypted artifact per source, counted in the manifest", () => {
    const manifest = manifestOf(storage, "both", backupId);
    const files = manifest.artifacts.filter((artifact) => artifact.kind === "files");
    assert.deepEqual(
      files.map((artifact) => [artifact.name, artifact.source, artifact.files]),
      [
        ["files-1.tar.zst.age", "s3://photos", 4],
        ["files-2.tar.zst.age", tree, 6],
      ],
    );
    assert.equal(
      files[0]!.bytes,
      Object.values(PHOTOS).reduce((sum, body) => sum + body.length, 0),
    );
    // File names are personal data: they are in the encrypted index, never in the manifest.
    const text = readFileSync(join(storage, "both", backupId, "manifest.json"), "utf8");
    assert.doesNotMatch(text, /写真|deep\.txt/);
    // Stock tools: age | zstd | tar.
    const tar = execFileSync("sh", [
      "-c",
      `age -d -i ${identityFile} ${join(storage, "both", backupId, files[1]!.name)} | zstd -d | tar -t`,
    ]).toString();
    assert.match(tar, /a\/b\/c\/deep\.txt/);
    assert.match(tar, /\.lifeboat-index\.jsonl/);
  });

  test("deep verify checks every file against the index; list shows the files", async () => {
    const run = await runCli(
      ["verify", "--storage", storage, "--label", "both", "--identity-file", identityFile, "--json"],
      { env: { PATH: process.env.PATH } },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json.verified, true);
    assert.equal(run.json.filesChecked, 10);
    const list = await runCli(["list", "--storage", storage, "--label", "both", "--json"]);
    const listed = (list.json.backups as { files: unknown }[])[0];
    const bytes = manifestOf(storage, "both", backupId)
      .artifacts.filter((artifact) => artifact.kind === "files")
      .reduce((sum, artifact) => sum + (artifact.bytes ?? 0), 0);
    assert.deepEqual(listed?.files, { sources: 2, files: 10, bytes });
  });

  test("restore-files puts a directory source back byte for byte, and never overwrites unless asked", async () => {
    const into = join(work, "restored-tree");
    const args = [
      "restore-files",
      "--storage",
      storage,
      "--label",
      "both",
      "--identity-file",
      identityFile,
      "--source",
      "2",
      "--to",
      into,
      "--confirm",
      into,
      "--json",
    ];
    const run = await runCli(args, { env: { PATH: process.env.PATH } });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual([run.json.written, run.json.failed, run.json.skippedExisting], [6 + 2, 0, 0]);
    assertSameTree(into, tree);

    writeFileSync(join(into, "a", "b", "c", "deep.txt"), "changed locally\n");
    const again = await runCli(args, { env: { PATH: process.env.PATH } });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual([again.json.written, again.json.skippedExisting], [0, 16]);
    assert.equal(readFileSync(join(into, "a", "b", "c", "deep.txt"), "utf8"), "changed locally\n");

    const overwrite = await runCli([...args, "--overwrite"], { env: { PATH: process.env.PATH } });
    assert.equal(overwrite.code, 0, overwrite.stderr);
    assertSameTree(into, tree);

    // Each restore-files is on record in the label's audit trail, with the target and the options.
    const audit = readdirSync(join(storage, "both", "_audit")).filter((name) =>
      name.endsWith("-restore-files.json"),
    );
    assert.equal(audit.length, 3);
    const record = JSON.parse(
      readFileSync(join(storage, "both", "_audit", audit.sort().at(-1)!), "utf8"),
    ) as {
      target: { url: string };
      options: { overwrite: boolean };
      outcome: unknown;
    };
    assert.equal(record.target.url, into);
    assert.equal(record.options.overwrite, true);
  });

  test("restore-files puts a bucket source back into an empty bucket, byte for byte", async () => {
    await admin.send(new CreateBucketCommand({ Bucket: "photos-restored" }));
    const run = await runCli(
      [
        "restore-files",
        "--storage",
        storage,
        "--label",
        "both",
        "--identity-file",
        identityFile,
        "--source",
        "s3://photos",
        "--to",
        "s3://photos-restored",
        "--confirm",
        "photos-restored",
        ...filesS3(),
        "--json",
      ],
      { env: env() },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json.written, 4);
    const restored = await objectsOf("photos-restored");
    assert.deepEqual([...restored.keys()].sort(), Object.keys(PHOTOS).sort());
    for (const [key, body] of Object.entries(PHOTOS)) assert.ok(restored.get(key)?.equals(body), key);
  });

  test("restore-files refuses a confirm that does not name the target, and a missing --source", async () => {
    const base = ["restore-files", "--storage", storage, "--label", "both", "--identity-file", identityFile];
    const into = join(work, "never-restored");
    const wrong = await runCli([...base, "--source", "2", "--to", into, "--confirm", "elsewhere"]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /--confirm "elsewhere": expected/);
    const noSource = await runCli([...base, "--to", into, "--confirm", into]);
    assert.equal(noSource.code, 2);
    assert.match(noSource.stderr, /--source: required; backup \S+ has 2 files sources: 1 \(s3:\/\/photos\)/);
    assert.equal(existsSync(into), false);
  });

  test("a tampered files artifact fails deep verify, and restore-files writes nothing from it", async () => {
    const copy = join(work, "tampered-store");
    execFileSync("cp", ["-r", storage, copy]);
    const artifact = join(copy, "both", backupId, "files-2.tar.zst.age");
    const data = readFileSync(artifact);
    data[Math.floor(data.length / 2)]! ^= 0x01;
    writeFileSync(artifact, data);
    const verify = await runCli([
      "verify",
      "--storage",
      copy,
      "--label",
      "both",
      "--identity-file",
      identityFile,
    ]);
    assert.equal(verify.code, 1);
    assert.match(verify.stderr, /files-2\.tar\.zst\.age/);
    const into = join(work, "from-tampered");
    const restore = await runCli([
      "restore-files",
      "--storage",
      copy,
      "--label",
      "both",
      "--identity-file",
      identityFile,
      "--source",
      "2",
      "--to",
      into,
      "--confirm",
      into,
    ]);
    assert.equal(restore.code, 1);
    assert.match(restore.stderr, /nothing was restored/);
    assert.deepEqual(readdirSync(into), []);
  });
});

describe("backup --files: bad sources", () => {
  const cases: [string, string[], ReturnType<typeof env> | undefined, RegExp][] = [
    [
      "a missing bucket",
      ["--files", "s3://no-such-bucket"],
      undefined,
      /--files "s3:\/\/no-such-bucket": bucket "no-such-bucket" does not exist/,
    ],
    [
      "a missing directory",
      ["--files", "/nonexistent/export"],
      undefined,
      /--files "\/nonexistent\/export": the directory does not exist/,
    ],
    [
      "wrong credentials",
      ["--files", "s3://photos"],
      "wrong" as never,
      /--files "s3:\/\/photos": access denied/,
    ],
    [
      "half a key pair",
      ["--files", "s3://photos"],
      "half" as never,
      /LIFEBOAT_FILES_AWS_SECRET_ACCESS_KEY is not set/,
    ],
  ];
  for (const [what, extra, variant, message] of cases) {
    test(`${what}: exit 2 naming the source, nothing written`, async () => {
      const storage = join(work, `bad-${what.replaceAll(" ", "-")}`);
      let environment: NodeJS.ProcessEnv = env();
      if ((variant as unknown) === "wrong") {
        environment = { ...env(), LIFEBOAT_FILES_AWS_SECRET_ACCESS_KEY: "not-the-secret" };
      } else if ((variant as unknown) === "half") {
        environment = { ...env("shop", false), LIFEBOAT_FILES_AWS_ACCESS_KEY_ID: server.accessKeyId };
      }
      const run = await runCli(
        ["backup", "--storage", storage, "--recipient", recipient, ...extra, ...filesS3()],
        { env: environment },
      );
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(existsSync(storage), false);
    });
  }
});

describe("backup --files with the supabase preset: storage.objects", () => {
  before(async () => {
    // The imitated layout: file-<i>.png for i in 1..40, in private when i % 3 == 0, else avatars.
    const avatars: Record<string, Buffer> = {};
    const privateFiles: Record<string, Buffer> = {};
    for (let i = 1; i <= 40; i += 1) {
      if (i === 1) continue; // a row whose object is gone
      (i % 3 === 0 ? privateFiles : avatars)[`file-${i}.png`] = Buffer.from(`png ${i}`);
    }
    avatars["stray.png"] = Buffer.from("no row"); // an object without a row
    await put("avatars", avatars);
    await put("private", privateFiles);
  });

  test("the rows in the dump's snapshot are compared with the objects read, counted in the manifest", async () => {
    const storage = join(work, "supabase-store");
    const args = [
      "backup",
      "--storage",
      storage,
      "--label",
      "app",
      "--recipient",
      recipient,
      "--preset",
      "supabase",
      "--files",
      "s3://avatars",
      "--files",
      "s3://private",
      ...filesS3(),
      "--json",
    ];
    const run = await runCli(args, { env: env("app") });
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /s3:\/\/avatars: storage\.objects and the objects read differ: 1 row\(s\) without an object, 1 object\(s\) without a row \(26 matched\)/,
    );
    const manifest = manifestOf(storage, "app", run.json.backupId as string);
    const checks = manifest.artifacts.filter((a) => a.kind === "files").map((a) => a.storageObjects);
    assert.deepEqual(checks, [
      { rows: 27, matched: 26, missingFiles: 1, filesWithoutRow: 1 },
      { rows: 13, matched: 13, missingFiles: 0, filesWithoutRow: 0 },
    ]);

    const strict = await runCli(
      [
        ...args.slice(0, 2),
        join(work, "strict-store"),
        ...args.slice(3),
        "--storage-objects-mismatch",
        "fail",
      ],
      {
        env: env("app"),
      },
    );
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /nothing was committed/);
    const label = join(work, "strict-store", "app");
    const folders = existsSync(label) ? readdirSync(label) : [];
    for (const folder of folders) assert.equal(existsSync(join(label, folder, "manifest.json")), false);
  });
});

describe("restore-test with files sources", () => {
  test("restores the database and checks every file against its index, counted beside the tables", async () => {
    const storage = join(work, "restore-test-store");
    const backup = await runCli(
      ["backup", "--storage", storage, "--label", "rt", "--recipient", recipient, "--files", tree, "--json"],
      { env: env() },
    );
    assert.equal(backup.code, 0, backup.stderr);
    const run = await runCli(
      [
        "restore-test",
        "--storage",
        storage,
        "--label",
        "rt",
        "--identity-file",
        identityFile,
        "--scratch-database-url",
        cluster.url("postgres"),
        "--json",
      ],
      { env: { PATH: process.env.PATH } },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json.passed, true);
    const files = run.json.files as { sources: number; files: number; bytes: number };
    assert.deepEqual([files.sources, files.files], [1, 6]);
    assert.ok(files.bytes > 70_000);
  });
});

describe("prune with files sources", () => {
  test("a pruned backup's files artifacts go with its dump and manifest", async () => {
    const storage = join(work, "prune-store");
    const ids: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 1100)); // ids have whole seconds
      const run = await runCli(
        ["backup", "--storage", storage, "--label", "p", "--recipient", recipient, "--files", tree, "--json"],
        { env: env() },
      );
      assert.equal(run.code, 0, run.stderr);
      ids.push(run.json.backupId as string);
    }
    assert.ok(readdirSync(join(storage, "p", ids[0]!)).includes("files-1.tar.zst.age"));
    const prune = await runCli(["prune", "--storage", storage, "--label", "p", "--keep-last", "1"]);
    assert.equal(prune.code, 0, prune.stderr);
    assert.deepEqual(
      readdirSync(join(storage, "p")).filter((name) => name !== "_audit"),
      [ids[1]],
    );
  });
});

describe("backup --no-database: files only", () => {
  test("a files-only backup commits, verifies deep, lists, and restores its files; restore-test refuses it", async () => {
    const storage = join(work, "files-only-store");
    // A FIFO in the tree: left out (reading it would block), and said so with a count.
    const fifo = join(tree, "a-fifo");
    execFileSync("mkfifo", [fifo]);
    const noDatabase = { PATH: process.env.PATH };
    const run = await runCli(
      [
        "backup",
        "--storage",
        storage,
        "--label",
        "fo",
        "--recipient",
        recipient,
        "--no-database",
        "--files",
        tree,
        "--json",
      ],
      { env: noDatabase },
    );
    rmSync(fifo);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stderr.includes(`files ${tree}: 1 socket(s), FIFO(s) or device(s) left out`), run.stderr);
    const backupId = run.json.backupId as string;
    const raw = JSON.parse(readFileSync(join(storage, "fo", backupId, "manifest.json"), "utf8")) as Record<
      string,
      unknown
    >;
    assert.equal(raw.source, undefined);
    assert.equal(raw.dump, undefined);
    assert.deepEqual(
      (raw.artifacts as { kind: string }[]).map((artifact) => artifact.kind),
      ["files"],
    );
    assert.deepEqual(readdirSync(join(storage, "fo", backupId)).sort(), [
      "files-1.tar.zst.age",
      "manifest.json",
    ]);

    const verify = await runCli(
      ["verify", "--storage", storage, "--label", "fo", "--identity-file", identityFile, "--json"],
      {
        env: noDatabase,
      },
    );
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal(verify.json.filesChecked, 6);

    const restoreTest = await runCli(
      [
        "restore-test",
        "--storage",
        storage,
        "--label",
        "fo",
        "--identity-file",
        identityFile,
        "--scratch-database-url",
        cluster.url("postgres"),
      ],
      { env: noDatabase },
    );
    assert.equal(restoreTest.code, 2);
    assert.match(restoreTest.stderr, /holds no database dump \(a files-only backup\)/);

    const into = join(work, "files-only-restored");
    const restore = await runCli(
      [
        "restore-files",
        "--storage",
        storage,
        "--label",
        "fo",
        "--identity-file",
        identityFile,
        "--to",
        into,
        "--confirm",
        into,
      ],
      { env: noDatabase },
    );
    assert.equal(restore.code, 0, restore.stderr);
    assertSameTree(into, tree);
  });

  test("--no-database needs a files source and refuses the dump's options", async () => {
    const storage = join(work, "files-only-bad");
    const base = ["backup", "--storage", storage, "--recipient", recipient, "--no-database"];
    const none = await runCli(base);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--no-database: expected at least one --files source/);
    const preset = await runCli([...base, "--files", tree, "--preset", "supabase"]);
    assert.equal(preset.code, 2);
    assert.match(preset.stderr, /--preset: applies to the database dump, which --no-database leaves out/);
    assert.equal(existsSync(storage), false);
    const withoutDatabase = await runCli([
      "backup",
      "--storage",
      storage,
      "--recipient",
      recipient,
      "--files",
      tree,
    ]);
    assert.equal(withoutDatabase.code, 2);
    assert.match(withoutDatabase.stderr, /--database-url: required/);
  });
});
