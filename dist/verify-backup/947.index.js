export const id = 947;
export const ids = [947];
export const modules = {

/***/ 397:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   D0: () => (/* binding */ TEMP_FILE_PREFIX),
/* harmony export */   Mw: () => (/* binding */ assertValidKey),
/* harmony export */   YD: () => (/* binding */ compareKeys),
/* harmony export */   x3: () => (/* binding */ assertValidPrefix)
/* harmony export */ });
/* harmony import */ var _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(10241);
/**
 * The keys every store accepts: the same rules for the local directory and S3, so a layout that
 * works on one works on the other. Keys come from our own layout code, never straight from the user,
 * so a bad key is a bug: it fails with an OperationError rather than an InputError.
 */

/** Local stores write temporary files with this name prefix; no key segment may use it. */
const TEMP_FILE_PREFIX = ".partial-";
function problemWithSegments(segments, partialLast) {
    for (const [index, segment] of segments.entries()) {
        const isLast = index === segments.length - 1;
        if (segment === "" && !(isLast && partialLast))
            return "empty path segment";
        if (segment === "." || segment === "..")
            return `"${segment}" segment`;
        if (segment.startsWith(TEMP_FILE_PREFIX))
            return `segment starting with "${TEMP_FILE_PREFIX}"`;
    }
    return undefined;
}
function problemWithText(text) {
    if (text.startsWith("/"))
        return "leading slash";
    if (text.includes("\\"))
        return "backslash";
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(text))
        return "control character";
    return undefined;
}
/** Throws unless `key` is a relative, "/"-separated key without "", "." or ".." segments. */
function assertValidKey(key) {
    const problem = key === "" ? "empty key" : (problemWithText(key) ?? problemWithSegments(key.split("/"), false));
    if (problem)
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .OperationError */ .OK(`invalid storage key ${JSON.stringify(key)}: ${problem}`);
}
/** Like a key, but may be empty, end with "/" or end in the middle of a segment. */
function assertValidPrefix(prefix) {
    if (prefix === "")
        return;
    const problem = problemWithText(prefix) ?? problemWithSegments(prefix.split("/"), true);
    if (problem)
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .OperationError */ .OK(`invalid storage prefix ${JSON.stringify(prefix)}: ${problem}`);
}
/** Orders keys the way S3 lists them: by their UTF-8 bytes. */
function compareKeys(a, b) {
    return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}


/***/ }),

/***/ 98947:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   createS3Store: () => (/* binding */ createS3Store)
/* harmony export */ });
/* unused harmony exports MIN_PART_SIZE_BYTES, MAX_PART_SIZE_BYTES, MAX_PARTS, MAX_OBJECT_BYTES, DEFAULT_PART_SIZE_BYTES, DEFAULT_QUEUE_SIZE, DEFAULT_MAX_OBJECT_BYTES, choosePartSize, S3Store, uploadShape */
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(77598);
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_crypto__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_stream__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(57075);
/* harmony import */ var node_stream__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_stream__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(53711);
/* harmony import */ var _aws_sdk_lib_storage__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(22358);
/* harmony import */ var _domain_errors_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(10241);
/* harmony import */ var _keys_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(397);
/* harmony import */ var _s3_errors_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(14171);
/**
 * A store in an S3 bucket (AWS S3 or an S3-compatible store: R2, B2, MinIO, Supabase Storage, GCS
 * interop), under an optional key prefix.
 *
 * - Credentials come from the AWS SDK's default chain only (environment, profile, web identity), so
 *   OIDC role assumption in GitHub Actions works unchanged.
 * - Checksums are sent only where the API requires them unless `checksums: "when-supported"`: the
 *   SDK's default flexible checksums break several S3-compatible stores.
 * - A put is a streaming multipart upload (lib-storage `Upload`). Memory is bounded by about
 *   (queueSize + 1) x partSize whatever the object's size. The default 8 MiB parts (4 in flight,
 *   ~40 MiB: issue 13's 200 MB peak RSS to S3) allow objects up to 8 MiB x 10,000 = 78.1 GiB
 *   (83.9 GB); a `maxObjectBytes` hint grows the part size for more.
 */









