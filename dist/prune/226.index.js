export const id = 226;
export const ids = [226];
export const modules = {

/***/ 90226:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   LocalStore: () => (/* binding */ LocalStore)
/* harmony export */ });
/* unused harmony export createLocalStore */
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(77598);
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_crypto__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(73024);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_fs__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(51455);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_fs_promises__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(76760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_3___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_3__);
/* harmony import */ var node_stream_promises__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(46466);
/* harmony import */ var node_stream_promises__WEBPACK_IMPORTED_MODULE_4___default = /*#__PURE__*/__webpack_require__.n(node_stream_promises__WEBPACK_IMPORTED_MODULE_4__);
/* harmony import */ var node_url__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(73136);
/* harmony import */ var node_url__WEBPACK_IMPORTED_MODULE_5___default = /*#__PURE__*/__webpack_require__.n(node_url__WEBPACK_IMPORTED_MODULE_5__);
/* harmony import */ var _domain_errors_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(10241);
/* harmony import */ var _keys_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(397);
/**
 * A store in a local directory: the embedded default for trying things out, and for tests.
 *
 * A put streams into a temporary file next to its target (named `.partial-<random>`, which list()
 * never reports and no key may use), syncs it to disk and renames it into place, so an object is
 * either absent or complete. A failed or aborted put removes its temporary file.
 */








