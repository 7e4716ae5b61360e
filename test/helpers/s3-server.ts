/**
 * An S3-protocol server for tests: @20minutes/s3rver in-process on 127.0.0.1, a free port, a
 * temporary directory, one bucket and a fixed key pair. It checks SigV4 signatures, so a wrong
 * secret is refused as on AWS.
 *
 * Clients reach it with their ordinary production configuration (path-style, the SDK's default
 * credential chain): the one protocol quirk of s3rver is fixed here, on the server side, so that
 * child processes (the CLI under test) need nothing special either. See `signBucketPathsAsSent`.
 *
 * Its ListObjectsV2 continuation tokens need `node --openssl-legacy-provider` (scripts/run-tests.mjs
 * passes it). Its listings are put in S3's key order here (`listInKeyOrder`). It has no AbortMultipartUpload: aborted uploads leave parts in its own directory,
 * which are never visible as objects.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { mkdtempSync, rmSync } from "node:fs";
import type { IncomingHttpHeaders, Server } from "node:http";
import { createRequire } from "node:module";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The parts of a Koa context the middlewares below use. */
interface KoaContext {
  method: string;
  path: string;
  url: string;
  headers: IncomingHttpHeaders;
  mountPath?: string;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

interface ListObjectsOptions {
  delimiter?: string;
  startAfter?: string;
  prefix?: string;
  maxKeys?: number;
}
interface ListObjectsResult {
  objects: { key: string }[];
  commonPrefixes: string[];
  isTruncated: boolean;
}
interface S3rverFilesystemStore {
  listObjects(bucket: string, options: ListObjectsOptions): Promise<ListObjectsResult>;
  getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
}

interface S3rverApp {
  store: S3rverFilesystemStore;
  middleware: KoaMiddleware[];
  proxy: boolean;
  httpServer?: Server;
  run(): Promise<{ address: string; port: number }>;
}
type S3rverClass = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => S3rverApp;

const require = createRequire(import.meta.url);
const S3rver = require("@20minutes/s3rver") as S3rverClass;

/** s3rver's built-in key pair. */
const ACCESS_KEY_ID = "S3RVER";
const SECRET_ACCESS_KEY = "S3RVER";
const REGION = "us-east-1";

export interface RecordedRequest {
  method: string;
  /** Path and query as sent, e.g. `/lifeboat-test/a/b?uploadId=...`. */
  url: string;
  headers: IncomingHttpHeaders;
}

export interface S3TestServer {
  /** `http://127.0.0.1:<port>`: use with path-style requests. */
  endpoint: string;
  port: number;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Where s3rver keeps its buckets; a new server on the same directory sees the same objects. */
  directory: string;
  /** Credentials and region for the SDK's default chain, e.g. for a child process's environment. */
  env: { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string; AWS_REGION: string };
  /** Every request received, in order (headers as sent by the client). */
  requests: RecordedRequest[];
  /**
   * Closes the server and destroys every open connection at once, so it also simulates a store
   * dying in the middle of an upload. Removes the directory unless the caller supplied it.
   * Safe to call twice.
   */
  stop(): Promise<void>;
}

/**
 * The SDK signs a bucket-level request (HeadBucket, ListObjectsV2, DeleteObjects) for the path it
 * sends, `/bucket/`, but s3rver rebuilds the canonical path from the bucket name as `/bucket` and
 * answers 403 SignatureDoesNotMatch. For virtual-hosted requests s3rver computes
 * `"/" + bucket + mountPath`; so a bucket-level path-style request is presented to it as the
 * virtual-hosted request it is equivalent to (bucket in a forwarded host, path "/") with mountPath
 * "/", and it checks the signature against exactly the path that was signed. The signature is still
 * verified, with the real secret.
 */
const signBucketPathsAsSent: KoaMiddleware = async (ctx, next) => {
  const bucketLevel = /^\/([^/]+)\/$/.exec(ctx.path);
  if (bucketLevel) {
    ctx.headers["x-forwarded-host"] = `${bucketLevel[1]}.s3.amazonaws.com`;
    ctx.path = "/";
    ctx.mountPath = "/";
  }
  await next();
};

/**
 * s3rver lists keys in the order it walks its directories ("a/b" before "a-c"), and pages on from
 * a continuation key with a string comparison, so a paged listing can skip keys. S3 lists keys in
 * UTF-8 byte order and pages on from the last key: this listing does exactly that (for listings
 * without a delimiter, the only kind we use). It walks every key under the prefix for each page but
 * reads the metadata of the page's keys only: s3rver reads all of it at once, which fails with
 * too many open files in a bucket of some ten thousand objects.
 */
function listInKeyOrder(store: S3rverFilesystemStore): void {
  const listAll = store.listObjects.bind(store);
  const getMetadata = store.getMetadata.bind(store);
  const keysOnly = new AsyncLocalStorage<boolean>();
  store.getMetadata = (bucket, key) => (keysOnly.getStore() ? Promise.resolve({}) : getMetadata(bucket, key));
  store.listObjects = async (bucket, options) => {
    if (options.delimiter) return listAll(bucket, options);
    const { startAfter = "", maxKeys = Infinity } = options;
    const all = await keysOnly.run(true, () => listAll(bucket, { prefix: options.prefix ?? "" }));
    const bytes = (key: string): Buffer => Buffer.from(key, "utf8");
    const after = all.objects
      .filter((object) => Buffer.compare(bytes(object.key), bytes(startAfter)) > 0)
      .sort((a, b) => Buffer.compare(bytes(a.key), bytes(b.key)));
    const page = await Promise.all(
      after.slice(0, maxKeys).map(async (object) => {
        const metadata = await getMetadata(bucket, object.key).catch((error: NodeJS.ErrnoException) => {
          if (error.code === "ENOENT") return undefined; // deleted meanwhile
          throw error;
        });
        if (!metadata) return undefined;
        const S3Object = object.constructor as new (...args: unknown[]) => { key: string };
        return new S3Object(bucket, object.key, null, metadata);
      }),
    );
    return {
      objects: page.filter((object) => object !== undefined),
      commonPrefixes: [],
      isTruncated: after.length > maxKeys,
    };
  };
}

export async function startS3Server(
  options: { directory?: string; port?: number; bucket?: string } = {},
): Promise<S3TestServer> {
  const bucket = options.bucket ?? "lifeboat-test";
  const ownsDirectory = options.directory === undefined;
  const directory = options.directory ?? mkdtempSync(join(tmpdir(), "lifeboat-s3-"));
  const requests: RecordedRequest[] = [];
  const app = new S3rver({
    address: "127.0.0.1",
    port: options.port ?? 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  // With `proxy` Koa takes the host from X-Forwarded-Host, which signBucketPathsAsSent sets.
  app.proxy = true;
  const record: KoaMiddleware = async (ctx, next) => {
    requests.push({ method: ctx.method, url: ctx.url, headers: { ...ctx.headers } });
    await next();
  };
  app.middleware.unshift(record, signBucketPathsAsSent);
  listInKeyOrder(app.store);

  const { port } = await app.run();
  const server = app.httpServer;
  if (!server) throw new Error("s3rver did not start an HTTP server");
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // s3rver closes its logger on "close", and requests cut short log afterwards; keep it open
      // (it is silent) rather than have winston complain that it has no transports.
      server.removeAllListeners("close");
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      if (ownsDirectory) rmSync(directory, { recursive: true, force: true });
    })();
    return stopping;
  };