const MIB = 1024 * 1024;
/** S3's limits on multipart uploads. */
const MIN_PART_SIZE_BYTES = 5 * MIB;
const MAX_PART_SIZE_BYTES = 5 * 1024 * MIB;
const MAX_PARTS = 10_000;
const MAX_OBJECT_BYTES = 5 * 1024 * 1024 * MIB;
const DEFAULT_PART_SIZE_BYTES = 8 * MIB;
const DEFAULT_QUEUE_SIZE = 4;
/** The largest object the default part size allows: 10,000 x 8 MiB = 78.1 GiB (83.9 GB). */
const DEFAULT_MAX_OBJECT_BYTES = DEFAULT_PART_SIZE_BYTES * MAX_PARTS;
const CONNECTION_TIMEOUT_MS = 10_000;
/** A socket idle this long is given up: a store that stops answering must not hang a backup. */
const SOCKET_TIMEOUT_MS = 120_000;
/**
 * The part size for an upload: the requested (or default) size, grown in whole MiB when needed so
 * that `maxObjectBytes` fits in S3's 10,000 parts.
 */
function choosePartSize(options = {}) {
    const requested = options.partSizeBytes ?? DEFAULT_PART_SIZE_BYTES;
    if (!Number.isSafeInteger(requested) ||
        requested < MIN_PART_SIZE_BYTES ||
        requested > MAX_PART_SIZE_BYTES) {
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .InputError */ .dz(`S3 part size ${options.partSizeBytes}: expected a whole number of bytes from 5 MiB (${MIN_PART_SIZE_BYTES}) to 5 GiB`);
    }
    const { maxObjectBytes } = options;
    if (maxObjectBytes === undefined)
        return requested;
    if (!Number.isSafeInteger(maxObjectBytes) || maxObjectBytes <= 0 || maxObjectBytes > MAX_OBJECT_BYTES) {
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .InputError */ .dz(`maximum object size ${maxObjectBytes}: expected a whole number of bytes up to S3's limit of 5 TiB`);
    }
    const needed = Math.ceil(maxObjectBytes / MAX_PARTS / MIB) * MIB;
    return Math.max(requested, needed);
}
function positiveInteger(value, fallback, max, what) {
    if (value === undefined)
        return fallback;
    if (!Number.isSafeInteger(value) || value < 1 || value > max) {
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .InputError */ .dz(`${what} ${value}: expected a whole number from 1 to ${max}`);
    }
    return value;
}
/**
 * DeleteObjects is the one operation whose checksum S3 requires. The SDK now sends CRC32 there,
 * which several S3-compatible stores refuse ("MissingContentMD5"); the classic Content-MD5 works
 * everywhere, AWS included. Only installed when checksums are "when-required".
 */