function errorCode(error) {
    const code = error?.code;
    return typeof code === "string" ? code : undefined;
}
const MISSING = new Set(["ENOENT", "ENOTDIR"]);
class LocalStore {
    url;
    /** The absolute directory that holds the objects. */
    root;
    constructor(root) {
        if (!(0,node_path__WEBPACK_IMPORTED_MODULE_3__.isAbsolute)(root))
            throw new Error(`a local store needs an absolute path, got "${root}"`);
        this.root = (0,node_path__WEBPACK_IMPORTED_MODULE_3__.resolve)(root);
        this.url = (0,node_url__WEBPACK_IMPORTED_MODULE_5__.pathToFileURL)(this.root).href;
    }
    /**
     * Checks that the root is a directory we can use for `access`, or (for writing) could be made as
     * one. Reading needs read access only: a read-only copy of a store can be listed, verified and
     * restored from, and a missing root reads as empty. Writing into a missing root is probed by
     * making and removing its first missing directory, so a path where nothing can be made
     * (`/proc/foo`, a read-only mount) fails here, before pg_dump starts. Leaves nothing behind.
     */
    async check(access = "write") {
        try {
            let dir = this.root;
            let missingChild;
            for (;;) {
                const info = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.stat)(dir).catch((error) => {
                    if (errorCode(error) === "ENOENT")
                        return undefined;
                    throw error;
                });
                if (info) {
                    if (!info.isDirectory())
                        throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
                    if (access === "read") {
                        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.access)(dir, node_fs__WEBPACK_IMPORTED_MODULE_1__.constants.R_OK | node_fs__WEBPACK_IMPORTED_MODULE_1__.constants.X_OK);
                        return;
                    }
                    await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.access)(dir, node_fs__WEBPACK_IMPORTED_MODULE_1__.constants.W_OK | node_fs__WEBPACK_IMPORTED_MODULE_1__.constants.X_OK);
                    if (missingChild) {
                        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.mkdir)(missingChild, { mode: DIRECTORY_MODE });
                        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.rmdir)(missingChild);
                    }
                    return;
                }
                const parent = (0,node_path__WEBPACK_IMPORTED_MODULE_3__.dirname)(dir);
                if (parent === dir)
                    return;
                missingChild = dir;
                dir = parent;
            }
        }
        catch (error) {
            const code = errorCode(error);
            const why = code === "EEXIST" || code === "ENOTDIR"
                ? "a file is in the way, not a directory"
                : code === "EACCES" || code === "EPERM" || code === "EROFS"
                    ? "permission denied"
                    : code === "ENOENT"
                        ? "no directory can be made there"
                        : (0,_domain_errors_js__WEBPACK_IMPORTED_MODULE_6__/* .describeError */ .Uc)(error);
            throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_6__/* .InputError */ .dz(`--storage "${this.url}": cannot use the directory ${this.root}: ${why}`, {
                input: "storage",
                cause: error,
            });
        }
    }
    /** Removes `.partial-*` files (of writers killed outright) last written before `olderThan`. */
    async sweepLeftovers(prefix, olderThan) {
        (0,_keys_js__WEBPACK_IMPORTED_MODULE_7__/* .assertValidPrefix */ .x3)(prefix);
        const removed = [];
        const visit = async (dirKey) => {
            let entries;
            try {
                entries = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.readdir)((0,node_path__WEBPACK_IMPORTED_MODULE_3__.join)(this.root, dirKey), { withFileTypes: true });
            }
            catch (error) {
                if (MISSING.has(errorCode(error) ?? ""))
                    return;
                throw error;
            }
            const emptied = new Set();
            for (const entry of entries) {
                const key = dirKey + entry.name;
                if (entry.isDirectory())
                    await visit(`${key}/`);
                else if (entry.isFile() && entry.name.startsWith(_keys_js__WEBPACK_IMPORTED_MODULE_7__/* .TEMP_FILE_PREFIX */ .D0)) {
                    const path = (0,node_path__WEBPACK_IMPORTED_MODULE_3__.join)(this.root, ...key.split("/"));
                    const info = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.stat)(path).catch(() => undefined);
                    if (!info || info.mtime >= olderThan)
                        continue;
                    await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.unlink)(path).catch(() => undefined);
                    removed.push(key);
                    emptied.add((0,node_path__WEBPACK_IMPORTED_MODULE_3__.dirname)(key));
                }
            }
            await this.prune(emptied);
        };
        const dirKey = prefix.slice(0, prefix.lastIndexOf("/") + 1);
        await visit(dirKey);
        return removed;
    }
    async put(key, body, options = {}) {
        (0,_keys_js__WEBPACK_IMPORTED_MODULE_7__/* .assertValidKey */ .Mw)(key);
        if (options.retention) {
            body.destroy();
            throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_6__/* .InputError */ .dz(`--storage "${this.url}": a local directory cannot hold an object lock; use s3://`, {
                input: "storage",
            });
        }
        const { signal } = options;
        const target = this.pathOf(key);
        const temp = (0,node_path__WEBPACK_IMPORTED_MODULE_3__.join)((0,node_path__WEBPACK_IMPORTED_MODULE_3__.dirname)(target), `${_keys_js__WEBPACK_IMPORTED_MODULE_7__/* .TEMP_FILE_PREFIX */ .D0}${(0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.randomBytes)(8).toString("hex")}`);
        let handle;
        let bytes = 0;
        try {
            signal?.throwIfAborted();
            handle = await createFile(temp);
            await (0,node_stream_promises__WEBPACK_IMPORTED_MODULE_4__.pipeline)(body, async function* count(source) {
                for await (const chunk of source) {
                    bytes += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
                    yield chunk;
                }
            }, handle.createWriteStream(), { signal });
            handle = undefined; // closed by its stream
            await syncFile(temp);
            signal?.throwIfAborted();
            await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.rename)(temp, target);
            await syncDirectory((0,node_path__WEBPACK_IMPORTED_MODULE_3__.dirname)(target));
            return { bytes };
        }
        catch (error) {
            body.destroy();
            await handle?.close().catch(() => undefined);
            await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.rm)(temp, { force: true }).catch(() => undefined);
            await this.prune(new Set([(0,node_path__WEBPACK_IMPORTED_MODULE_3__.dirname)(key)]));
            const message = signal?.aborted
                ? `storing "${key}" in ${this.url} was aborted: ${(0,_domain_errors_js__WEBPACK_IMPORTED_MODULE_6__/* .describeError */ .Uc)(signal.reason)}`
                : `storing "${key}" in ${this.url} failed: ${(0,_domain_errors_js__WEBPACK_IMPORTED_MODULE_6__/* .describeError */ .Uc)(error)}`;
            throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_6__/* .OperationError */ .OK(message, { cause: signal?.aborted ? signal.reason : error });
        }
    }
    async get(key) {
        (0,_keys_js__WEBPACK_IMPORTED_MODULE_7__/* .assertValidKey */ .Mw)(key);
        let handle;
        try {
            handle = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.open)(this.pathOf(key), "r");
            if ((await handle.stat()).isFile())
                return handle.createReadStream();
        }
        catch (error) {
            await handle?.close().catch(() => undefined);
            if (!MISSING.has(errorCode(error) ?? "") && errorCode(error) !== "EISDIR") {
                throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_6__/* .OperationError */ .OK(`reading "${key}" from ${this.url} failed: ${(0,_domain_errors_js__WEBPACK_IMPORTED_MODULE_6__/* .describeError */ .Uc)(error)}`, {
                    cause: error,
                });
            }
        }
        await handle?.close().catch(() => undefined);
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_6__/* .NotFoundError */ .m_(`"${key}" does not exist in ${this.url}`);
    }
    async head(key) {
        (0,_keys_js__WEBPACK_IMPORTED_MODULE_7__/* .assertValidKey */ .Mw)(key);
        return this.info(key);
    }
    async *list(prefix) {
        (0,_keys_js__WEBPACK_IMPORTED_MODULE_7__/* .assertValidPrefix */ .x3)(prefix);
        const slash = prefix.lastIndexOf("/");
        const keys = this.walk(prefix.slice(0, slash + 1), prefix.slice(slash + 1));
        // Up to IO_CONCURRENCY stats in flight ahead of the object being yielded, in key order: a
        // listing of many small folders is then not one thread-pool round trip after another.
        const window = [];
        let more = true;
        for (;;) {
            while (more && window.length < IO_CONCURRENCY) {
                const next = await keys.next();
                if (next.done) {
                    more = false;
                    break;
                }
                const info = this.info(next.value);
                // Awaited below in order; until then a failure must not count as an unhandled rejection.
                info.catch(() => undefined);
                window.push(info);
            }
            const first = window.shift();
            if (!first)
                return;
            const info = await first;
            if (info)
                yield info;
        }
    }
    async deleteMany(keys) {
        for (const key of keys)
            (0,_keys_js__WEBPACK_IMPORTED_MODULE_7__/* .assertValidKey */ .Mw)(key);
        const emptied = new Set();
        const outcomes = await mapConcurrently(keys, IO_CONCURRENCY, async (key) => {
            try {
                await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.unlink)(this.pathOf(key));
                emptied.add((0,node_path__WEBPACK_IMPORTED_MODULE_3__.dirname)(key));
                return undefined;
            }
            catch (error) {
                const code = errorCode(error) ?? "";
                // A key naming a directory is not an object: like a missing key, there is nothing to delete.
                if (MISSING.has(code) || code === "EISDIR")
                    return undefined;
                return (0,_domain_errors_js__WEBPACK_IMPORTED_MODULE_6__/* .describeError */ .Uc)(error);
            }
        });
        const result = { deleted: [], failed: [] };
        keys.forEach((key, index) => {
            const reason = outcomes[index];
            if (reason === undefined)
                result.deleted.push(key);
            else
                result.failed.push({ key, reason });
        });
        await this.prune(emptied);
        return result;
    }
    pathOf(key) {
        return (0,node_path__WEBPACK_IMPORTED_MODULE_3__.join)(this.root, ...key.split("/"));
    }
    async info(key) {
        try {
            const info = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.stat)(this.pathOf(key));
            return info.isFile() ? { key, size: info.size, lastModified: info.mtime } : undefined;
        }
        catch (error) {
            if (MISSING.has(errorCode(error) ?? ""))
                return undefined;
            throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_6__/* .OperationError */ .OK(`reading "${key}" in ${this.url} failed: ${(0,_domain_errors_js__WEBPACK_IMPORTED_MODULE_6__/* .describeError */ .Uc)(error)}`, {
                cause: error,
            });
        }
    }
    /**
     * Yields the keys of the files under the directory `dirKey` ("" or ending in "/") whose names
     * start with `namePrefix`, in key order: a directory sorts as its name plus "/", exactly where its
     * keys sort.
     */
    async *walk(dirKey, namePrefix) {
        yield* this.walkChildren(await this.children(dirKey, namePrefix));
    }
    /** The entries of the directory `dirKey` whose names start with `namePrefix`, in key order. */
    async children(dirKey, namePrefix) {
        let entries;
        try {
            entries = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.readdir)((0,node_path__WEBPACK_IMPORTED_MODULE_3__.join)(this.root, dirKey), { withFileTypes: true });
        }
        catch (error) {
            if (MISSING.has(errorCode(error) ?? ""))
                return [];
            throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_6__/* .OperationError */ .OK(`listing ${this.url} failed: ${(0,_domain_errors_js__WEBPACK_IMPORTED_MODULE_6__/* .describeError */ .Uc)(error)}`, { cause: error });
        }
        return entries
            .filter((entry) => entry.name.startsWith(namePrefix) && !entry.name.startsWith(_keys_js__WEBPACK_IMPORTED_MODULE_7__/* .TEMP_FILE_PREFIX */ .D0))
            .filter((entry) => entry.isFile() || entry.isDirectory())
            .map((entry) => ({
            key: dirKey + entry.name,
            directory: entry.isDirectory(),
            sortKey: entry.isDirectory() ? `${entry.name}/` : entry.name,
        }))
            .sort((a, b) => (0,_keys_js__WEBPACK_IMPORTED_MODULE_7__/* .compareKeys */ .YD)(a.sortKey, b.sortKey));
    }
    /** The keys under `children`, in order, reading up to IO_CONCURRENCY directories ahead. */
    async *walkChildren(children) {
        const reading = new Map();
        let ahead = 0;
        for (let index = 0; index < children.length; index++) {
            for (; ahead < children.length && ahead < index + IO_CONCURRENCY; ahead++) {
                const child = children[ahead];
                if (!child.directory)
                    continue;
                const listing = this.children(`${child.key}/`, "");
                listing.catch(() => undefined);
                reading.set(ahead, listing);
            }
            const child = children[index];
            if (!child.directory) {
                yield child.key;
                continue;
            }
            const listing = reading.get(index);
            reading.delete(index);
            yield* this.walkChildren(await listing);
        }
    }
    /**
     * Removes directories left empty by a delete, up to (not including) the root: one level at a
     * time, deepest first, so that each directory is tried once however many of its children went.
     */
    async prune(dirKeys) {
        const pending = new Set([...dirKeys].filter((dirKey) => dirKey !== "." && dirKey !== ""));
        while (pending.size > 0) {
            const depth = Math.max(...[...pending].map((dirKey) => dirKey.split("/").length));
            const level = [...pending].filter((dirKey) => dirKey.split("/").length === depth);
            const removed = await mapConcurrently(level, IO_CONCURRENCY, async (dirKey) => 
            // Not empty (or already gone): then its parents are not empty either.
            (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.rmdir)(this.pathOf(dirKey)).then(() => true, () => false));
            level.forEach((dirKey, index) => {
                pending.delete(dirKey);
                const parent = (0,node_path__WEBPACK_IMPORTED_MODULE_3__.dirname)(dirKey);
                if (removed[index] && parent !== ".")
                    pending.add(parent);
            });
        }
    }
}
/** File system calls a listing or a delete keeps in flight at once. */
const IO_CONCURRENCY = 32;
/** `work` over every item, at most `limit` at a time; results in the items' order. */
async function mapConcurrently(items, limit, work) {
    const results = new Array(items.length);
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const index = next++;
            results[index] = await work(items[index]);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return results;
}
function createLocalStore(root) {
    return new LocalStore(root);
}
/** Objects are private to the user that runs Lifeboat (an unencrypted dump is readable data). */
const FILE_MODE = 0o600;
const DIRECTORY_MODE = 0o700;
/**
 * Creates `path` exclusively (mode 0600), creating its directories first (0700); retries when a
 * prune races us.
 */