  const env = {
    AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
    AWS_REGION: REGION,
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    bucket,
    region: REGION,
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    directory,
    env,
    requests,
    stop,
  };
}

/**
 * Sets environment variables (undefined deletes one) and returns a function that restores every
 * one of them to what it was. The SDK's default credential chain reads them when a client is made.
 */
export function setEnv(vars: Record<string, string | undefined>): () => void {
  const saved = Object.keys(vars).map((name) => [name, process.env[name]] as const);
  for (const [name, value] of Object.entries(vars)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/**
 * For a describe block: an S3 test server started before its tests and stopped after them, with
 * its credentials in the environment (the SDK's default chain) meanwhile. Returns a getter, since
 * the server exists only once the hook ran, and the CLI flags that point at it.
 */
export function useS3Server(register: {
  before: (fn: () => Promise<void>) => void;
  after: (fn: () => Promise<void>) => void;
}): {
  server: () => S3TestServer;
  flags: () => string[];
} {
  let server: S3TestServer | undefined;
  let restoreEnv: (() => void) | undefined;
  register.before(async () => {
    server = await startS3Server();
    restoreEnv = setEnv({ ...server.env, AWS_PROFILE: undefined });
  });
  register.after(async () => {
    restoreEnv?.();
    await server?.stop();
  });
  const get = () => {
    if (!server) throw new Error("the S3 test server is not running yet");
    return server;
  };
  return { server: get, flags: () => ["--s3-endpoint", get().endpoint, "--s3-force-path-style"] };
}