function contentMd5ForDeleteObjects(client) {
    client.middlewareStack.add((next, context) => async (args) => {
        const request = args.request;
        if (context.commandName === "DeleteObjectsCommand" && request.headers) {
            const body = request.body;
            if (typeof body === "string" || body instanceof Uint8Array) {
                for (const header of Object.keys(request.headers)) {
                    const lower = header.toLowerCase();
                    if (lower.startsWith("x-amz-checksum-") || lower.startsWith("x-amz-sdk-checksum-")) {
                        delete request.headers[header];
                    }
                }
                request.headers["content-md5"] = (0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.createHash)("md5").update(body).digest("base64");
            }
        }
        return next(args);
    }, 
    // After the flexible-checksums middleware (build step, normal priority), before signing.
    { step: "build", priority: "low", name: "lifeboatContentMd5ForDeleteObjects" });
}
function createClient(options) {
    const checksums = options.checksums === "when-supported" ? "WHEN_SUPPORTED" : "WHEN_REQUIRED";
    const region = options.region ??
        process.env.AWS_REGION ??
        process.env.AWS_DEFAULT_REGION ??
        (options.endpoint ? "us-east-1" : undefined);
    const config = {
        forcePathStyle: options.forcePathStyle ?? false,
        requestChecksumCalculation: checksums,
        responseChecksumValidation: checksums,
        requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, socketTimeout: SOCKET_TIMEOUT_MS },
    };
    if (options.endpoint)
        config.endpoint = options.endpoint;
    if (region)
        config.region = region;
    if (options.maxAttempts !== undefined)
        config.maxAttempts = options.maxAttempts;
    if (options.credentials)
        config.credentials = options.credentials;
    const client = new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.S3Client(config);
    if (checksums === "WHEN_REQUIRED")
        contentMd5ForDeleteObjects(client);
    return client;
}
class S3Store {
    url;
    bucket;
    /** The key prefix without leading or trailing slash; "" for the bucket's root. */
    prefix;
    /** The SDK client (exposed for tests and for `client.destroy()` when done). */
    client;
    partSizeBytes;
    queueSize;
    endpoint;
    keyPrefix;
    listPageSize;
    deleteBatchSize;
    encryption;
    /** Whether the bucket can hold locked objects, asked once per store. */
    bucketLock;
    constructor(location, options = {}) {
        this.bucket = location.bucket;
        this.prefix = location.prefix.replace(/^\/+|\/+$/g, "");
        this.keyPrefix = this.prefix ? `${this.prefix}/` : "";
        this.url = this.prefix ? `s3://${this.bucket}/${this.prefix}` : `s3://${this.bucket}`;
        this.endpoint = options.endpoint;
        this.partSizeBytes = choosePartSize(options);
        this.queueSize = positiveInteger(options.queueSize, DEFAULT_QUEUE_SIZE, 64, "S3 upload queue size");
        this.listPageSize = positiveInteger(options.listPageSize, 1000, 1000, "S3 list page size");
        this.deleteBatchSize = positiveInteger(options.deleteBatchSize, 1000, 1000, "S3 delete batch size");
        if (options.sseKmsKeyId && options.sse === "AES256") {
            throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .InputError */ .dz("an SSE KMS key id needs server-side encryption aws:kms, not AES256");
        }
        const sse = options.sse ?? (options.sseKmsKeyId ? "aws:kms" : undefined);
        this.encryption = {};
        if (sse)
            this.encryption.ServerSideEncryption = sse;
        if (options.sseKmsKeyId)
            this.encryption.SSEKMSKeyId = options.sseKmsKeyId;
        this.client = createClient(options);
    }
    /**
     * Lists at most one key under the prefix: unlike HeadBucket, this works with policies that grant
     * s3:ListBucket for the prefix only, and a refusal comes with the store's error code.
     */
    async check() {
        try {
            await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.keyPrefix, MaxKeys: 1 }));
        }
        catch (error) {
            throw this.checkError(error);
        }
    }
    async put(key, body, options = {}) {
        (0,_keys_js__WEBPACK_IMPORTED_MODULE_4__/* .assertValidKey */ .Mw)(key);
        const { signal } = options;
        const objectKey = this.keyPrefix + key;
        let bytes = 0;
        /** The first cause of failure: the body's error, the abort's reason or the store's error. */
        let failure;
        /** Set once PutObject or CompleteMultipartUpload was sent: from then on the object may exist. */
        let committing = false;
        /** Cancels this upload's in-flight part requests as soon as anything fails. */
        const inFlight = new AbortController();
        const counted = new node_stream__WEBPACK_IMPORTED_MODULE_1__.Transform({
            transform(chunk, _encoding, done) {
                bytes += chunk.length;
                done(null, chunk);
            },
        });
        const fail = (error, from) => {
            failure ??= { error, from };
            inFlight.abort();
            counted.destroy(error instanceof Error ? error : new Error((0,_domain_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .describeError */ .Uc)(error)));
        };
        (0,node_stream__WEBPACK_IMPORTED_MODULE_1__.pipeline)(body, counted, (error) => {
            if (error)
                fail(error, "body");
        });
        const onAbort = () => fail(signal?.reason ?? new Error("aborted"), "abort");
        if (signal?.aborted)
            onAbort();
        else
            signal?.addEventListener("abort", onAbort, { once: true });
        // lib-storage sends every request through `client.send`: this view of the client marks the
        // commit point, cancels parts in flight once the upload fails, and stops reading the body at
        // the first failed request instead of uploading the rest of it in vain.
        const client = this.client;
        const uploadClient = Object.create(client);
        const send = async (command) => {
            if (command instanceof _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.PutObjectCommand || command instanceof _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.CompleteMultipartUploadCommand) {
                committing = true;
            }
            const cancellable = command instanceof _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.UploadPartCommand || command instanceof _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.PutObjectCommand;
            try {
                return await client.send(command, cancellable ? { abortSignal: inFlight.signal } : {});
            }
            catch (error) {
                fail(error, "store");
                throw error;
            }
        };
        uploadClient.send = send;
        const upload = new _aws_sdk_lib_storage__WEBPACK_IMPORTED_MODULE_2__/* .Upload */ ._({
            client: uploadClient,
            params: {
                Bucket: this.bucket,
                Key: objectKey,
                Body: counted,
                ...(options.contentType ? { ContentType: options.contentType } : {}),
                ...this.encryption,
                ...(options.retention
                    ? { ObjectLockMode: options.retention.mode, ObjectLockRetainUntilDate: options.retention.until }
                    : {}),
            },
            ...uploadShape(this, options.sizeHint),
            // We abort the multipart upload ourselves, so a failing abort cannot mask the first error.
            leavePartsOnError: true,
        });
        try {
            await upload.done();
            if (signal?.aborted)
                fail(signal.reason, "abort");
            if (failure)
                throw failure.error;
            if (options.retention && upload.uploadId)
                await this.ensureRetention(objectKey, options.retention);
            return { bytes };
        }
        catch (error) {
            fail(error, "store");
            await this.discard(objectKey, upload.uploadId, committing);
            throw this.putError(key, failure ?? { error, from: "store" });
        }
        finally {
            signal?.removeEventListener("abort", onAbort);
        }
    }
    async get(key) {
        (0,_keys_js__WEBPACK_IMPORTED_MODULE_4__/* .assertValidKey */ .Mw)(key);
        try {
            const response = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.GetObjectCommand({ Bucket: this.bucket, Key: this.keyPrefix + key }));
            const body = response.Body;
            if (body instanceof node_stream__WEBPACK_IMPORTED_MODULE_1__.Readable)
                return body;
            if (body === undefined)
                return node_stream__WEBPACK_IMPORTED_MODULE_1__.Readable.from([]);
            return node_stream__WEBPACK_IMPORTED_MODULE_1__.Readable.fromWeb(body.transformToWebStream());
        }
        catch (error) {
            if ((0,_s3_errors_js__WEBPACK_IMPORTED_MODULE_5__/* .isS3NotFound */ .wl)(error))
                throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .NotFoundError */ .m_(`"${key}" does not exist in ${this.url}`);
            throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .OperationError */ .OK(`reading "${key}" from ${this.url} failed: ${(0,_s3_errors_js__WEBPACK_IMPORTED_MODULE_5__/* .describeS3Error */ .ye)(error)}`, {
                cause: error,
            });
        }
    }
    async head(key) {
        (0,_keys_js__WEBPACK_IMPORTED_MODULE_4__/* .assertValidKey */ .Mw)(key);
        try {
            const response = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.HeadObjectCommand({ Bucket: this.bucket, Key: this.keyPrefix + key }));
            return { key, size: response.ContentLength ?? 0, lastModified: response.LastModified ?? new Date(0) };
        }
        catch (error) {
            if ((0,_s3_errors_js__WEBPACK_IMPORTED_MODULE_5__/* .isS3NotFound */ .wl)(error))
                return undefined;
            throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .OperationError */ .OK(`reading "${key}" in ${this.url} failed: ${(0,_s3_errors_js__WEBPACK_IMPORTED_MODULE_5__/* .describeS3Error */ .ye)(error)}`, {
                cause: error,
            });
        }
    }
    async *list(prefix) {
        (0,_keys_js__WEBPACK_IMPORTED_MODULE_4__/* .assertValidPrefix */ .x3)(prefix);
        let token;
        do {
            let page;
            try {
                page = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.ListObjectsV2Command({
                    Bucket: this.bucket,
                    Prefix: this.keyPrefix + prefix,
                    MaxKeys: this.listPageSize,
                    ...(token ? { ContinuationToken: token } : {}),
                }));
            }
            catch (error) {
                throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .OperationError */ .OK(`listing ${this.url} failed: ${(0,_s3_errors_js__WEBPACK_IMPORTED_MODULE_5__/* .describeS3Error */ .ye)(error)}`, { cause: error });
            }
            for (const object of page.Contents ?? []) {
                // Keys ending in "/" are folder markers made by consoles and tools, not objects of ours.
                if (!object.Key || object.Key.endsWith("/"))
                    continue;
                yield {
                    key: object.Key.slice(this.keyPrefix.length),
                    size: object.Size ?? 0,
                    lastModified: object.LastModified ?? new Date(0),
                };
            }
            token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
    }
    async deleteMany(keys) {
        for (const key of keys)
            (0,_keys_js__WEBPACK_IMPORTED_MODULE_4__/* .assertValidKey */ .Mw)(key);
        const unique = [...new Set(keys)];
        const result = { deleted: [], failed: [] };
        for (let start = 0; start < unique.length; start += this.deleteBatchSize) {
            const batch = unique.slice(start, start + this.deleteBatchSize);
            try {
                const response = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.DeleteObjectsCommand({
                    Bucket: this.bucket,
                    Delete: { Objects: batch.map((key) => ({ Key: this.keyPrefix + key })), Quiet: true },
                }));
                const errors = new Map();
                for (const error of response.Errors ?? []) {
                    if (error.Key === undefined || error.Code === "NoSuchKey")
                        continue;
                    errors.set(error.Key, [error.Code, error.Message].filter(Boolean).join(": ") || "not deleted");
                }
                for (const key of batch) {
                    const reason = errors.get(this.keyPrefix + key);
                    if (reason === undefined)
                        result.deleted.push(key);
                    else
                        result.failed.push({ key, reason });
                }
            }
            catch (error) {
                const reason = (0,_s3_errors_js__WEBPACK_IMPORTED_MODULE_5__/* .describeS3Error */ .ye)(error);
                for (const key of batch)
                    result.failed.push({ key, reason });
            }
        }
        return result;
    }
    /**
     * One GetObjectLockConfiguration for the bucket: when object lock is not enabled (or the store
     * has no object lock at all), no object can be locked and no key is asked about. Otherwise, or
     * when the configuration cannot be read (access denied), one HeadObject per key (16 at a time)
     * reads its retention and legal hold. HeadObject reports them only to callers allowed
     * s3:GetObjectRetention and s3:GetObjectLegalHold.
     */
    async objectLocks(keys) {
        const locks = new Map();
        if (keys.length === 0)
            return locks;
        this.bucketLock ??= this.readBucketLock();
        if ((await this.bucketLock) === "disabled")
            return locks;
        const queue = [...new Set(keys)];
        for (const key of queue)
            (0,_keys_js__WEBPACK_IMPORTED_MODULE_4__/* .assertValidKey */ .Mw)(key);
        const worker = async () => {
            for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
                let response;
                try {
                    response = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.HeadObjectCommand({ Bucket: this.bucket, Key: this.keyPrefix + key }));
                }
                catch (error) {
                    if ((0,_s3_errors_js__WEBPACK_IMPORTED_MODULE_5__/* .isS3NotFound */ .wl)(error))
                        continue;
                    throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .OperationError */ .OK(`reading the object lock of "${key}" in ${this.url} failed: ${(0,_s3_errors_js__WEBPACK_IMPORTED_MODULE_5__/* .describeS3Error */ .ye)(error)}`, { cause: error });
                }
                const legalHold = response.ObjectLockLegalHoldStatus === "ON";
                const retainUntil = response.ObjectLockRetainUntilDate;
                if (!legalHold && !retainUntil)
                    continue;
                const lock = { legalHold };
                if (retainUntil)
                    lock.retainUntil = retainUntil;
                if (response.ObjectLockMode)
                    lock.mode = response.ObjectLockMode;
                locks.set(key, lock);
            }
        };
        await Promise.all(Array.from({ length: Math.min(16, queue.length) }, worker));
        return locks;
    }
    async readBucketLock() {
        try {
            const response = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.GetObjectLockConfigurationCommand({ Bucket: this.bucket }));
            return response.ObjectLockConfiguration?.ObjectLockEnabled === "Enabled" ? "enabled" : "disabled";
        }
        catch (error) {
            const name = (0,_s3_errors_js__WEBPACK_IMPORTED_MODULE_5__/* .s3NameOf */ .b$)(error);
            const status = (0,_s3_errors_js__WEBPACK_IMPORTED_MODULE_5__/* .s3StatusOf */ .e_)(error);
            // No configuration: object lock is not enabled on the bucket. Stores that do not implement
            // object lock (NotImplemented) cannot lock objects either.
            if (name === "ObjectLockConfigurationNotFoundError" || name === "NotImplemented" || status === 501) {
                return "disabled";
            }
            return "unknown";
        }
    }
    /**
     * Makes sure a multipart put asked to lock its object did lock it: Ceph radosgw (16.2) accepts
     * the lock headers on CreateMultipartUpload and then stores the object without a retention (it
     * honours them on PutObject). A retention missing or shorter than asked is set with
     * PutObjectRetention (which any caller allowed to put locked objects may send); if the store
     * refuses that too, the put fails rather than leave an unprotected backup that claims a lock.
     */
    async ensureRetention(objectKey, retention) {
        const target = { Bucket: this.bucket, Key: objectKey };
        // Without s3:GetObject the lock cannot be read back: then it is set again, which is harmless.
        const head = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.HeadObjectCommand(target)).catch(() => undefined);
        const until = head?.ObjectLockRetainUntilDate?.getTime() ?? 0;
        // Stores keep whole seconds.
        if (head?.ObjectLockMode === retention.mode && until >= retention.until.getTime() - 1000)
            return;
        await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.PutObjectRetentionCommand({
            ...target,
            ...(head?.VersionId ? { VersionId: head.VersionId } : {}),
            Retention: { Mode: retention.mode, RetainUntilDate: retention.until },
        }));
    }
    /** Leaves nothing behind of a failed put. Best effort: the store may be gone. */
    async discard(objectKey, uploadId, committing) {
        const target = { Bucket: this.bucket, Key: objectKey };
        if (uploadId) {
            await this.client
                .send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.AbortMultipartUploadCommand({ ...target, UploadId: uploadId }))
                .catch(() => undefined);
        }
        // The commit may have reached the store even though we saw it fail (or were aborted meanwhile).
        if (committing)
            await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_6__.DeleteObjectCommand(target)).catch(() => undefined);
    }
    putError(key, failure) {
        const what = `storing "${key}" in ${this.url}`;
        const message = failure.from === "abort"
            ? `${what} was aborted: ${(0,_domain_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .describeError */ .Uc)(failure.error)}`
            : failure.from === "body"
                ? `${what} failed: ${(0,_domain_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .describeError */ .Uc)(failure.error)}`
                : `${what} failed: ${(0,_s3_errors_js__WEBPACK_IMPORTED_MODULE_5__/* .describeS3Error */ .ye)(failure.error)}`;
        return new _domain_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .OperationError */ .OK(message, { cause: failure.error });
    }
    checkError(error) {
        const storage = `--storage "${this.url}"`;
        const options = { input: "storage", cause: error };
        switch ((0,_s3_errors_js__WEBPACK_IMPORTED_MODULE_5__/* .classifyS3CheckError */ .nK)(error)) {
            case "unreachable": {
                const where = this.endpoint ? `the S3 endpoint ${this.endpoint}` : "AWS S3";
                return new _domain_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .InputError */ .dz(`${storage}: cannot reach ${where}: ${(0,_s3_errors_js__WEBPACK_IMPORTED_MODULE_5__/* .describeS3Error */ .ye)(error)}`, options);
            }
            case "no-credentials":
                return new _domain_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .InputError */ .dz(`${storage}: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile or a role to assume`, options);
            case "no-region":
                return new _domain_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .InputError */ .dz(`${storage}: no AWS region set: set AWS_REGION or the S3 region option`, options);
            case "no-bucket":
                return new _domain_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .InputError */ .dz(`${storage}: bucket "${this.bucket}" does not exist`, options);
            case "denied": {
                const name = (0,_s3_errors_js__WEBPACK_IMPORTED_MODULE_5__/* .s3NameOf */ .b$)(error);
                const status = (0,_s3_errors_js__WEBPACK_IMPORTED_MODULE_5__/* .s3StatusOf */ .e_)(error);
                const detail = [status ? `HTTP ${status}` : "", name === "Unknown" ? "" : name]
                    .filter(Boolean)
                    .join(" ");
                return new _domain_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .InputError */ .dz(`${storage}: access to s3://${this.bucket} denied (${detail}): check the credentials ` +
                    "(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, the profile or the role) and the bucket's policy", options);
            }
            case "other-region":
                return new _domain_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .InputError */ .dz(`${storage}: bucket "${this.bucket}" is in another region (${(0,_s3_errors_js__WEBPACK_IMPORTED_MODULE_5__/* .describeS3Error */ .ye)(error)}): set AWS_REGION or the S3 region option`, options);
            case "other":
                break;
        }
        return new _domain_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .OperationError */ .OK(`checking ${this.url} failed: ${(0,_s3_errors_js__WEBPACK_IMPORTED_MODULE_5__/* .describeS3Error */ .ye)(error)}`, { cause: error });
    }
}
/**
 * Memory an upload aims to stay under as its parts grow for a large object: queue x part size. A
 * dump large enough to need bigger parts uploads fewer at once rather than holding more memory.
 */
const UPLOAD_MEMORY_TARGET_BYTES = 64 * MIB;
/**
 * Part size and queue for one upload. A size hint grows the part size so the object fits in
 * 10,000 parts; the queue then shrinks (down to 1) so the parts in flight stay near 64 MiB.
 */
function uploadShape(base, sizeHint) {
    if (sizeHint === undefined || sizeHint <= 0)
        return { partSize: base.partSizeBytes, queueSize: base.queueSize };
    const partSize = choosePartSize({
        partSizeBytes: base.partSizeBytes,
        maxObjectBytes: Math.min(MAX_OBJECT_BYTES, Math.ceil(sizeHint)),
    });
    if (partSize === base.partSizeBytes)
        return { partSize, queueSize: base.queueSize };
    const queueSize = Math.max(1, Math.min(base.queueSize, Math.floor(UPLOAD_MEMORY_TARGET_BYTES / partSize)));
    return { partSize, queueSize };
}
function createS3Store(location, options = {}) {
    return new S3Store(location, options);
}


/***/ })

};