async function createFile(path) {
    for (let attempt = 1;; attempt++) {
        await makeDirectories((0,node_path__WEBPACK_IMPORTED_MODULE_3__.dirname)(path));
        try {
            return await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.open)(path, "wx", FILE_MODE);
        }
        catch (error) {
            if (errorCode(error) !== "ENOENT" || attempt >= 3)
                throw error;
        }
    }
}
/**
 * mkdir -p, one level at a time. Node's recursive mkdir spins forever where a directory cannot be
 * made but its parent exists (under /proc), so each level is made on its own and a failure is final.
 */
async function makeDirectories(dir) {
    const missing = [];
    for (let current = dir;; current = (0,node_path__WEBPACK_IMPORTED_MODULE_3__.dirname)(current)) {
        const exists = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.stat)(current).then((info) => info.isDirectory(), () => false);
        if (exists)
            break;
        missing.push(current);
        if ((0,node_path__WEBPACK_IMPORTED_MODULE_3__.dirname)(current) === current)
            break;
    }
    for (const level of missing.reverse()) {
        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.mkdir)(level, { mode: DIRECTORY_MODE }).catch((error) => {
            if (errorCode(error) !== "EEXIST")
                throw error;
        });
    }
}
/** Flushes a written file to disk (fsync applies to the file, whichever descriptor asks). */
async function syncFile(path) {
    const handle = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.open)(path, "r");
    try {
        await handle.sync();
    }
    finally {
        await handle.close();
    }
}
/** Makes a rename durable. Best effort: some file systems refuse to sync a directory. */
async function syncDirectory(path) {
    let handle;
    try {
        handle = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.open)(path, "r");
        await handle.sync();
    }
    catch {
        // The data itself is synced; only the rename's durability depends on this.
    }
    finally {
        await handle?.close().catch(() => undefined);
    }
}


/***/ })

};
