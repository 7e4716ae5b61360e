export const id = 23;
export const ids = [23];
export const modules = {

/***/ 7023:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  main: () => (/* binding */ main)
});

// EXTERNAL MODULE: ./src/domain/errors.ts
var domain_errors = __webpack_require__(241);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: external "node:url"
var external_node_url_ = __webpack_require__(3136);
;// CONCATENATED MODULE: ./src/storage/file-driver.ts
/** The local-directory driver: `file:///absolute/path`, or a plain path (the registry's default). */

const fileDriver = {
    kind: "file",
    schemes: ["file"],
    forms: ["file:///absolute/path", "a directory path"],
    options: [],
    parse(text, { fail }) {
        let url;
        try {
            url = new URL(text);
        }
        catch {
            return fail();
        }
        if (url.host !== "")
            return fail(`a file URL names no host ("${url.host}")`);
        if (url.search !== "" || url.hash !== "")
            return fail("a file URL has no query or fragment");
        const path = (0,external_node_url_.fileURLToPath)(url);
        return { kind: "file", path: path.length > 1 ? path.replace(/\/+$/, "") : path };
    },
    format: (location) => (0,external_node_url_.pathToFileURL)(location.path).href,
    async open(location) {
        const { LocalStore } = await __webpack_require__.e(/* import() */ 226).then(__webpack_require__.bind(__webpack_require__, 226));
        return new LocalStore(location.path);
    },
};

;// CONCATENATED MODULE: ./src/storage/s3-driver.ts
const s3Driver = {
    kind: "s3",
    schemes: ["s3"],
    forms: ["s3://bucket/prefix"],
    options: ["s3-endpoint", "s3-region", "s3-force-path-style", "s3-checksums", "s3-sse", "s3-sse-kms-key-id"],
    parse(text, { fail }) {
        const rest = text.slice("s3:".length);
        if (!rest.startsWith("//"))
            return fail();
        const [bucket = "", ...path] = rest.slice(2).split("/");
        if (bucket === "")
            return fail("no bucket");
        const bucketProblem = problemWithBucketName(bucket);
        if (bucketProblem)
            return fail(`bucket "${bucket}" ${bucketProblem}`);
        return { kind: "s3", bucket, prefix: path.join("/").replace(/^\/+|\/+$/g, "") };
    },
    format: (location) => location.prefix ? `s3://${location.bucket}/${location.prefix}` : `s3://${location.bucket}`,
    async open(location, options) {
        const { createS3Store } = await Promise.all(/* import() */[__webpack_require__.e(358), __webpack_require__.e(636)]).then(__webpack_require__.bind(__webpack_require__, 636));
        return createS3Store({ bucket: location.bucket, prefix: location.prefix }, options.s3);
    },
};
/**
 * Why `name` is not a valid S3 bucket name, or undefined when it is. The general-purpose bucket
 * rules: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or
 * digit, no two adjacent dots, not an IP address.
 */
function problemWithBucketName(name) {
    if (name.length < 3 || name.length > 63)
        return "must be 3 to 63 characters long";
    if (!/^[a-z0-9.-]+$/.test(name))
        return "may only contain lowercase letters, digits, dots and hyphens";
    if (!/^[a-z0-9].*[a-z0-9]$/.test(name))
        return "must start and end with a letter or digit";
    if (name.includes(".."))
        return "must not contain two adjacent dots";
    if (/^\d+\.\d+\.\d+\.\d+$/.test(name))
        return "must not be an IP address";
    return undefined;
}

;// CONCATENATED MODULE: ./src/storage/registry.ts
/**
 * Store drivers, registered by URL scheme (restic's location registry, pgBackRest's storage helper
 * list). A driver parses its own URLs, formats them back without credentials, names the options it
 * takes, and opens a Store. Adding a store kind is one driver module plus one line in STORE_DRIVERS
 * (and its location in the StoreLocation union).
 */




/** The registered drivers. A text without a scheme is a directory path (the file driver). */
const STORE_DRIVERS = [s3Driver, fileDriver];
/** A scheme of two or more characters, so a Windows drive letter ("C:") is not one. */
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]+):/;
function expected() {
    const forms = STORE_DRIVERS.flatMap((driver) => driver.forms);
    return `expected ${forms.slice(0, -1).join(", ")} or ${forms.at(-1)}`;
}
function parseLocation(text, options) {
    const input = options.input ?? "storage";
    const fail = (why) => {
        const detail = why ? `${why}; ${expected()}` : expected();
        throw new domain_errors/* InputError */.dz(`--${input} ${JSON.stringify(text)}: ${detail}`, { input });
    };
    const value = text.trim();
    if (value === "")
        return fail("empty");
    const scheme = SCHEME.exec(value)?.[1]?.toLowerCase();
    if (scheme === undefined)
        return { kind: "file", path: (0,external_node_path_.resolve)(options.cwd, value) };
    const driver = STORE_DRIVERS.find((candidate) => candidate.schemes.includes(scheme));
    if (!driver)
        return fail();
    return driver.parse(value, { cwd: options.cwd, fail });
}
function driverOf(location) {
    const driver = STORE_DRIVERS.find((candidate) => candidate.kind === location.kind);
    if (!driver)
        throw new Error(`no store driver for ${location.kind}`);
    return driver;
}
function formatLocation(location) {
    return driverOf(location).format(location);
}
function openLocation(location, options = {}) {
    return driverOf(location).open(location, options);
}

;// CONCATENATED MODULE: ./src/storage/open-store.ts
/** Opens the store a storage URL names, through the driver registered for its scheme. */

/** Parses `urlText` (InputError when malformed) and opens the matching store. */
async function openStore(urlText, options = {}) {
    const location = parseLocation(urlText, {
        cwd: options.cwd ?? process.cwd(),
        input: options.input ?? "storage",
    });
    return openLocation(location, options);
}

;// CONCATENATED MODULE: ./src/commands/command.ts
/**
 * One definition per command, served by both edges: the action runner (src/actions/run-action.ts)
 * and the CLI runner (src/cli/main.ts). A definition says which options the command takes (its
 * spec), how they parse, what it runs, what counts as a failure, and how its result is shown: as
 * action outputs, as CLI text and JSON, and as a report. Everything the two edges have in common
 * (parsing, opening the store, cancellation, the run itself, the failure verdict) happens once, in
 * executeCommand; an edge differs only in what it injects (actions/cache's restoreImpl pattern).
 */


/**
 * The values of the command's secret options as given (database URLs, passphrases, identities,
 * webhook URLs): what every edge redacts from everything it prints, writes or sends.
 */
function secretValues(spec, raw) {
    return spec.options
        .filter((option) => option.secret)
        .flatMap((option) => {
        const value = raw[option.name];
        return Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
    })
        .filter((value) => value.trim() !== "");
}
/**
 * Parses the raw options, opens the store when the command has one (reported through `opened`,
 * so a report of a later failure can still read the label's history), runs the command and
 * judges the result. Bad input throws InputError before anything is read or written.
 */
async function executeCommand(command, raw, context, opened) {
    const settings = command.parse(raw);
    let store;
    const storage = command.storage?.(settings);
    if (storage) {
        store = await openStore(storage.storage, { cwd: context.cwd, s3: storage.s3 });
        opened?.(store);
    }
    context.signal.throwIfAborted();
    const result = await command.run(settings, { ...context, store: store });
    const failure = command.failure?.(result);
    return {
        settings,
        store,
        result,
        failure: typeof failure === "string" ? new domain_errors/* OperationError */.OK(failure) : failure,
    };
}

// EXTERNAL MODULE: ./src/commands/signals.ts
var signals = __webpack_require__(5055);
;// CONCATENATED MODULE: ./src/domain/catalog-diff.ts
/**
 * The catalog comparison, pure: a source's catalog fingerprint (taken in the dump's snapshot) against
 * a restored database's, every difference named by object and classified. A lost object, grant,
 * policy, publication member or large object is a failure; a difference that the restore's
 * conditions make expected (a restorer that is not a superuser, roles that could not be created,
 * --no-owner, --no-privileges, settings pg_dump does not archive) is a warning that says why.
 * Nothing is dropped silently: every difference is in the list.
 */
const CATALOG_FINGERPRINT_VERSION = 1;
/** A name as SQL would need it written: quoted unless it is a plain lower-case identifier. */
function displayName(name) {
    return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}
function qualifiedName(schema, name) {
    return `${displayName(schema)}.${displayName(name)}`;
}
const DEFAULT_CONDITIONS = {
    superuser: true,
    restorer: "postgres",
    noOwner: false,
    noPrivileges: false,
    missingRoles: [],
    databaseSettingsRestored: false,
};
const REASONS = {
    eventTrigger: "creating an event trigger needs superuser",
    foreignDataWrapper: "creating a foreign-data wrapper needs superuser",
    allTablesPublication: "a FOR ALL TABLES publication needs superuser",
    noOwner: "--no-owner: objects belong to the restoring role",
    noPrivileges: "--no-privileges: grants are not restored",
    notSuperuserOwner: "a restorer that is not a superuser cannot give objects to other roles",
    notSuperuserDefaultAcl: "ALTER DEFAULT PRIVILEGES FOR ROLE needs membership in that role",
    databaseSettings: "pg_dump archives ALTER DATABASE ... SET only with --create: not in the dump",
    notSuperuserSetting: "a restorer that is not a superuser cannot set superuser-only settings",
    locale: "the database was created with another locale",
    extensionVersion: "CREATE EXTENSION installs the target server's default version",
    sequenceAdvanced: "the sequence moved on between the fingerprint and pg_dump's read of it",
    extra: "not in the source (present on the target before the restore, or created by it)",
    missingRole: (role) => `role ${role} could not be created on the target`,
};
/** Severity order, then object, then problem: stable and readable. */
function formatDifference(difference) {
    const reason = difference.reason ? ` (${difference.reason})` : "";
    return `${difference.severity}: ${difference.object}: ${difference.problem}${reason}`;
}
function byteOrder(a, b) {
    return a < b ? -1 : a > b ? 1 : 0;
}
function union(a, b) {
    return [...new Set([...a, ...b])].sort(byteOrder);
}
/** "anon=ra*" -> grantee anon, privileges "ra*". */
function splitAclEntry(entry) {
    const at = entry.lastIndexOf("=");
    return [entry.slice(0, at), entry.slice(at + 1)];
}
/** The fingerprint's grouped ACLs as object label -> entries. */
function aclByObject(fp) {
    const out = new Map();
    for (const [text, groups] of Object.entries(fp.acl)) {
        const entries = splitAcl(text);
        for (const [prefix, names] of Object.entries(groups)) {
            for (const name of names)
                out.set(prefix + name, entries);
        }
    }
    return out;
}
/** `reporting=r "etl writer"=a*r` -> its entries (quoted grantees may hold spaces). */
function splitAcl(text) {
    return text.match(/(?:"(?:[^"]|"")*"|[^\s"])+/g) ?? [];
}
/** Constraints per qualified table, the "p" shorthand spelled out. */
function constraintsByTable(fp) {
    const out = {};
    for (const [schema, tables] of Object.entries(fp.constraints)) {
        for (const [table, list] of Object.entries(tables)) {
            out[qualifiedName(schema, table)] = list.map((entry) => (entry === "p" ? `p ${table}_pkey` : entry));
        }
    }
    return out;
}
/**
 * Every role the fingerprint names: owners, grantees, default-privilege roles, policy roles, user
 * mapping users, roles with settings in the database. A scratch restore creates the missing ones;
 * the ones it could not create go to RestoreConditions.missingRoles.
 */
function referencedRoles(fp) {
    const roles = new Set([
        fp.owner,
        ...Object.values(fp.owners),
        ...Object.keys(fp.largeObjects.owners),
    ]);
    const addEntries = (entries) => {
        for (const entry of entries) {
            const grantee = splitAclEntry(entry)[0];
            if (grantee !== "PUBLIC")
                roles.add(roleName(grantee));
        }
    };
    for (const text of Object.keys(fp.acl))
        addEntries(splitAcl(text));
    for (const entries of Object.values(fp.largeObjects.acl))
        addEntries(entries);
    for (const [key, entries] of Object.entries(fp.defaultAcls)) {
        roles.add(key.slice(0, key.indexOf(" in ")));
        addEntries(entries);
    }
    for (const policies of Object.values(fp.policies)) {
        for (const text of Object.values(policies))
            for (const role of rolesOf(text))
                if (role !== "PUBLIC")
                    roles.add(role);
    }
    for (const mapping of fp.userMappings) {
        const user = mapping.slice(0, mapping.lastIndexOf("@"));
        if (user !== "public")
            roles.add(user);
    }
    for (const role of Object.keys(fp.database.roleSettings))
        roles.add(role);
    roles.delete("");
    // Built-in roles exist everywhere.
    return [...roles].filter((role) => !role.startsWith("pg_")).sort(byteOrder);
}
/** Objects whose ACLs and owners the fingerprint records, by the labels it uses for them. */
function objectLabels(fp) {
    const labels = new Set();
    for (const schema of fp.schemas)
        labels.add(`schema ${displayName(schema)}`);
    for (const [kind, word] of RELATION_KINDS) {
        for (const [schema, names] of Object.entries(fp[kind])) {
            for (const name of names)
                labels.add(`${word} ${qualifiedName(schema, name)}`);
        }
    }
    for (const [schema, seqs] of Object.entries(fp.sequences)) {
        for (const name of Object.keys(seqs))
            labels.add(`sequence ${qualifiedName(schema, name)}`);
    }
    for (const [schema, list] of Object.entries(fp.functions)) {
        for (const entry of list)
            labels.add(functionLabel(schema, entry));
    }
    for (const [schema, types] of Object.entries(fp.types)) {
        for (const [name, text] of Object.entries(types))
            labels.add(typeLabel(schema, name, text));
    }
    for (const name of Object.keys(fp.publications))
        labels.add(`publication ${displayName(name)}`);
    for (const name of Object.keys(fp.eventTriggers))
        labels.add(`event trigger ${displayName(name)}`);
    for (const name of fp.foreignDataWrappers)
        labels.add(`foreign-data wrapper ${displayName(name)}`);
    for (const name of Object.keys(fp.foreignServers))
        labels.add(`server ${displayName(name)}`);
    return labels;
}
const RELATION_KINDS = [
    ["tables", "table"],
    ["partitionedTables", "partitioned table"],
    ["views", "view"],
    ["materializedViews", "materialized view"],
    ["foreignTables", "foreign table"],
];
function functionLabel(schema, entry) {
    const match = /^(procedure|aggregate|window) (.*)$/.exec(entry);
    const word = match?.[1] === "procedure" || match?.[1] === "aggregate" ? match[1] : "function";
    return `${word} ${displayName(schema)}.${match ? match[2] : entry}`;
}
function typeLabel(schema, name, text) {
    const word = text.startsWith("enum(") ? "type" : text;
    return `${word} ${qualifiedName(schema, name)}`;
}
/**
 * Compares a source fingerprint with a restored database's. Differences come sorted: failures
 * first, then by object and problem.
 */
function diffCatalog(source, restored, conditions) {
    const out = [];
    const missingRoles = new Set(conditions.missingRoles);
    const fail = (object, problem) => out.push({ severity: "failure", object, problem });
    const warn = (object, problem, reason) => out.push({ severity: "warning", object, problem, reason });
    /** A failure unless `reason` says why it is expected. */
    const report = (object, problem, reason) => reason ? warn(object, problem, reason) : fail(object, problem);
    const sourceLabels = objectLabels(source);
    const restoredLabels = objectLabels(restored);
    const gone = new Set([...sourceLabels].filter((label) => !restoredLabels.has(label)));
    // Per-table details of a table that is gone are already covered by the table's own line.
    const goneTables = new Set();
    for (const label of gone) {
        const match = /^(?:table|partitioned table|view|materialized view|foreign table|sequence) (.*)$/.exec(label);
        if (match)
            goneTables.add(match[1]);
    }
    // Database.
    const db = "database";
    if (source.database.encoding !== restored.database.encoding) {
        fail(db, `encoding ${restored.database.encoding}, the source's is ${source.database.encoding}`);
    }
    for (const key of ["collate", "ctype"]) {
        if (source.database[key] !== restored.database[key]) {
            warn(db, `${key === "collate" ? "LC_COLLATE" : "LC_CTYPE"} ${restored.database[key]}, the source's is ${source.database[key]}`, REASONS.locale);
        }
    }
    const settingReason = (role) => !conditions.databaseSettingsRestored
        ? REASONS.databaseSettings
        : role !== undefined && missingRoles.has(role)
            ? REASONS.missingRole(role)
            : !conditions.superuser
                ? REASONS.notSuperuserSetting
                : undefined;
    const compareSettings = (object, from, to, role) => {
        const toSet = new Set(to);
        const fromSet = new Set(from);
        for (const setting of from)
            if (!toSet.has(setting))
                report(object, `setting ${setting} missing`, settingReason(role));
        for (const setting of to)
            if (!fromSet.has(setting))
                warn(object, `setting ${setting} not in the source`, REASONS.extra);
    };
    compareSettings(db, source.database.settings, restored.database.settings, undefined);
    for (const role of union(Object.keys(source.database.roleSettings), Object.keys(restored.database.roleSettings))) {
        compareSettings(`settings of role ${role} in the database`, source.database.roleSettings[role] ?? [], restored.database.roleSettings[role] ?? [], role);
    }
    // Objects: a lost one fails; one the target has beyond the source is a warning.
    const objectReason = (label) => {
        if (!conditions.superuser && label.startsWith("event trigger "))
            return REASONS.eventTrigger;
        if (!conditions.superuser && label.startsWith("foreign-data wrapper "))
            return REASONS.foreignDataWrapper;
        if (!conditions.superuser && label.startsWith("publication ")) {
            const name = label.slice("publication ".length);
            const publication = Object.entries(source.publications).find(([key]) => displayName(key) === name)?.[1];
            if (publication?.allTables)
                return REASONS.allTablesPublication;
        }
        return undefined;
    };
    for (const label of [...gone].sort(byteOrder))
        report(label, "missing", objectReason(label));
    for (const label of [...restoredLabels].sort(byteOrder)) {
        if (!sourceLabels.has(label))
            warn(label, "not in the source", REASONS.extra);
    }
    // Sequence values.
    const descending = new Set(source.descendingSequences);
    for (const [schema, seqs] of Object.entries(source.sequences)) {
        for (const [name, value] of Object.entries(seqs)) {
            const qualified = qualifiedName(schema, name);
            const restoredSeqs = restored.sequences[schema];
            if (value === null || !restoredSeqs || !(name in restoredSeqs))
                continue;
            const now = restoredSeqs[name] ?? null;
            const object = `sequence ${qualified}`;
            if (now === null) {
                fail(object, `value not restored (the source's was ${value})`);
            }
            else if (now !== value) {
                const ahead = sequenceAhead(now, value, descending.has(qualified));
                report(object, `value ${now}, the source's was ${value}`, ahead ? REASONS.sequenceAdvanced : undefined);
            }
        }
    }
    // Per-table details.
    const compareKeyed = (what, from, to, describe) => {
        for (const key of union(Object.keys(from), Object.keys(to))) {
            if (goneTables.has(key))
                continue;
            const a = from[key];
            const b = to[key];
            if (a === b)
                continue;
            if (a === undefined)
                warn(describe(key), `${what} ${b} not in the source`, REASONS.extra);
            else if (b === undefined)
                fail(describe(key), `${what} ${a} missing`);
            else
                fail(describe(key), `${what} ${b}, the source's is ${a}`);
        }
    };
    compareKeyed("partition of", source.partitionOf, restored.partitionOf, (key) => `table ${key}`);
    compareKeyed("inherits from", mapValues(source.inherits, (list) => list.join(", ")), mapValues(restored.inherits, (list) => list.join(", ")), (key) => `table ${key}`);
    compareKeyed("row security", source.rowSecurity, restored.rowSecurity, (key) => `table ${key}`);
    const compareMembers = (what, from, to) => {
        for (const table of union(Object.keys(from), Object.keys(to))) {
            if (goneTables.has(table))
                continue;
            const a = new Set(from[table] ?? []);
            const b = new Set(to[table] ?? []);
            for (const item of a)
                if (!b.has(item))
                    fail(`${what} ${item} on ${table}`, "missing");
            for (const item of b)
                if (!a.has(item))
                    warn(`${what} ${item} on ${table}`, "not in the source", REASONS.extra);
        }
    };
    compareMembers("constraint", constraintsByTable(source), constraintsByTable(restored));
    compareMembers("index", source.indexes, restored.indexes);
    compareMembers("trigger", source.triggers, restored.triggers);
    for (const table of union(Object.keys(source.policies), Object.keys(restored.policies))) {
        if (goneTables.has(table))
            continue;
        const from = source.policies[table] ?? {};
        const to = restored.policies[table] ?? {};
        for (const name of union(Object.keys(from), Object.keys(to))) {
            const object = `policy ${displayName(name)} on ${table}`;
            const a = from[name];
            const b = to[name];
            if (a === b)
                continue;
            if (a === undefined) {
                warn(object, "not in the source", REASONS.extra);
                continue;
            }
            const lostRole = rolesOf(a).find((role) => missingRoles.has(role));
            const reason = lostRole ? REASONS.missingRole(lostRole) : undefined;
            report(object, b === undefined ? `missing (${a})` : `${b}, the source's is ${a}`, reason);
        }
    }
    // Types' contents (enum labels).
    for (const [schema, types] of Object.entries(source.types)) {
        for (const [name, text] of Object.entries(types)) {
            const now = restored.types[schema]?.[name];
            if (now !== undefined && now !== text)
                fail(typeLabel(schema, name, text), `${now}, the source's is ${text}`);
        }
    }
    // Objects outside schemas.
    for (const name of union(Object.keys(source.extensions), Object.keys(restored.extensions))) {
        const a = source.extensions[name];
        const b = restored.extensions[name];
        const object = `extension ${displayName(name)}`;
        if (a === b)
            continue;
        if (a === undefined)
            warn(object, "not in the source", REASONS.extra);
        else if (b === undefined)
            fail(object, "missing");
        else
            warn(object, `version ${b}, the source's is ${a}`, REASONS.extensionVersion);
    }
    for (const cast of union(Object.keys(source.casts), Object.keys(restored.casts))) {
        const a = source.casts[cast];
        const b = restored.casts[cast];
        if (a === b)
            continue;
        if (a === undefined)
            warn(`cast ${cast}`, "not in the source", REASONS.extra);
        else if (b === undefined)
            fail(`cast ${cast}`, "missing");
        else
            fail(`cast ${cast}`, `${b}, the source's is ${a}`);
    }
    for (const server of Object.keys(source.foreignServers)) {
        const now = restored.foreignServers[server];
        if (now !== undefined && now !== source.foreignServers[server]) {
            fail(`server ${displayName(server)}`, `uses ${now}, the source's uses ${source.foreignServers[server]}`);
        }
    }
    const mappings = new Set(restored.userMappings);
    for (const mapping of source.userMappings) {
        if (mappings.has(mapping))
            continue;
        const user = mapping.slice(0, mapping.lastIndexOf("@"));
        report(`user mapping ${mapping}`, "missing", missingRoles.has(user) ? REASONS.missingRole(user) : undefined);
    }
    const sourceMappings = new Set(source.userMappings);
    for (const mapping of restored.userMappings) {
        if (!sourceMappings.has(mapping))
            warn(`user mapping ${mapping}`, "not in the source", REASONS.extra);
    }
    for (const [name, state] of Object.entries(source.eventTriggers)) {
        const now = restored.eventTriggers[name];
        if (now !== undefined && now !== state) {
            report(`event trigger ${displayName(name)}`, `${now}, the source's is ${state}`, conditions.superuser ? undefined : REASONS.eventTrigger);
        }
    }
    for (const [name, publication] of Object.entries(source.publications)) {
        const now = restored.publications[name];
        if (!now)
            continue;
        const object = `publication ${displayName(name)}`;
        if (now.allTables !== publication.allTables) {
            report(object, publication.allTables ? "not FOR ALL TABLES as in the source" : "FOR ALL TABLES, the source's is not", publication.allTables && !conditions.superuser ? REASONS.allTablesPublication : undefined);
        }
        if (now.operations !== publication.operations)
            fail(object, `publishes ${now.operations}, the source's ${publication.operations}`);
        const tables = new Set(now.tables);
        for (const table of publication.tables)
            if (!tables.has(table))
                fail(object, `member table ${table} missing`);
        const schemas = new Set(now.schemas);
        for (const schema of publication.schemas)
            if (!schemas.has(schema))
                fail(object, `member schema ${schema} missing`);
        const sourceTables = new Set(publication.tables);
        for (const table of now.tables)
            if (!sourceTables.has(table))
                warn(object, `member table ${table} not in the source`, REASONS.extra);
    }
    // Privileges.
    const aclReason = (grantee) => {
        const role = roleName(grantee);
        return conditions.noPrivileges
            ? REASONS.noPrivileges
            : missingRoles.has(role)
                ? REASONS.missingRole(role)
                : undefined;
    };
    const compareAcl = (object, from, to, extraReason) => {
        const a = new Map(from.map(splitAclEntry));
        const b = new Map(to.map(splitAclEntry));
        for (const grantee of union(a.keys(), b.keys())) {
            const had = a.get(grantee);
            const has = b.get(grantee);
            if (had === has)
                continue;
            const reason = aclReason(grantee) ?? extraReason;
            if (has === undefined)
                report(object, `grant ${grantee}=${had} missing`, reason);
            else if (had === undefined)
                report(object, `grant ${grantee}=${has} not in the source (a revoke was lost)`, reason);
            else
                report(object, `grant ${grantee}=${has}, the source's is ${grantee}=${had}`, reason);
        }
    };
    const sourceAcl = aclByObject(source);
    const restoredAcl = aclByObject(restored);
    for (const object of union(sourceAcl.keys(), restoredAcl.keys())) {
        if (gone.has(object) || (!sourceLabels.has(object) && restoredLabels.has(object)))
            continue;
        if (object.startsWith("column ") &&
            [...goneTables].some((table) => object.startsWith(`column ${table}.`)))
            continue;
        compareAcl(object, sourceAcl.get(object) ?? builtInAcl(object), restoredAcl.get(object) ?? builtInAcl(object));
    }
    for (const key of union(Object.keys(source.defaultAcls), Object.keys(restored.defaultAcls))) {
        const role = key.slice(0, key.indexOf(" in "));
        const reason = missingRoles.has(role)
            ? REASONS.missingRole(role)
            : !conditions.superuser && role !== conditions.restorer
                ? REASONS.notSuperuserDefaultAcl
                : undefined;
        if (source.defaultAcls[key] === undefined) {
            warn(`default privileges of ${key}`, "not in the source", REASONS.extra);
            continue;
        }
        compareAcl(`default privileges of ${key}`, source.defaultAcls[key], restored.defaultAcls[key] ?? [], reason);
    }
    // Owners.
    const ownerReason = (owner) => conditions.noOwner
        ? REASONS.noOwner
        : missingRoles.has(owner)
            ? REASONS.missingRole(owner)
            : conditions.superuser
                ? undefined
                : REASONS.notSuperuserOwner;
    const ownerOf = (fp, label) => fp.owners[label] ?? fp.owner;
    if (source.owner !== restored.owner) {
        report(`objects owned by ${source.owner} in the source`, `owned by ${restored.owner} (the objects listed apart excepted)`, ownerReason(source.owner));
    }
    for (const label of union(Object.keys(source.owners), Object.keys(restored.owners))) {
        if (!sourceLabels.has(label) || gone.has(label))
            continue;
        const had = ownerOf(source, label);
        const has = ownerOf(restored, label);
        // The default owner's change is reported once above.
        if (had === has || (had === source.owner && has === restored.owner))
            continue;
        report(label, `owned by ${has}, the source's owner is ${had}`, ownerReason(had));
    }
    // Large objects.
    const los = "large objects";
    if (restored.largeObjects.count < source.largeObjects.count) {
        fail(los, `${restored.largeObjects.count}, the source had ${source.largeObjects.count}`);
    }
    else if (restored.largeObjects.count > source.largeObjects.count) {
        warn(los, `${restored.largeObjects.count}, the source had ${source.largeObjects.count}`, REASONS.extra);
    }
    for (const owner of union(Object.keys(source.largeObjects.owners), Object.keys(restored.largeObjects.owners))) {
        const had = source.largeObjects.owners[owner] ?? 0;
        const has = restored.largeObjects.owners[owner] ?? 0;
        if (had > has)
            report(`${los} owned by ${owner}`, `${has}, the source had ${had}`, ownerReason(owner));
    }
    for (const oid of union(Object.keys(source.largeObjects.acl), Object.keys(restored.largeObjects.acl))) {
        compareAcl(`large object ${oid}`, source.largeObjects.acl[oid] ?? [], restored.largeObjects.acl[oid] ?? []);
    }
    const severityOrder = (s) => (s === "failure" ? 0 : 1);
    out.sort((x, y) => severityOrder(x.severity) - severityOrder(y.severity) ||
        byteOrder(x.object, y.object) ||
        byteOrder(x.problem, y.problem));
    const failures = out.filter((d) => d.severity === "failure").length;
    return { differences: out, failures, warnings: out.length - failures };
}
/**
 * The non-owner entries of an object's built-in default ACL: what an object the fingerprint lists
 * no ACL for has (PUBLIC may execute functions and use types; nothing else is granted).
 */
function builtInAcl(label) {
    if (/^(?:function|procedure|aggregate) /.test(label))
        return ["PUBLIC=X"];
    if (/^(?:type|domain|range|composite) /.test(label))
        return ["PUBLIC=U"];
    return [];
}
/**
 * Whether a sequence state `now` is further along than `was`: a called value n comes after
 * "next n" (the nextval() that returns n), and values grow, or shrink for a descending sequence.
 */
function sequenceAhead(now, was, descending) {
    const parse = (state) => state.startsWith("next ") ? [BigInt(state.slice(5)), 0] : [BigInt(state), 1];
    const [a, calledA] = parse(now);
    const [b, calledB] = parse(was);
    if (a === b)
        return calledA > calledB;
    return descending ? a < b : a > b;
}
/** A grantee as an ACL entry writes it (quoted when needed) -> the role's name. */
function roleName(grantee) {
    return grantee.startsWith('"') ? grantee.slice(1, -1).replaceAll('""', '"') : grantee;
}
function mapValues(record, each) {
    return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, each(value)]));
}
/** The roles a policy text ("permissive ALL TO a,b") names. */
function rolesOf(policy) {
    const at = policy.indexOf(" TO ");
    return at < 0 ? [] : policy.slice(at + 4).split(",");
}

;// CONCATENATED MODULE: ./src/domain/supabase-preset.ts
/**
 * The `supabase` preset, pure: which schemas a Supabase project's dump leaves out, which
 * extensions it keeps, which roles are the platform's own. Decisions and sources: docs/supabase.md
 * (the lists follow the Supabase CLI's `db dump`, pkg/migration/dump.go).
 */

const PRESETS = (/* unused pure expression or super */ null && (["none", "supabase"]));
/**
 * Schemas the platform creates and maintains, or that extensions own: neither their definitions
 * nor their data are dumped. `supabase db dump` leaves these out of both its schema and its data
 * dump (cron, net and pgmq only of the schema dump: see docs/supabase.md). pg_catalog,
 * information_schema and pg_toast are never dumped by pg_dump anyway.
 */
const SUPABASE_PLATFORM_SCHEMAS = [
    "_analytics",
    "_realtime",
    "_supavisor",
    "pgbouncer",
    "realtime",
    "supabase_migrations",
    "cron",
    "dbdev",
    "graphql",
    "graphql_public",
    "net",
    "pgmq",
    "pgsodium",
    "pgsodium_masks",
    "pgtle",
    "repack",
    "tiger",
    "tiger_data",
    "timescaledb_*",
    "_timescaledb_*",
    "topology",
    "vault",
];
/**
 * Platform schemas that ARE dumped, definitions and data: auth and storage hold the user's users,
 * identities and object metadata; supabase_functions holds database webhooks that user tables'
 * triggers call; extensions holds the extensions user tables call (uuid_generate_v4()). Without
 * them a restore into a plain PostgreSQL fails on the first foreign key to auth.users.
 */
const SUPABASE_KEPT_PLATFORM_SCHEMAS = (/* unused pure expression or super */ null && ([
    "auth",
    "storage",
    "supabase_functions",
    "extensions",
]));
/** The platform services' migration history: a fresh project has its own rows, so no data. */
const SUPABASE_EXCLUDED_TABLE_DATA = [
    "auth.schema_migrations",
    "storage.migrations",
    "supabase_functions.migrations",
];
/**
 * Roles the platform creates in every project (and extensions it preinstalls create), left out of
 * the roles object: a Supabase project already has them and refuses CREATE/ALTER on them
 * (supautils), and a plain PostgreSQL needs none of them for the user's objects to work. The API
 * roles anon, authenticated and service_role are kept on purpose: policies and grants name them.
 */
const SUPABASE_RESERVED_ROLES = [
    "postgres",
    "supabase_admin",
    "supabase_auth_admin",
    "supabase_storage_admin",
    "supabase_functions_admin",
    "supabase_realtime_admin",
    "supabase_replication_admin",
    "supabase_read_only_user",
    "supabase_etl_admin",
    "supabase_privileged_role",
    "supabase_superuser",
    "authenticator",
    "pgbouncer",
    "dashboard_user",
    "pgsodium_keyholder",
    "pgsodium_keyiduser",
    "pgsodium_keymaker",
    "pgtle_admin",
];
/** pg_* roles are PostgreSQL's own (pg_read_all_data, ...): never part of a roles object. */
function isReservedRole(name, preset) {
    if (name.startsWith("pg_"))
        return true;
    return preset === "supabase" && SUPABASE_RESERVED_ROLES.includes(name);
}
/**
 * The user's scope with the preset applied. The preset only adds: its schema exclusions go after
 * the user's --exclude-schema, its table-data exclusions after --exclude-table-data (each name
 * once). The user's --include-schema / --include-table narrow the dump as they do without a preset;
 * naming a schema the preset leaves out is refused, since the dump would silently hold nothing of it.
 */
function applyPreset(preset, scope) {
    if (preset === "none")
        return scope;
    for (const schema of scope.includeSchemas) {
        if (SUPABASE_PLATFORM_SCHEMAS.includes(schema)) {
            throw new domain_errors/* InputError */.dz(`--include-schema "${schema}": the supabase preset leaves this platform schema out; drop --preset supabase to dump it`, { input: "include-schema" });
        }
    }
    const union = (mine, theirs) => [...new Set([...mine, ...theirs])];
    return {
        ...scope,
        excludeSchemas: union(scope.excludeSchemas, SUPABASE_PLATFORM_SCHEMAS),
        excludeTableData: union(scope.excludeTableData, SUPABASE_EXCLUDED_TABLE_DATA),
    };
}
/** pg_dump's schema patterns (`*` wildcard only, as in the list above) against one schema name. */
function matchesSchemaPattern(pattern, schema) {
    const regex = new RegExp(`^${pattern.split("*").map(escapeRegex).join(".*")}$`);
    return regex.test(schema);
}
function escapeRegex(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
function isPlatformSchema(schema) {
    return SUPABASE_PLATFORM_SCHEMAS.some((pattern) => matchesSchemaPattern(pattern, schema));
}
/**
 * pg_dump dumps every extension's CREATE EXTENSION even when its schema is excluded, and the
 * restore then fails (`schema "graphql" does not exist`, or the extension is not installed on a
 * plain server). The preset names the extensions to keep instead: those installed into a schema
 * that is dumped. Extensions in pg_catalog (pg_cron) or in a platform schema (pg_graphql,
 * pgsodium, supabase_vault) are the platform's. With none left, plpgsql (built in, so a no-op)
 * stands in: pg_dump reads an empty --extension list as "all of them".
 */
function supabaseExtensionArgs(installed) {
    const kept = installed
        .filter((extension) => extension.schema !== "pg_catalog" && !isPlatformSchema(extension.schema))
        .map((extension) => extension.name)
        .sort();
    const names = kept.length > 0 ? kept : ["plpgsql"];
    return names.map((name) => `--extension="${name.replaceAll('"', '""')}"`);
}
/** A pg_restore error about a missing platform role: expected on a plain server, so tolerated. */
function isPlatformRoleError(error) {
    const match = /role "((?:[^"]|"")+)" does not exist/.exec(error);
    return match !== null && isReservedRole(match[1].replaceAll('""', '"'), "supabase");
}

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(8161);
// EXTERNAL MODULE: ./node_modules/pg/esm/index.mjs
var esm = __webpack_require__(3849);
;// CONCATENATED MODULE: ./src/domain/connection-rules.ts
/**
 * What can be told about a connection URL before connecting: Supabase's host forms and poolers,
 * the sslmode to use, and the address families a host needs. Pure: DNS answers and what the
 * machine's network can reach are passed in. docs/connections.md describes every rule.
 */

const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];
/** Stands in for the password wherever a URL is suggested: the real one is never printed. */
const PASSWORD_PLACEHOLDER = "[YOUR-PASSWORD]";
/** localhost, 127.0.0.0/8, ::1 and Unix socket directories: traffic that never leaves the machine. */
function isLocalHost(host) {
    const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
    return (isSocketPath(host) ||
        bare === "localhost" ||
        bare.endsWith(".localhost") ||
        bare === "::1" ||
        /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare));
}
/** A host that is a directory holding the server's Unix socket (libpq's convention). */
function isSocketPath(host) {
    return host.startsWith("/");
}
/**
 * The sslmode a connection uses: the URL's `sslmode` (or node-postgres's `ssl=true|false`) when
 * given, else `require` for a host across a network and `prefer` (libpq's own default) for a local
 * one; a Unix socket is never encrypted. `sslrootcert=system` implies verify-full, as in libpq 16.
 */
function resolveSslMode(params, host, input = "database-url") {
    const flag = `--${input}`;
    let explicit;
    const given = params.sslmode;
    if (given !== undefined) {
        if (!SSL_MODES.includes(given)) {
            throw new domain_errors/* InputError */.dz(`${flag}: sslmode "${given}" is not one of ${SSL_MODES.join(", ")}`, { input });
        }
        explicit = given;
    }
    else if (params.ssl !== undefined) {
        const ssl = params.ssl.toLowerCase();
        if (["true", "1", "require", "no-verify"].includes(ssl))
            explicit = "require";
        else if (["false", "0", "disable"].includes(ssl))
            explicit = "disable";
        else {
            throw new domain_errors/* InputError */.dz(`${flag}: ssl "${params.ssl}" is not true or false; use sslmode=${SSL_MODES.join("|")} instead`, { input });
        }
    }
    if (params.sslrootcert === "system") {
        if (explicit !== undefined && explicit !== "verify-full") {
            throw new domain_errors/* InputError */.dz(`${flag}: sslrootcert=system needs sslmode=verify-full (got sslmode=${explicit})`, {
                input,
            });
        }
        return { mode: "verify-full", explicit: true };
    }
    if (explicit !== undefined)
        return { mode: explicit, explicit: true };
    if (isSocketPath(host))
        return { mode: "disable", explicit: false };
    return { mode: isLocalHost(host) ? "prefer" : "require", explicit: false };
}
/**
 * `db.<ref>.supabase.co` (the project's own server, IPv6 only unless the IPv4 add-on is on) and
 * `aws-0-<region>.pooler.supabase.com` (Supavisor: session mode on 5432, transaction mode on 6543).
 */
function supabaseHost(host) {
    const name = host.toLowerCase().replace(/\.$/, "");
    const direct = /^db\.([a-z0-9]+)\.supabase\.co$/.exec(name);
    if (direct)
        return { kind: "direct", ref: direct[1] };
    if (name.endsWith(".pooler.supabase.com")) {
        const region = /^aws-\d+-([a-z0-9-]+)\.pooler\.supabase\.com$/.exec(name);
        return { kind: "pooler", region: region?.[1], host: name };
    }
    return undefined;
}
/**
 * The session pooler form of a direct Supabase URL, password left as a placeholder. The pooler's
 * host names the project's region, which only the dashboard knows (Connect -> Session pooler).
 */
function sessionPoolerUrl(url, ref, poolerHost) {
    const user = `${(url.user ?? "postgres").replace(/\.[a-z0-9]+$/, "")}.${ref}`;
    const query = Object.entries(url.params)
        .filter(([key]) => !["host", "port", "user", "dbname", "password"].includes(key))
        .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
        .join("&");
    return `postgresql://${encodeURIComponent(user)}:${PASSWORD_PLACEHOLDER}@${poolerHost ?? "aws-0-<region>.pooler.supabase.com"}:5432/${encodeURIComponent(url.database)}${query ? `?${query}` : ""}`;
}
/**
 * Rules that need no network: poolers in transaction mode, where every transaction may run in
 * another server session, so pg_dump's snapshot and its session settings would not hold.
 */
function urlRules(url, input = "database-url") {
    const flag = `--${input}`;
    const findings = [];
    const supabase = supabaseHost(url.host);
    const onSupabase = supabase !== undefined || /\.supabase\.(co|com)$/i.test(url.host);
    const needsSession = "pg_dump needs one server session for its whole run (its snapshot and settings)";
    if (url.port === 6543 && onSupabase) {
        const instead = supabase?.kind === "pooler"
            ? `the session pooler on the same host: port 5432, user ${url.user ?? "postgres.<project-ref>"}`
            : supabase?.kind === "direct"
                ? `port 5432 on the same host (IPv6 only), or the session pooler: ${sessionPoolerUrl(url, supabase.ref)} (copy the host from the dashboard: Connect -> Session pooler)`
                : "the session pooler (port 5432; dashboard: Connect -> Session pooler)";
        findings.push({
            level: "fail",
            message: `${flag}: port 6543 is Supabase's transaction pooler, and ${needsSession}; use ${instead}`,
        });
    }
    else if (url.port === 6543) {
        findings.push({
            level: "warn",
            message: `${flag}: port 6543 is where Supabase and others run a transaction-mode pooler, which breaks pg_dump; if ${url.host} is one, use its session mode (or the server itself)`,
        });
    }
    const neon = /^(ep-[a-z0-9-]+)-pooler(\..*\.neon\.tech)$/i.exec(url.host);
    if (neon) {
        findings.push({
            level: "fail",
            message: `${flag}: ${url.host} is Neon's pooled host (PgBouncer in transaction mode), and ${needsSession}; use the direct host ${neon[1]}${neon[2]}`,
        });
    }
    return findings;
}
/** Whether an IPv6 address is a global unicast one (2000::/3): reachable only over a global route. */
function isGlobalIpv6(address) {
    return /^[23][0-9a-f]{0,3}:/i.test(address);
}
/**
 * A host that resolves only to global IPv6 addresses, on a machine with no global IPv6 route
 * (GitHub-hosted runners have none): fails with what to use instead.
 */
function addressFamilyProblem(url, addresses, hasIpv6Route, input = "database-url") {
    if (addresses.length === 0 || hasIpv6Route)
        return undefined;
    if (addresses.some((entry) => entry.family === 4))
        return undefined;
    if (!addresses.every((entry) => isGlobalIpv6(entry.address)))
        return undefined;
    const flag = `--${input}`;
    const supabase = supabaseHost(url.host);
    const why = `has only IPv6 addresses (${addresses[0].address}) and this machine has no IPv6 route`;
    if (supabase?.kind === "direct") {
        return `${flag}: ${url.host} ${why} (GitHub-hosted runners have none); use Supabase's session pooler instead: ${sessionPoolerUrl(url, supabase.ref)} (copy the pooler host from the dashboard: Connect -> Session pooler)`;
    }
    return `${flag}: host "${url.host}" ${why}; use a host name or address that is reachable over IPv4`;
}
/** One line for a host name that does not resolve, with the likely cause. */
function unresolvedHostMessage(url, input = "database-url") {
    const flag = `--${input}`;
    const supabase = supabaseHost(url.host);
    if (supabase?.kind === "direct") {
        return `${flag}: host "${url.host}" does not resolve: the project ref "${supabase.ref}" may be wrong, or the project is paused (copy the URL from the dashboard: Connect)`;
    }
    if (supabase?.kind === "pooler") {
        return `${flag}: host "${url.host}" does not resolve: the pooler's region may be wrong (copy the host from the dashboard: Connect -> Session pooler)`;
    }
    return `${flag}: host "${url.host}" could not be resolved (check the host name)`;
}
/** Supavisor's answer to a user it cannot map to a project: the user part names the project. */
function poolerUserMessage(url, input = "database-url") {
    const flag = `--${input}`;
    const user = url.user ?? "(default user)";
    if (!user.includes(".")) {
        return `${flag}: the pooler does not know user "${user}" ("Tenant or user not found"); on Supabase's pooler the user is ${user === "(default user)" ? "postgres" : user}.<project-ref>, e.g. postgres.abcdefghijklmnop`;
    }
    const ref = user.slice(user.lastIndexOf(".") + 1);
    return `${flag}: the pooler does not know user "${user}" ("Tenant or user not found"): the project ref "${ref}" in the user part may be wrong, or the pooler host is in another region than the project (copy both from the dashboard: Connect -> Session pooler)`;
}
/** Node's TLS error codes for certificates it refuses, as one line naming the problem and the fix. */
function certificateProblem(code, mode) {
    const problems = {
        DEPTH_ZERO_SELF_SIGNED_CERT: "is self-signed",
        SELF_SIGNED_CERT_IN_CHAIN: "is signed by a CA that is not trusted (self-signed root in the chain)",
        UNABLE_TO_VERIFY_LEAF_SIGNATURE: "is signed by an unknown CA",
        UNABLE_TO_GET_ISSUER_CERT: "is signed by an unknown CA",
        UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "is signed by an unknown CA",
        CERT_HAS_EXPIRED: "has expired",
        CERT_NOT_YET_VALID: "is not valid yet",
        ERR_TLS_CERT_ALTNAME_INVALID: "does not name this host (host name mismatch)",
        CERT_SIGNATURE_FAILURE: "has a bad signature",
    };
    const problem = code ? problems[code] : undefined;
    if (!problem)
        return undefined;
    const fix = code === "ERR_TLS_CERT_ALTNAME_INVALID"
        ? "connect by the name in the certificate, use sslmode=verify-ca (CA checked, name not), or sslmode=require (encrypted, not verified)"
        : "pass the CA that signed it with sslrootcert=/path/to/ca.crt, or use sslmode=require (encrypted, not verified)";
    return `the server's TLS certificate ${problem} (sslmode=${mode}); ${fix}`;
}

;// CONCATENATED MODULE: ./src/domain/database-url.ts


function parseDatabaseUrl(text, input = "database-url") {
    const flag = `--${input}`;
    const trimmed = text.trim();
    if (trimmed === "") {
        throw new domain_errors/* InputError */.dz(`${flag}: expected postgresql://user:password@host:port/database, got nothing`, {
            input,
        });
    }
    let url;
    try {
        url = new URL(trimmed);
    }
    catch {
        throw new domain_errors/* InputError */.dz(`${flag}: not a URL; expected postgresql://user:password@host:port/database`, {
            input,
        });
    }
    if (url.protocol !== "postgresql:" && url.protocol !== "postgres:") {
        throw new domain_errors/* InputError */.dz(`${flag}: scheme "${url.protocol.replace(/:$/, "")}" is not postgresql; expected postgresql://user:password@host:port/database`, { input });
    }
    const params = {};
    for (const [key, value] of url.searchParams)
        params[key] = value;
    let password = url.password ? decodeURIComponent(url.password) : undefined;
    if (params.password !== undefined) {
        password = params.password;
        delete params.password;
    }
    const host = params.host ?? (url.hostname ? decodeURIComponent(url.hostname) : "localhost");
    const portText = params.port ?? (url.port || "5432");
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new domain_errors/* InputError */.dz(`${flag}: port "${portText}" is not a number from 1 to 65535`, { input });
    }
    const database = params.dbname ?? decodeURIComponent(url.pathname.replace(/^\//, ""));
    if (database === "") {
        throw new domain_errors/* InputError */.dz(`${flag}: no database name; expected postgresql://user:password@host:port/database`, {
            input,
        });
    }
    const user = params.user ?? (url.username ? decodeURIComponent(url.username) : undefined);
    const ssl = resolveSslMode(params, host, input);
    // libpq refuses parameters it does not know: node-postgres's `ssl` and `uselibpqcompat`.
    delete params.ssl;
    delete params.uselibpqcompat;
    // Lifeboat's default for a remote host (require) is stricter than libpq's (prefer): written out.
    if (ssl.explicit || ssl.mode === "require")
        params.sslmode = ssl.mode;
    const bare = new URL(url.toString());
    bare.password = "";
    bare.search = "";
    for (const [key, value] of Object.entries(params))
        bare.searchParams.set(key, value);
    const display = new URL(url.toString());
    display.username = "";
    display.password = "";
    display.search = "";
    return {
        withoutPassword: bare.toString(),
        redacted: display.toString(),
        password,
        host,
        port,
        database,
        user,
        params,
        sslmode: ssl.mode,
    };
}
/** Replaces the password of any postgres URL in `text`, for messages that quote other tools. */
function redactUrls(text) {
    return text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/g, "$1***@");
}
/**
 * The full connection string, password included: only for in-process drivers and a child
 * process's DATABASE_URL, never for a log line or a command line.
 */
function connectionString(url) {
    if (url.password === undefined)
        return url.withoutPassword;
    const full = new URL(url.withoutPassword);
    full.password = encodeURIComponent(url.password);
    return full.toString();
}

;// CONCATENATED MODULE: ./src/postgres/connect.ts







/** The URL parameters that only TLS reads; node-postgres gets them as `ssl` options instead. */
const TLS_PARAMS = ["sslmode", "ssl", "sslrootcert", "sslcert", "sslkey", "sslpassword", "uselibpqcompat"];
/**
 * Connects, or fails with a one-line InputError that says which part of the URL is wrong.
 * The password is never part of the message. TLS follows the URL's sslmode with libpq's meaning
 * (docs/connections.md), and the session's timeouts are turned off: a long COPY or a snapshot held
 * open for a whole dump must not be cancelled by a role's statement_timeout.
 */
async function connect(url, input = "database-url") {
    const mode = url.sslmode;
    // prefer: TLS, and plain text when the server has none; allow: the other way round.
    const attempts = mode === "prefer" ? ["require", "disable"] : mode === "allow" ? ["disable", "require"] : [mode];
    let client;
    for (const [index, attempt] of attempts.entries()) {
        const last = index === attempts.length - 1;
        const ssl = attempt === "disable" ? false : tlsOptions(url, attempt, input);
        try {
            client = await connect_open(url, ssl);
            break;
        }
        catch (error) {
            if (!last && (isNoTlsError(error) || (mode === "allow" && isHbaRejection(error))))
                continue;
            throw connectionError(error, url, input);
        }
    }
    await disableTimeouts(client).catch(async (error) => {
        await client.end().catch(() => undefined);
        throw new domain_errors/* OperationError */.OK(`turning the session's timeouts off failed: ${(0,domain_errors/* describeError */.Uc)(error)}`, {
            cause: error,
        });
    });
    return client;
}
async function connect_open(url, ssl) {
    const client = new esm/* default.Client */.Ay.Client({
        // pg lets the URL's fields override separate ones, so the password goes back into the URL
        // (in memory only) rather than beside it; the TLS parameters come out of it (pg would read
        // require as verify-full), and TLS is configured here instead.
        connectionString: withoutTlsParams(connectionString(url)),
        ssl,
        connectionTimeoutMillis: 15_000,
        application_name: "lifeboat",
    });
    // A server that goes away later must not crash the process through an unhandled 'error' event;
    // the query in flight rejects on its own.
    client.on("error", () => undefined);
    try {
        await client.connect();
    }
    catch (error) {
        await client.end().catch(() => undefined);
        throw error;
    }
    return client;
}
function withoutTlsParams(text) {
    const url = new URL(text);
    for (const key of TLS_PARAMS)
        url.searchParams.delete(key);
    return url.toString();
}
/**
 * Session settings that cancel a long dump, off for this session: statement_timeout (a COPY or
 * count(*) of a big table), idle_in_transaction_session_timeout (the snapshot holder waits while
 * pg_dump works), lock_timeout, idle_session_timeout (14+) and transaction_timeout (17+). Only
 * the ones the server knows are set, so one statement serves every version.
 */
const DUMP_TIMEOUTS = [
    "statement_timeout",
    "idle_in_transaction_session_timeout",
    "lock_timeout",
    "idle_session_timeout",
    "transaction_timeout",
];
async function disableTimeouts(client) {
    await client.query(`SELECT pg_catalog.set_config(name, '0', false) FROM pg_catalog.pg_settings WHERE name = ANY($1::text[])`, [[...DUMP_TIMEOUTS]]);
}
/**
 * node-postgres TLS options with libpq's meaning of each sslmode: require encrypts without
 * verifying (unless a CA is given, then it verifies like verify-ca, as libpq does); verify-ca
 * checks the chain but not the host name; verify-full checks both. The CA comes from
 * sslrootcert, else ~/.postgresql/root.crt as in libpq; sslrootcert=system means the system's
 * trusted roots.
 */
function tlsOptions(url, mode, input = "database-url") {
    const flag = `--${input}`;
    const read = (param, path) => {
        try {
            return (0,external_node_fs_.readFileSync)(path, "utf8");
        }
        catch (error) {
            throw new domain_errors/* InputError */.dz(`${flag}: ${param} "${path}" cannot be read (${(0,domain_errors/* describeError */.Uc)(error)})`, {
                input,
                cause: error,
            });
        }
    };
    const options = {};
    const rootcert = url.params.sslrootcert;
    const defaultRoot = (0,external_node_path_.join)((0,external_node_os_.homedir)(), ".postgresql", "root.crt");
    let ca;
    if (rootcert && rootcert !== "system")
        ca = read("sslrootcert", rootcert);
    else if (rootcert === undefined && (0,external_node_fs_.existsSync)(defaultRoot))
        ca = read("sslrootcert", defaultRoot);
    if (ca !== undefined)
        options.ca = ca;
    if (url.params.sslcert)
        options.cert = read("sslcert", url.params.sslcert);
    if (url.params.sslkey)
        options.key = read("sslkey", url.params.sslkey);
    if (url.params.sslpassword)
        options.passphrase = url.params.sslpassword;
    const verifyCa = mode === "verify-ca" || (mode === "require" && ca !== undefined);
    if (mode === "verify-ca" || mode === "verify-full") {
        if (ca === undefined && rootcert !== "system") {
            throw new domain_errors/* InputError */.dz(`${flag}: sslmode=${mode} needs the CA that signed the server's certificate: add sslrootcert=/path/to/ca.crt (or sslrootcert=system for the system's trusted roots, with pg_dump 16 or newer)`, { input });
        }
    }
    if (mode === "verify-full")
        options.rejectUnauthorized = true;
    else if (verifyCa) {
        options.rejectUnauthorized = true;
        options.checkServerIdentity = () => undefined;
    }
    else
        options.rejectUnauthorized = false;
    return options;
}
function isNoTlsError(error) {
    return /server does not support SSL/i.test((0,domain_errors/* describeError */.Uc)(error));
}
function isHbaRejection(error) {
    return error.code === "28000" && /no pg_hba\.conf entry/i.test((0,domain_errors/* describeError */.Uc)(error));
}
function connectionError(error, url, input) {
    const flag = `--${input}`;
    const code = error.code;
    const text = (0,domain_errors/* describeError */.Uc)(error);
    const where = `${url.host}:${url.port}`;
    const user = url.user ?? "(default user)";
    const certificate = certificateProblemFor(error, url, input);
    if (certificate)
        return certificate;
    let message;
    if (isNoTlsError(error)) {
        message = `${flag}: the server at ${where} does not offer TLS and sslmode is ${url.sslmode}; add ?sslmode=disable only on a network you trust (a service container, a private network)`;
    }
    else if (/Tenant or user not found/i.test(text)) {
        message = poolerUserMessage(url, input);
    }
    else if (code === "28000" && /no encryption/i.test(text)) {
        message = `${flag}: the server at ${where} refuses unencrypted connections from this machine for user "${user}" (pg_hba.conf); use sslmode=require`;
    }
    else if (url.password === undefined && /password must be a string|no password was provided/i.test(text)) {
        message = `${flag}: the server asks for a password for user "${user}" and the URL has none (postgresql://user:password@host/database)`;
    }
    else {
        switch (code) {
            case "28P01":
            case "28000":
                message = `${flag}: authentication failed for user "${user}" at ${where} (check the user and password)`;
                break;
            case "3D000":
                message = `${flag}: database "${url.database}" does not exist on ${where}`;
                break;
            case "ECONNREFUSED":
                message = `${flag}: nothing accepts connections at ${where} (connection refused: check host and port)`;
                break;
            case "ENOTFOUND":
            case "EAI_AGAIN":
                message = unresolvedHostMessage(url, input);
                break;
            case "ETIMEDOUT":
            case "EHOSTUNREACH":
            case "ENETUNREACH":
                message = `${flag}: ${where} is unreachable (${code}); check the host, the port and the network`;
                break;
            default:
                message = `${flag}: cannot connect to ${where}: ${text}`;
        }
    }
    return new domain_errors/* InputError */.dz(message, { input, cause: error });
}
/** A TLS certificate the server sent that the sslmode refuses, as one line; else undefined. */
function certificateProblemFor(error, url, input) {
    const problem = certificateProblem(error.code, url.sslmode);
    if (!problem)
        return undefined;
    return new domain_errors/* InputError */.dz(`--${input}: ${url.host}:${url.port}: ${problem}`, { input, cause: error });
}
async function readServerInfo(client) {
    const result = await client.query("SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num, current_database() AS database, current_user AS user, pg_catalog.pg_database_size(current_database()) AS bytes");
    const row = result.rows[0];
    const versionNum = Number(row.num);
    return {
        version: row.version,
        databaseBytes: Number(row.bytes),
        versionNum,
        major: Math.floor(versionNum / 10000),
        database: row.database,
        user: row.user,
    };
}

;// CONCATENATED MODULE: ./src/postgres/snapshot.ts

async function exportSnapshot(client) {
    // A long dump must not be cancelled by the server's timeouts while this session holds the
    // snapshot (connect() turns them off too; this session must stay, so it makes sure).
    await disableTimeouts(client);
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    const { rows } = await client.query("SELECT pg_export_snapshot() AS id");
    let open = true;
    return {
        id: rows[0].id,
        async release() {
            if (!open)
                return;
            open = false;
            await client.query("ROLLBACK");
        },
    };
}
function quoteIdent(name) {
    return `"${name.replaceAll('"', '""')}"`;
}

;// CONCATENATED MODULE: ./src/domain/pg-pattern.ts
function parseNamePattern(pattern) {
    const parts = [""];
    let inQuotes = false;
    for (let i = 0; i < pattern.length; i++) {
        const ch = pattern[i];
        if (ch === '"') {
            if (inQuotes && pattern[i + 1] === '"') {
                parts[parts.length - 1] += '"';
                i++;
            }
            else {
                inQuotes = !inQuotes;
            }
        }
        else if (!inQuotes && ch === ".") {
            parts.push("");
        }
        else if (!inQuotes && ch === "*") {
            parts[parts.length - 1] += ".*";
        }
        else if (!inQuotes && ch === "?") {
            parts[parts.length - 1] += ".";
        }
        else {
            const literal = inQuotes ? ch : ch.toLowerCase();
            parts[parts.length - 1] += literal.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&");
        }
    }
    const anchor = (regex) => `^(${regex === "" ? ".*" : regex})$`;
    if (parts.length === 1)
        return { schema: undefined, name: anchor(parts[0]) };
    // pg_dump accepts db.schema.table too; the database part must be the current one, ignore it.
    const name = parts[parts.length - 1];
    const schema = parts[parts.length - 2];
    return { schema: anchor(schema), name: anchor(name) };
}
/** For schema patterns (-n): the whole pattern names a schema. */
function schemaPatternRegex(pattern) {
    const parsed = parseNamePattern(pattern);
    return parsed.name;
}

;// CONCATENATED MODULE: ./src/postgres/catalog-fingerprint.ts



/** Sequences read per statement: each holds its sequences' locks until the statement ends. */
const SEQUENCE_BATCH = 200;
const PRIVILEGE_LETTERS = {
    SELECT: "r",
    INSERT: "a",
    UPDATE: "w",
    DELETE: "d",
    TRUNCATE: "D",
    REFERENCES: "x",
    TRIGGER: "t",
    EXECUTE: "X",
    USAGE: "U",
    CREATE: "C",
    CONNECT: "c",
    TEMPORARY: "T",
    SET: "s",
    "ALTER SYSTEM": "A",
};
const RELATION_WORDS = {
    r: "table",
    p: "partitioned table",
    v: "view",
    m: "materialized view",
    S: "sequence",
    f: "foreign table",
};
/** Byte order, not locale order: the same on every machine. */
function compare(a, b) {
    return a < b ? -1 : a > b ? 1 : 0;
}
function sorted(values) {
    return [...values].sort(compare);
}
function sortedRecord(record, each = (value) => value) {
    const out = {};
    for (const key of sorted(record.keys()))
        out[key] = each(record.get(key));
    return out;
}
function pushTo(map, key, value) {
    const list = map.get(key);
    if (list)
        list.push(value);
    else
        map.set(key, [value]);
}
function setIn(map, key, inner, value) {
    let m = map.get(key);
    if (!m)
        map.set(key, (m = new Map()));
    m.set(inner, value);
}
function nested(map) {
    const out = {};
    for (const key of sorted(map.keys()))
        out[key] = sortedRecord(map.get(key));
    return out;
}
/** The exploded ACL of `acl`, as "grantee\u0000privilege\u0000grantable", the owner left out. */
function aclColumn(acl, owner, defaultKind) {
    const explode = (source) => `ARRAY(SELECT CASE WHEN a.grantee = 0 THEN '' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END
                  || '=' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END
             FROM pg_catalog.aclexplode(${source}) a WHERE a.grantee <> ${owner})`;
    return `CASE WHEN ${acl} IS NULL THEN NULL ELSE ${explode(acl)} END AS acl,
          CASE WHEN ${acl} IS NULL THEN NULL ELSE ${explode(`pg_catalog.acldefault('${defaultKind}', ${owner})`)} END AS default_acl`;
}
/** ["bob=SELECT", "bob=INSERT*", "=EXECUTE"] -> ["PUBLIC=X", "bob=a*r"] ("" is everyone). */
function compactAcl(entries) {
    const byGrantee = new Map();
    for (const entry of entries) {
        const at = entry.lastIndexOf("=");
        const grantee = entry.slice(0, at);
        let privilege = entry.slice(at + 1);
        const grantable = privilege.endsWith("*");
        if (grantable)
            privilege = privilege.slice(0, -1);
        const letter = (PRIVILEGE_LETTERS[privilege] ?? `[${privilege}]`) + (grantable ? "*" : "");
        pushTo(byGrantee, grantee, letter);
    }
    // Everyone (grantee 0, read as "") is PUBLIC unquoted; a role named "PUBLIC" comes out quoted.
    const display = (grantee) => (grantee === "" ? "PUBLIC" : displayName(grantee));
    return sorted(byGrantee.keys()).map((grantee) => `${display(grantee)}=${sorted(byGrantee.get(grantee)).join("")}`);
}
/** The ACL worth recording, or undefined when it equals the default (NULL or not). */
function recordedAcl(row) {
    if (row.acl === null)
        return undefined;
    const actual = compactAcl(row.acl);
    const fallback = compactAcl(row.default_acl ?? []);
    return actual.join(" ") === fallback.join(" ") ? undefined : actual;
}
/** A type's name written the same whatever the search_path: schema-qualified outside pg_catalog. */
const TYPE_NAME = (oid) => `(SELECT CASE WHEN tn.nspname = 'pg_catalog' THEN t.typname ELSE tn.nspname || '.' || t.typname END
      FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace WHERE t.oid = ${oid})`;
const NOT_EXTENSION_MEMBER = (catalog, oid) => `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = '${catalog}'::pg_catalog.regclass AND d.objid = ${oid} AND d.deptype = 'e')`;
const SYSTEM_SCHEMA = (column) => `(${column} IN ('pg_catalog', 'information_schema') OR ${column} LIKE 'pg\\_toast%' OR ${column} LIKE 'pg\\_temp\\_%')`;
function anyMatch(patterns, regexOf) {
    const regexes = patterns.map((pattern) => new RegExp(regexOf(pattern)));
    return (value) => regexes.some((regex) => regex.test(value));
}
function scopeTests(scope) {
    const ignored = anyMatch(scope.ignoreSchemas ?? [], schemaPatternRegex);
    const included = anyMatch(scope.includeSchemas, schemaPatternRegex);
    const excluded = anyMatch(scope.excludeSchemas, schemaPatternRegex);
    const tablePattern = (patterns) => {
        const parsed = patterns.map(parseNamePattern).map((p) => ({
            schema: p.schema === undefined ? undefined : new RegExp(p.schema),
            name: new RegExp(p.name),
        }));
        return (schema, name, visible) => parsed.some((p) => p.name.test(name) && (p.schema ? p.schema.test(schema) : visible));
    };
    const includedTable = tablePattern(scope.includeTables);
    const excludedTable = tablePattern(scope.excludeTables);
    const tablesSelected = scope.includeTables.length > 0;
    const schemaTest = (schema) => !ignored(schema) &&
        // As in pg_dump, -n/-N have no effect once -t selects tables.
        (tablesSelected || ((scope.includeSchemas.length === 0 || included(schema)) && !excluded(schema)));
    return {
        globals: scope.globals ?? (scope.includeSchemas.length === 0 && !tablesSelected),
        schemaOnly: scope.schemaOnly ?? false,
        tablesSelected,
        ignored,
        schema: (schema) => !tablesSelected && schemaTest(schema),
        relation: (schema, name, visible) => schemaTest(schema) &&
            (!tablesSelected || includedTable(schema, name, visible)) &&
            !excludedTable(schema, name, visible),
    };
}
/** An object's owner and ACL; its label is `prefix + name` (e.g. "table public." + "orders"). */
function noteObject(collector, prefix, name, owner, row) {
    if (owner !== undefined)
        collector.owners.set(prefix + name, owner);
    const acl = recordedAcl(row);
    if (!acl)
        return;
    const text = acl.join(" ");
    let group = collector.acl.get(text);
    if (!group)
        collector.acl.set(text, (group = new Map()));
    pushTo(group, prefix, name);
}
/**
 * Takes the fingerprint. `client` is either inside the snapshot's open transaction (its
 * transaction is used and left open) or idle (a REPEATABLE READ READ ONLY transaction of our own
 * gives every catalog read the same view, and is ended before returning). Sequence values are read
 * on `sequenceReader`, an idle connection to the same database; it defaults to `client` when that
 * is idle, and is required when `client` holds the snapshot (unless the scope is schema-only).
 * Take it before pg_dump starts: the dump's values are then at least ours.
 */
async function takeCatalogFingerprint(client, scope, options = {}) {
    const tests = scopeTests(scope);
    const ownTransaction = client.getTransactionStatus() !== "T";
    const reader = options.sequenceReader ?? (ownTransaction ? client : undefined);
    if (!tests.schemaOnly && (!reader || (reader !== client && reader.getTransactionStatus() !== "I"))) {
        // A programming error, not the user's: sequences read in the snapshot's transaction would stay locked.
        throw new Error("takeCatalogFingerprint: sequence values need an idle connection outside the snapshot");
    }
    if (ownTransaction)
        await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    let read;
    try {
        read = await readFingerprint(client, tests);
    }
    finally {
        if (ownTransaction)
            await client.query("ROLLBACK");
    }
    if (!tests.schemaOnly && read.sequenceOids.size > 0) {
        const values = await readSequenceValues(reader, read.sequenceOids);
        for (const [oid, [schema, name]] of read.sequenceOids) {
            read.fingerprint.sequences[schema][name] = values.get(oid) ?? null;
        }
    }
    return read.fingerprint;
}
async function readFingerprint(client, scope) {
    const query = async (text, values) => (await client.query(text, values)).rows;
    const collector = { owners: new Map(), acl: new Map() };
    const [{ version }] = (await query("SELECT pg_catalog.current_setting('server_version_num') AS version"));
    const serverVersion = Number(version);
    const [database] = await query(`SELECT pg_catalog.pg_encoding_to_char(encoding) AS encoding, datcollate AS collate, datctype AS ctype
       FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()`);
    const settingRows = await query(`SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(s.setrole) END AS role, s.setconfig AS config
       FROM pg_catalog.pg_db_role_setting s
      WHERE s.setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())`);
    const roleSettings = new Map();
    let settings = [];
    for (const row of settingRows) {
        if (row.role === null)
            settings = sorted(row.config);
        else
            roleSettings.set(row.role, sorted(row.config));
    }
    // Schemas.
    const schemas = [];
    for (const row of await query(`SELECT n.nspname AS name, pg_catalog.pg_get_userbyid(n.nspowner) AS owner,
            ${aclColumn("n.nspacl", "n.nspowner", "n")}
       FROM pg_catalog.pg_namespace n
      WHERE NOT ${SYSTEM_SCHEMA("n.nspname")} AND ${NOT_EXTENSION_MEMBER("pg_catalog.pg_namespace", "n.oid")}`)) {
        if (!scope.schema(row.name))
            continue;
        schemas.push(row.name);
        noteObject(collector, "schema ", displayName(row.name), row.owner, row);
    }
    const relationRows = await query(`SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind,
            pg_catalog.pg_get_userbyid(c.relowner) AS owner,
            CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, 0) END AS bound,
            c.relrowsecurity AS rls, c.relforcerowsecurity AS force_rls,
            pg_catalog.pg_table_is_visible(c.oid) AS visible,
            (SELECT s.seqincrement < 0 FROM pg_catalog.pg_sequence s WHERE s.seqrelid = c.oid) AS descending,
            (SELECT d.refobjid::text FROM pg_catalog.pg_depend d
              WHERE c.relkind = 'S' AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
                AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i') LIMIT 1) AS owned_by,
            ${aclColumn("c.relacl", "c.relowner", "r")}
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND NOT ${SYSTEM_SCHEMA("n.nspname")}
        AND ${NOT_EXTENSION_MEMBER("pg_catalog.pg_class", "c.oid")}`);
    const byOid = new Map(relationRows.map((row) => [row.oid, row]));
    const inScope = new Set();
    for (const row of relationRows) {
        if (scope.relation(row.schema, row.name, row.visible))
            inScope.add(row.oid);
    }
    // pg_dump -t dumps the sequences the selected tables own.
    if (scope.tablesSelected) {
        for (const row of relationRows) {
            if (row.owned_by && inScope.has(row.owned_by) && !scope.ignored(row.schema))
                inScope.add(row.oid);
        }
    }
    const relationName = (oid) => {
        const row = byOid.get(oid);
        return row ? qualifiedName(row.schema, row.name) : `oid ${oid}`;
    };
    const lists = {
        r: new Map(),
        p: new Map(),
        v: new Map(),
        m: new Map(),
        f: new Map(),
    };
    const sequenceOids = [];
    const descendingSequences = [];
    const rowSecurity = new Map();
    for (const oid of inScope) {
        const row = byOid.get(oid);
        const qualified = qualifiedName(row.schema, row.name);
        if (row.kind !== "S")
            pushTo(lists[row.kind], row.schema, row.name);
        else
            sequenceOids.push(oid);
        if (row.descending)
            descendingSequences.push(qualified);
        noteObject(collector, `${RELATION_WORDS[row.kind]} ${displayName(row.schema)}.`, displayName(row.name), row.owner, row);
        if (row.rls || row.force_rls) {
            rowSecurity.set(qualified, row.rls && row.force_rls ? "enabled, forced" : row.rls ? "enabled" : "forced");
        }
    }
    // Values are filled in later, outside the transaction.
    const sequences = new Map();
    const sequenceNames = new Map();
    for (const oid of sequenceOids) {
        const row = byOid.get(oid);
        setIn(sequences, row.schema, row.name, null);
        sequenceNames.set(oid, [row.schema, row.name]);
    }
    const partitionOf = new Map();
    const inherits = new Map();
    for (const row of await query(`SELECT inhrelid::text AS child, inhparent::text AS parent FROM pg_catalog.pg_inherits ORDER BY inhrelid, inhseqno`)) {
        if (!inScope.has(row.child))
            continue;
        const child = byOid.get(row.child);
        if (!child || (child.kind !== "r" && child.kind !== "p" && child.kind !== "f"))
            continue;
        const name = relationName(row.child);
        if (child.bound !== null)
            partitionOf.set(name, `${relationName(row.parent)} ${child.bound}`);
        else
            pushTo(inherits, name, relationName(row.parent));
    }
    // Column grants: a column's default ACL is empty.
    for (const row of await query(`SELECT a.attrelid::text AS table, a.attname AS column, pg_catalog.pg_get_userbyid(c.relowner) AS owner,
            ${aclColumn("a.attacl", "c.relowner", "c")}
       FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
      WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped`)) {
        if (!inScope.has(row.table))
            continue;
        noteObject(collector, `column ${relationName(row.table)}.`, displayName(row.column), undefined, row);
    }
    const constraints = new Map();
    for (const row of await query(`SELECT conrelid::text AS table, conname AS name, contype AS type FROM pg_catalog.pg_constraint WHERE conrelid <> 0 AND conparentid = 0`)) {
        if (!inScope.has(row.table))
            continue;
        const table = byOid.get(row.table);
        let perTable = constraints.get(table.schema);
        if (!perTable)
            constraints.set(table.schema, (perTable = new Map()));
        // The most common constraint by far, under its default name: one letter.
        pushTo(perTable, table.name, row.type === "p" && row.name === `${table.name}_pkey` ? "p" : `${row.type} ${row.name}`);
    }
    const indexes = new Map();
    for (const row of await query(`SELECT i.indrelid::text AS table, c.relname AS name
       FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
      WHERE NOT c.relispartition
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))`)) {
        if (inScope.has(row.table))
            pushTo(indexes, relationName(row.table), row.name);
    }
    const triggers = new Map();
    const TRIGGER_STATES = { D: " (disabled)", R: " (replica)", A: " (always)" };
    for (const row of await query(`SELECT tgrelid::text AS table, tgname AS name, tgenabled AS enabled FROM pg_catalog.pg_trigger
      WHERE NOT tgisinternal${serverVersion >= 130000 ? " AND tgparentid = 0" : ""}`)) {
        if (inScope.has(row.table))
            pushTo(triggers, relationName(row.table), row.name + (TRIGGER_STATES[row.enabled] ?? ""));
    }
    const policies = new Map();
    const COMMANDS = { r: "SELECT", a: "INSERT", w: "UPDATE", d: "DELETE", "*": "ALL" };
    for (const row of await query(`SELECT polrelid::text AS table, polname AS name, polcmd AS command, polpermissive AS permissive,
            ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(r)::text END
                    FROM unnest(polroles) r ORDER BY 1) AS roles
       FROM pg_catalog.pg_policy`)) {
        if (!inScope.has(row.table))
            continue;
        const text = `${row.permissive ? "permissive" : "restrictive"} ${COMMANDS[row.command] ?? row.command} TO ${sorted(row.roles).join(",")}`;
        setIn(policies, relationName(row.table), row.name, text);
    }
    // Functions and types: schema objects that pg_dump -t leaves out.
    const functions = new Map();
    const KIND_PREFIX = { p: "procedure ", a: "aggregate ", w: "window " };
    for (const row of await query(`SELECT n.nspname AS schema, p.proname AS name, p.prokind AS kind, pg_catalog.pg_get_userbyid(p.proowner) AS owner,
            (SELECT string_agg(${TYPE_NAME("a.t")}, ',' ORDER BY a.i) FROM unnest(p.proargtypes) WITH ORDINALITY a(t, i)) AS args,
            ${aclColumn("p.proacl", "p.proowner", "f")}
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE NOT ${SYSTEM_SCHEMA("n.nspname")} AND ${NOT_EXTENSION_MEMBER("pg_catalog.pg_proc", "p.oid")}`)) {
        if (!scope.schema(row.schema))
            continue;
        const signature = `${displayName(row.name)}(${row.args ?? ""})`;
        pushTo(functions, row.schema, (KIND_PREFIX[row.kind] ?? "") + signature);
        const word = row.kind === "p" ? "procedure" : row.kind === "a" ? "aggregate" : "function";
        noteObject(collector, `${word} ${displayName(row.schema)}.`, signature, row.owner, row);
    }
    const types = new Map();
    const TYPE_WORDS = { d: "domain", c: "composite", r: "range", e: "enum" };
    for (const row of await query(`SELECT n.nspname AS schema, t.typname AS name, t.typtype AS type, pg_catalog.pg_get_userbyid(t.typowner) AS owner,
            ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels,
            ${aclColumn("t.typacl", "t.typowner", "T")}
       FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      WHERE t.typtype IN ('d', 'e', 'r', 'c') AND NOT ${SYSTEM_SCHEMA("n.nspname")}
        AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')
        AND ${NOT_EXTENSION_MEMBER("pg_catalog.pg_type", "t.oid")}`)) {
        if (!scope.schema(row.schema))
            continue;
        const word = TYPE_WORDS[row.type];
        setIn(types, row.schema, row.name, row.type === "e" ? `enum(${row.labels.join(",")})` : word);
        const prefix = `${word === "enum" ? "type" : word} ${displayName(row.schema)}.`;
        noteObject(collector, prefix, displayName(row.name), row.owner, row);
    }
    // Default privileges: per schema ones follow the schema, global ones are outside schemas.
    const defaultAcls = new Map();
    const OBJECT_TYPES = {
        r: "tables",
        S: "sequences",
        f: "functions",
        T: "types",
        n: "schemas",
    };
    for (const row of await query(`SELECT pg_catalog.pg_get_userbyid(d.defaclrole) AS role, n.nspname AS schema, d.defaclobjtype AS type,
            ARRAY(SELECT CASE WHEN a.grantee = 0 THEN '' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END
                         || '=' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END
                    FROM pg_catalog.aclexplode(d.defaclacl) a) AS acl
       FROM pg_catalog.pg_default_acl d LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace`)) {
        if (row.schema === null ? !scope.globals : !scope.schema(row.schema))
            continue;
        const where = row.schema === null ? "*" : displayName(row.schema);
        defaultAcls.set(`${row.role} in ${where} on ${OBJECT_TYPES[row.type] ?? row.type}`, compactAcl(row.acl));
    }
    // Publications: the objects are outside schemas; a member table counts when it is in scope.
    const publications = new Map();
    const extensions = new Map();
    const casts = new Map();
    const foreignDataWrappers = [];
    const foreignServers = new Map();
    const userMappings = [];
    const eventTriggers = new Map();
    let largeObjects = { count: 0, owners: {}, acl: {} };
    if (scope.globals) {
        const members = new Map();
        for (const row of await query(`SELECT p.pubname AS publication, r.prrelid::text AS table
         FROM pg_catalog.pg_publication_rel r JOIN pg_catalog.pg_publication p ON p.oid = r.prpubid`)) {
            if (inScope.has(row.table))
                pushTo(members, row.publication, relationName(row.table));
        }
        const memberSchemas = new Map();
        // FOR TABLES IN SCHEMA: PostgreSQL 15 and later.
        const schemaMembers = serverVersion < 150000
            ? []
            : await query(`SELECT p.pubname AS publication, n.nspname AS schema
               FROM pg_catalog.pg_publication_namespace pn
               JOIN pg_catalog.pg_publication p ON p.oid = pn.pnpubid
               JOIN pg_catalog.pg_namespace n ON n.oid = pn.pnnspid`);
        for (const row of schemaMembers) {
            if (scope.schema(row.schema))
                pushTo(memberSchemas, row.publication, displayName(row.schema));
        }
        for (const row of await query(`SELECT pubname AS name, pg_catalog.pg_get_userbyid(pubowner) AS owner, puballtables AS all, pubviaroot AS root,
              concat_ws(',', CASE WHEN pubinsert THEN 'insert' END, CASE WHEN pubupdate THEN 'update' END,
                        CASE WHEN pubdelete THEN 'delete' END, CASE WHEN pubtruncate THEN 'truncate' END) AS operations
         FROM pg_catalog.pg_publication`)) {
            publications.set(row.name, {
                allTables: row.all,
                operations: row.operations + (row.root ? " via root" : ""),
                tables: sorted(members.get(row.name) ?? []),
                schemas: sorted(memberSchemas.get(row.name) ?? []),
            });
            collector.owners.set(`publication ${displayName(row.name)}`, row.owner);
        }
        for (const row of await query(`SELECT e.extname AS name, e.extversion AS version, n.nspname AS schema
         FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace`)) {
            if (!scope.ignored(row.schema))
                extensions.set(row.name, row.version);
        }
        const CAST_METHODS = { b: "binary", i: "inout" };
        const CAST_CONTEXTS = { i: "implicit", a: "assignment", e: "explicit" };
        for (const row of await query(`SELECT ${TYPE_NAME("c.castsource")} AS source, ${TYPE_NAME("c.casttarget")} AS target,
              c.castmethod AS method, c.castcontext AS context,
              CASE WHEN c.castfunc <> 0 THEN
                (SELECT fn.nspname || '.' || f.proname FROM pg_catalog.pg_proc f
                   JOIN pg_catalog.pg_namespace fn ON fn.oid = f.pronamespace WHERE f.oid = c.castfunc) END AS func
         FROM pg_catalog.pg_cast c
        WHERE c.oid >= 16384 AND ${NOT_EXTENSION_MEMBER("pg_catalog.pg_cast", "c.oid")}`)) {
            const method = row.func ? `function ${row.func}` : (CAST_METHODS[row.method] ?? row.method);
            casts.set(`${row.source} AS ${row.target}`, `${method} ${CAST_CONTEXTS[row.context] ?? row.context}`);
        }
        for (const row of await query(`SELECT w.fdwname AS name, pg_catalog.pg_get_userbyid(w.fdwowner) AS owner, ${aclColumn("w.fdwacl", "w.fdwowner", "F")}
         FROM pg_catalog.pg_foreign_data_wrapper w`)) {
            foreignDataWrappers.push(row.name);
            noteObject(collector, "foreign-data wrapper ", displayName(row.name), row.owner, row);
        }
        for (const row of await query(`SELECT s.srvname AS name, pg_catalog.pg_get_userbyid(s.srvowner) AS owner, w.fdwname AS wrapper,
              ${aclColumn("s.srvacl", "s.srvowner", "S")}
         FROM pg_catalog.pg_foreign_server s JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw`)) {
            foreignServers.set(row.name, row.wrapper);
            noteObject(collector, "server ", displayName(row.name), row.owner, row);
        }
        // pg_user_mappings, not pg_user_mapping: the catalog needs superuser, and options are not read.
        for (const row of await query(`SELECT usename AS user, srvname AS server FROM pg_catalog.pg_user_mappings`)) {
            userMappings.push(`${row.user}@${row.server}`);
        }
        const EVENT_STATES = { O: "enabled", D: "disabled", R: "replica", A: "always" };
        for (const row of await query(`SELECT evtname AS name, evtevent AS event, evtenabled AS enabled, pg_catalog.pg_get_userbyid(evtowner) AS owner
         FROM pg_catalog.pg_event_trigger`)) {
            eventTriggers.set(row.name, `${row.event} ${EVENT_STATES[row.enabled] ?? row.enabled}`);
            collector.owners.set(`event trigger ${displayName(row.name)}`, row.owner);
        }
        const loOwners = new Map();
        const loAcl = new Map();
        let count = 0;
        for (const row of await query(`SELECT m.oid::text AS oid, pg_catalog.pg_get_userbyid(m.lomowner) AS owner,
              ${aclColumn("m.lomacl", "m.lomowner", "L")}
         FROM pg_catalog.pg_largeobject_metadata m`)) {
            count++;
            loOwners.set(row.owner, (loOwners.get(row.owner) ?? 0) + 1);
            const acl = recordedAcl(row);
            if (acl)
                loAcl.set(row.oid, acl);
        }
        largeObjects = {
            count,
            owners: sortedRecord(loOwners),
            acl: Object.fromEntries([...loAcl].sort((a, b) => Number(a[0]) - Number(b[0]))),
        };
    }
    // The most common owner stands for all; only the exceptions are listed.
    const ownerCounts = new Map();
    for (const owner of collector.owners.values())
        ownerCounts.set(owner, (ownerCounts.get(owner) ?? 0) + 1);
    const owner = sorted(ownerCounts.keys()).sort((a, b) => ownerCounts.get(b) - ownerCounts.get(a))[0] ?? "";
    const exceptions = new Map([...collector.owners].filter(([, value]) => value !== owner));
    const bySchema = (map) => sortedRecord(map, sorted);
    const fingerprint = {
        version: CATALOG_FINGERPRINT_VERSION,
        globals: scope.globals,
        database: {
            encoding: database.encoding,
            collate: database.collate,
            ctype: database.ctype,
            settings,
            roleSettings: sortedRecord(roleSettings),
        },
        schemas: sorted(schemas),
        tables: bySchema(lists.r),
        partitionedTables: bySchema(lists.p),
        views: bySchema(lists.v),
        materializedViews: bySchema(lists.m),
        foreignTables: bySchema(lists.f),
        sequences: nested(sequences),
        descendingSequences: sorted(descendingSequences),
        partitionOf: sortedRecord(partitionOf),
        inherits: sortedRecord(inherits),
        constraints: sortedRecord(constraints, (perTable) => sortedRecord(perTable, sorted)),
        indexes: bySchema(indexes),
        triggers: bySchema(triggers),
        rowSecurity: sortedRecord(rowSecurity),
        policies: nested(policies),
        functions: bySchema(functions),
        types: nested(types),
        extensions: sortedRecord(extensions),
        casts: sortedRecord(casts),
        foreignDataWrappers: sorted(foreignDataWrappers),
        foreignServers: sortedRecord(foreignServers),
        userMappings: sorted(userMappings),
        eventTriggers: sortedRecord(eventTriggers),
        publications: sortedRecord(publications),
        defaultAcls: sortedRecord(defaultAcls),
        acl: sortedRecord(collector.acl, (groups) => sortedRecord(groups, sorted)),
        owner,
        owners: sortedRecord(exceptions),
        largeObjects,
    };
    return { fingerprint, sequenceOids: sequenceNames };
}
/**
 * Sequence values, on an idle connection, by statements of bounded size: each statement is its own
 * transaction, and the lock that reading a sequence takes ends with it. Read from the sequences
 * themselves: pg_sequence_last_value() says nothing of a sequence set with is_called = false
 * (setval(s, n, false), or never used), which pg_dump does restore. Such a value is written
 * "next <n>": the next nextval() returns n. Unreadable (no SELECT privilege): null.
 */
async function readSequenceValues(client, sequences) {
    const values = new Map();
    const oids = [...sequences.keys()];
    const read = async (batch) => {
        const sql = batch
            .map((oid) => {
            const [schema, name] = sequences.get(oid);
            return `SELECT '${oid}' AS oid, last_value::text AS value, is_called FROM ${quoteIdent(schema)}.${quoteIdent(name)}`;
        })
            .join("\nUNION ALL ");
        const { rows } = await client.query(sql);
        for (const row of rows)
            values.set(row.oid, row.is_called ? row.value : `next ${row.value}`);
    };
    for (let start = 0; start < oids.length; start += SEQUENCE_BATCH) {
        // Only the ones still there (dropped since the catalog read: not found) and readable.
        const { rows } = await client.query(`SELECT c.oid::text AS oid FROM pg_catalog.pg_class c
        WHERE c.oid = ANY($1::oid[])
          -- CASE fixes the order: has_sequence_privilege() fails on anything but a sequence.
          AND CASE WHEN c.relkind = 'S' THEN pg_catalog.has_sequence_privilege(c.oid, 'SELECT') ELSE false END`, [oids.slice(start, start + SEQUENCE_BATCH)]);
        const batch = rows.map((row) => row.oid);
        if (batch.length === 0)
            continue;
        try {
            await read(batch);
        }
        catch {
            // One dropped between the two statements spoils its batch: read the others one by one.
            for (const oid of batch)
                await read([oid]).catch(() => undefined);
        }
    }
    return values;
}
/** The fingerprint as stored: canonical JSON (keys already in a fixed order). */
function serializeFingerprint(fingerprint) {
    return JSON.stringify(fingerprint);
}

;// CONCATENATED MODULE: ./src/postgres/catalog-check.ts





/**
 * What the fingerprint covers for a dump of `scope`: the same selection as pg_dump's, the managed
 * platform's schemas left out on both sides, and objects outside schemas only when the dump has
 * them (`globals` false: pg_dump's --extension turns them off, as -n and -t do).
 */
function fingerprintScopeFor(scope, preset, globals) {
    return {
        includeSchemas: scope.includeSchemas,
        excludeSchemas: scope.excludeSchemas,
        includeTables: scope.includeTables,
        excludeTables: scope.excludeTables,
        schemaOnly: scope.schemaOnly,
        ...(preset === "supabase" ? { ignoreSchemas: SUPABASE_PLATFORM_SCHEMAS } : {}),
        ...(globals === undefined ? {} : { globals }),
    };
}
/** The manifest's fingerprint when this code can compare with it; otherwise why not, in one line. */
function usableCatalog(manifest) {
    const { catalog } = manifest;
    if (!catalog) {
        return {
            notice: `the catalog comparison is skipped: backup ${manifest.backupId} has no catalog fingerprint (made before Lifeboat recorded one, or data-only)`,
        };
    }
    if (catalog.version !== CATALOG_FINGERPRINT_VERSION) {
        return {
            notice: `the catalog comparison is skipped: backup ${manifest.backupId} has a catalog fingerprint of version ${String(catalog.version)}, this Lifeboat reads version ${CATALOG_FINGERPRINT_VERSION}`,
        };
    }
    return { catalog };
}
/**
 * Creates, NOLOGIN, every role the fingerprint names (owners, grantees, policy roles) that the
 * server lacks, so that the archive's ownership and grants apply in full: pg_restore sends all
 * grants of an object as one statement, and one unknown grantee loses all of them. Roles are
 * cluster-wide; they are left in place afterwards, like the roles object's.
 */
async function createReferencedRoles(client, catalog) {
    const wanted = referencedRoles(catalog);
    const { rows } = await client.query("SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY($1::text[])", [wanted]);
    const present = new Set(rows.map((row) => row.rolname));
    const out = { created: [], missing: [] };
    for (const role of wanted) {
        if (present.has(role))
            continue;
        try {
            await client.query(`CREATE ROLE ${quoteIdent(role)} NOLOGIN`);
            out.created.push(role);
        }
        catch (error) {
            // Another restore-test on the same server may have created it meanwhile.
            if (error.code === "42710")
                continue;
            out.missing.push({ role, error: (0,domain_errors/* describeError */.Uc)(error) });
        }
    }
    return out;
}
/**
 * Fingerprints the restored database (`client`, idle) with the dump's scope and compares it with
 * the source's. pg_restore options that leave objects out on purpose turn those objects' absence
 * into warnings.
 */
async function compareRestoredCatalog(client, source, options) {
    const restored = await takeCatalogFingerprint(client, { ...options.scope, globals: source.globals });
    const { rows } = await client.query("SELECT current_user AS restorer, rolsuper AS superuser FROM pg_catalog.pg_roles WHERE rolname = current_user");
    const args = new Set(options.pgRestoreArgs);
    const comparison = diffCatalog(source, restored, {
        superuser: rows[0]?.superuser ?? false,
        restorer: rows[0]?.restorer ?? "",
        noOwner: args.has("--no-owner"),
        noPrivileges: args.has("--no-privileges") || args.has("--no-acl"),
        missingRoles: options.missingRoles,
        databaseSettingsRestored: false,
    });
    const leftOut = [
        ["--no-publications", /^publication /],
        ["--no-policies", /^policy /],
    ];
    const differences = comparison.differences.map((difference) => {
        const option = leftOut.find(([name, object]) => args.has(name) && object.test(difference.object));
        return difference.severity === "failure" && option
            ? { ...difference, severity: "warning", reason: `${option[0]}: left out on purpose` }
            : difference;
    });
    differences.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "failure" ? -1 : 1));
    return {
        failures: differences.filter((difference) => difference.severity === "failure").length,
        warnings: differences.filter((difference) => difference.severity === "warning").length,
        differences,
    };
}
/** The catalog's warnings and notices as check-record and report lines. */
function catalogWarnings(catalog) {
    return [
        ...catalog.notices,
        ...catalog.differences
            .filter((d) => d.severity === "warning")
            .map((d) => `catalog ${formatDifference(d)}`),
    ];
}

;// CONCATENATED MODULE: ./src/report/format.ts
/** Human-readable sizes and durations for tables and log lines. */
function formatBytes(bytes) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit++;
    }
    return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}
function formatAge(seconds) {
    if (seconds < 90)
        return `${Math.round(seconds)}s`;
    if (seconds < 90 * 60)
        return `${Math.round(seconds / 60)}m`;
    if (seconds < 36 * 3600)
        return `${(seconds / 3600).toFixed(1)}h`;
    return `${(seconds / 86400).toFixed(1)}d`;
}
/** A plain-text table with aligned columns. */
function formatTable(header, rows) {
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
    const line = (cells) => cells
        .map((cell, column) => cell.padEnd(widths[column]))
        .join("  ")
        .trimEnd();
    return [line(header), ...rows.map(line)].join("\n");
}

;// CONCATENATED MODULE: ./src/report/prune-report.ts

function formatStarted(iso) {
    return iso.replace("T", " ").replace(/\.\d{3}Z$/, "");
}
function verdict(decision, dryRun) {
    if (decision.action === "keep")
        return "keep";
    if (dryRun)
        return "would delete";
    return decision.deleted === false ? "DELETE FAILED" : "deleted";
}
/** Every decision, newest first, with its reasons: what --dry-run prints. */
function formatPruneDecisions(result) {
    if (result.decisions.length === 0)
        return `no backups under ${result.storage}/${result.label}/`;
    return formatTable(["BACKUP ID", "STARTED (UTC)", "SIZE", "VERIFIED", "DECISION", "REASONS"], result.decisions.map((decision) => [
        decision.backupId,
        formatStarted(decision.startedAt),
        formatBytes(decision.bytes),
        !decision.committed ? "-" : decision.verified ? "yes" : "no",
        verdict(decision, result.dryRun),
        decision.reasons.join("; "),
    ]));
}
/** One line: `kept 12 backups; deleted 3 backups and 1 incomplete folder, 1.2 GiB freed`. */
function formatPruneTotals(result) {
    const folders = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;
    const deleted = result.dryRun ? "would delete" : "deleted";
    const freed = result.dryRun ? "would be freed" : "freed";
    const incomplete = result.deletedIncomplete
        ? ` and ${folders(result.deletedIncomplete, "incomplete folder")}`
        : "";
    const keptIncomplete = result.keptIncomplete
        ? ` (and ${folders(result.keptIncomplete, "folder")} without a manifest, younger than the safe age or locked)`
        : "";
    return (`${result.dryRun ? "dry run: " : ""}kept ${folders(result.kept, "backup")}${keptIncomplete}; ` +
        `${deleted} ${folders(result.deletedBackups, "backup")}${incomplete}, ${formatBytes(result.freedBytes)} ${freed}` +
        (result.failed.length ? `; ${result.failed.length} object(s) could not be deleted` : ""));
}

;// CONCATENATED MODULE: ./src/report/report.ts





/** Rows of one table in a report; the renderers cut further for smaller targets. */
const SECTION_ROWS = 500;
/** Characters of a log kept in a report section (its end: where the error is). */
const LOG_TAIL = 8000;
function tail(text, max = LOG_TAIL) {
    if (text.length <= max)
        return text;
    return `... (${text.length - max} earlier characters left out)\n${text.slice(-max)}`;
}
function verdictOf(failed, warnings) {
    if (failed)
        return "fail";
    return warnings.length > 0 ? "warn" : "pass";
}
function merge(...lists) {
    return [...new Set(lists.flatMap((list) => list ?? []))];
}
function seconds(value) {
    return `${value}s`;
}
function encryptionText(manifest) {
    if (manifest.encryption.format === "none")
        return "none";
    return manifest.encryption.passphrase
        ? "age (passphrase)"
        : `age, ${manifest.encryption.recipients.length} recipient(s)`;
}
function buildBackupReport(result, context) {
    const { manifest } = result;
    const warnings = merge(context.loggedWarnings);
    return {
        action: "backup-db",
        label: result.label,
        verdict: verdictOf(false, warnings),
        title: `Lifeboat backup: ${result.label}`,
        headline: `Backup ${result.backupId} stored: ${formatBytes(result.storedBytes)} in ${seconds(result.durationSeconds)}, ${manifest.tables.length} tables, ${manifest.totalRows} rows.`,
        backupId: result.backupId,
        facts: [
            { label: "Backup", value: result.backupId },
            { label: "Storage", value: `${context.storageUrl}/${result.backupKey}` },
            { label: "Stored", value: formatBytes(result.storedBytes) },
            { label: "Tables", value: String(manifest.tables.length) },
            { label: "Rows", value: String(manifest.totalRows) },
            { label: "Duration", value: seconds(result.durationSeconds) },
            { label: "Encryption", value: encryptionText(manifest) },
        ],
        failures: [],
        warnings,
        sections: [
            {
                title: "Source",
                text: `PostgreSQL ${manifest.source.serverVersion} (${manifest.source.database}), pg_dump ${manifest.tool.pgDumpVersion}, compression ${manifest.dump.compression}. sha256 of the stored object: \`${result.sha256}\``,
            },
        ],
        runUrl: context.runUrl,
        history: null,
    };
}
function buildVerifyReport(result, context) {
    const warnings = merge(result.warnings, context.loggedWarnings);
    return {
        action: "verify-backup",
        label: context.label,
        verdict: verdictOf(!result.verified, warnings),
        title: `Lifeboat verify: ${context.label} ${result.verified ? "passed" : "FAILED"}`,
        headline: result.verified
            ? `Backup ${result.backupId} verified (${result.kind === "verify-deep" ? "decrypted and read" : "stored object checked"}).`
            : `Backup ${result.backupId} failed verification: ${result.failures[0] ?? "see the failures"}`,
        backupId: result.backupId,
        facts: [
            { label: "Backup", value: result.backupId },
            {
                label: "Check",
                value: result.kind === "verify-deep" ? "decrypted, archive read" : "stored object sha256",
            },
            { label: "Result", value: result.verified ? "pass" : "fail" },
            { label: "Stored", value: formatBytes(result.storedBytes) },
            { label: "Age", value: formatAge(result.backupAgeSeconds) },
            ...(result.tablesListed === undefined
                ? []
                : [{ label: "Tables in archive", value: String(result.tablesListed) }]),
        ],
        failures: result.failures,
        warnings,
        sections: [],
        runUrl: context.runUrl,
        history: null,
    };
}
function buildRestoreTestReport(result, context) {
    const warnings = merge([
        ...result.toleratedErrors.map((error) => `tolerated pg_restore error: ${error}`),
        ...catalogWarnings(result.catalog),
    ], context.loggedWarnings);
    const passedAssertions = result.assertions.filter((assertion) => assertion.passed).length;
    const sections = [];
    if (result.mismatches.length > 0) {
        sections.push({
            title: `Row count mismatches (${result.mismatches.length})`,
            table: {
                header: ["Table", "Manifest", "Restored"],
                rows: result.mismatches
                    .slice(0, SECTION_ROWS)
                    .map((row) => [
                    row.table,
                    String(row.expected),
                    row.actual === null ? "missing" : String(row.actual),
                ]),
            },
        });
    }
    if (result.assertions.length > 0) {
        sections.push({
            title: `Assertions (${passedAssertions}/${result.assertions.length} passed)`,
            collapsed: passedAssertions === result.assertions.length,
            table: {
                header: ["Result", "SQL", "Detail"],
                rows: result.assertions
                    .slice(0, SECTION_ROWS)
                    .map((assertion) => [
                    assertion.passed ? "pass" : "FAIL",
                    oneLine(assertion.sql, 200),
                    assertion.detail,
                ]),
            },
        });
    }
    if (result.catalog.differences.length > 0) {
        sections.push({
            title: `Catalog differences (${result.catalog.failures} failures, ${result.catalog.warnings} warnings)`,
            collapsed: result.catalog.failures === 0,
            code: result.catalog.differences.map(formatDifference).join("\n"),
        });
    }
    if (result.run) {
        sections.push({
            title: "Command output",
            collapsed: true,
            code: tail(result.run.output),
        });
    }
    if (result.pgRestoreLog.trim()) {
        sections.push({ title: "pg_restore log", collapsed: true, code: tail(result.pgRestoreLog) });
    }
    return {
        action: "restore-test",
        label: context.label,
        verdict: verdictOf(!result.passed, warnings),
        title: `Lifeboat restore-test: ${context.label} ${result.passed ? "passed" : "FAILED"}`,
        headline: result.passed
            ? `Backup ${result.backupId} restored in ${seconds(result.restoreSeconds)}; ${result.tablesChecked} tables match the manifest's row counts.`
            : `Restore-test of ${result.backupId} failed: ${result.failures[0] ?? "see the failures"}`,
        backupId: result.backupId,
        facts: [
            { label: "Backup", value: result.backupId },
            { label: "Restore", value: `${seconds(result.restoreSeconds)} (${result.mode})` },
            { label: "Tables checked", value: String(result.tablesChecked) },
            { label: "Mismatches", value: String(result.mismatches.length) },
            {
                label: "Catalog",
                value: result.catalog.compared
                    ? `${result.catalog.failures} failures, ${result.catalog.warnings} warnings`
                    : "not compared",
            },
            { label: "Assertions", value: `${passedAssertions}/${result.assertions.length}` },
            { label: "Command", value: result.run ? `exit ${result.run.exitCode ?? "killed"}` : "-" },
        ],
        failures: result.failures,
        warnings,
        sections,
        runUrl: context.runUrl,
        history: null,
    };
}
function decisionRows(decisions, verdict) {
    return decisions
        .slice(0, SECTION_ROWS)
        .map((decision) => [
        decision.backupId,
        formatStarted(decision.startedAt),
        formatBytes(decision.bytes),
        !decision.committed ? "no manifest" : decision.verified ? "yes" : "no",
        verdict(decision),
        decision.reasons.join("; "),
    ]);
}
function buildPruneReport(result, context) {
    const warnings = merge(result.warnings, context.loggedWarnings);
    const failed = result.failed.length > 0;
    const kept = result.decisions.filter((decision) => decision.action === "keep");
    const removed = result.decisions.filter((decision) => decision.action === "delete");
    const header = (last) => ["Backup", "Started (UTC)", "Size", "Verified", last, "Reasons"];
    const more = (count) => (count > SECTION_ROWS ? ` ... and ${count - SECTION_ROWS} more.` : "");
    const sections = [
        {
            title: `Kept (${kept.length})`,
            table: { header: header("Kept"), rows: decisionRows(kept, () => "kept") },
            ...(kept.length > SECTION_ROWS ? { text: more(kept.length) } : {}),
        },
    ];
    if (removed.length > 0) {
        const verb = result.dryRun ? "Would delete" : "Deleted";
        sections.push({
            title: `${verb} (${removed.length})`,
            table: {
                header: header(verb),
                rows: decisionRows(removed, (decision) => result.dryRun ? "would delete" : decision.deleted ? "deleted" : "FAILED"),
            },
            ...(removed.length > SECTION_ROWS ? { text: more(removed.length) } : {}),
        });
    }
    return {
        action: "prune",
        label: result.label,
        verdict: verdictOf(failed, warnings),
        title: `Lifeboat prune: ${result.label}${result.dryRun ? " (dry run)" : ""}`,
        headline: `${formatPruneTotals(result)}. Storage: \`${result.storage}/${result.label}/\``,
        backupId: null,
        facts: [
            { label: "Kept", value: String(result.kept) },
            { label: result.dryRun ? "Would delete" : "Deleted", value: String(result.deleted) },
            { label: result.dryRun ? "Would free" : "Freed", value: formatBytes(result.freedBytes) },
            { label: "Mode", value: result.dryRun ? "dry run" : "delete" },
        ],
        failures: result.failed.slice(0, SECTION_ROWS).map((item) => `${item.key}: ${item.reason}`),
        warnings,
        sections,
        runUrl: context.runUrl,
        history: null,
    };
}
function buildRestoreReport(result, context) {
    const warnings = merge(context.loggedWarnings);
    const sections = [];
    if (result.rowCheck) {
        sections.push({
            title: "Row counts",
            text: `${result.rowCheck.tablesChecked} tables, ${result.rowCheck.mismatches.length} with a row count that differs from the manifest.`,
            ...(result.rowCheck.mismatches.length > 0
                ? {
                    table: {
                        header: ["Table", "Manifest", "Restored"],
                        rows: result.rowCheck.mismatches
                            .slice(0, SECTION_ROWS)
                            .map((row) => [
                            row.table,
                            String(row.expected),
                            row.actual === null ? "missing" : String(row.actual),
                        ]),
                    },
                }
                : {}),
        });
    }
    if (result.safetyBackup) {
        sections.push({
            title: "Undo",
            text: `To undo this restore, restore the safety backup: backup \`${result.safetyBackup.backupId}\` under label \`${result.safetyBackup.label}\`.`,
        });
    }
    if (result.pgRestoreLog.trim()) {
        sections.push({ title: "pg_restore log", collapsed: true, code: tail(result.pgRestoreLog) });
    }
    return {
        action: "restore-db",
        label: result.label,
        verdict: verdictOf(!result.passed, warnings),
        title: `Lifeboat restore: ${result.label}/${result.backupId} into ${result.targetDatabase} ${result.passed ? "done" : "FAILED"}`,
        headline: result.passed
            ? `Backup ${result.backupId} restored into ${result.targetDatabase} in ${seconds(result.restoreSeconds)}.`
            : `Restore of ${result.backupId} into ${result.targetDatabase} failed: ${result.failures[0] ?? "see the failures"}`,
        backupId: result.backupId,
        facts: [
            { label: "Backup", value: `${result.label}/${result.backupId}` },
            { label: "Target", value: `${result.targetServer}/${result.targetDatabase}` },
            {
                label: "Scope",
                value: result.pgRestoreArgs.length > 0 ? result.pgRestoreArgs.join(" ") : "whole database",
            },
            { label: "Read", value: formatBytes(result.bytesRead) },
            { label: "Restore", value: seconds(result.restoreSeconds) },
            {
                label: "Safety backup",
                value: result.safetyBackup ? `${result.safetyBackup.label}/${result.safetyBackup.backupId}` : "none",
            },
        ],
        failures: result.failures,
        warnings,
        sections,
        runUrl: context.runUrl,
        history: null,
    };
}
const ACTION_WORD = {
    "backup-db": "backup",
    "verify-backup": "verify",
    "restore-test": "restore-test",
    prune: "prune",
    "restore-db": "restore",
};
/**
 * The report of a command that threw before it had a result: bad input, a store or database that
 * could not be reached, a dump that died. The failure is still reported (Slack on failure is for
 * exactly this), with the same one line the step fails with.
 */
function buildErrorReport(action, error, context) {
    const badInput = error instanceof domain_errors/* LifeboatError */.H3 && error.exitCode === 2;
    const message = `${badInput ? "bad input: " : ""}${(0,domain_errors/* describeError */.Uc)(error)}`;
    return {
        action,
        label: context.label,
        verdict: "fail",
        title: `Lifeboat ${ACTION_WORD[action]}: ${context.label} FAILED`,
        headline: message,
        backupId: null,
        facts: [
            { label: "Label", value: context.label },
            { label: "Result", value: badInput ? "bad input or configuration (nothing written)" : "failed" },
        ],
        failures: [message],
        warnings: merge(context.loggedWarnings),
        sections: [],
        runUrl: context.runUrl,
        history: null,
    };
}
function oneLine(text, max) {
    const line = text.replace(/\s+/g, " ").trim();
    return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}
/** The hidden marker that finds a report's pull request comment again: one per action and label. */
function reportMarker(report) {
    const label = report.label.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 64) || "_";
    return `<!-- lifeboat:report ${report.action} ${label} -->`;
}
/** Whether notify-on asks for a message about this verdict. */
function shouldNotify(notifyOn, verdict) {
    switch (notifyOn) {
        case "always":
            return true;
        case "never":
            return false;
        case "failure":
            return verdict === "fail";
        case "success":
            return verdict !== "fail";
    }
}
const VERDICT_EMOJI = { pass: "✅", warn: "⚠️", fail: "❌" };
const VERDICT_WORD = {
    pass: "passed",
    warn: "passed with warnings",
    fail: "failed",
};
/** Figures of a history in one line, for Slack and the summary: age of the newest, success rate. */
function historyLine(history) {
    const { stats } = history;
    const parts = [];
    parts.push(stats.newestAgeSeconds === null
        ? "no backup yet"
        : `newest backup ${formatAge(stats.newestAgeSeconds)} old`);
    if (stats.attempts > 0) {
        parts.push(`${stats.succeeded}/${stats.attempts} succeeded (${Math.round((stats.successRate ?? 0) * 100)}%) over the last ${stats.attempts} backup${stats.attempts === 1 ? "" : "s"}`);
    }
    if (stats.restoreTested > 0)
        parts.push(`${stats.restoreTested} restore-tested`);
    return parts.join(" · ");
}

;// CONCATENATED MODULE: ./src/domain/compression.ts
/**
 * Lifeboat's own compression of the dump (pg_dump writes -Z0): the method and level a user asks
 * for with `--compression`, parsed once.
 */

/**
 * Level 1 of zstd: on a pgbench-style archive it stores within 1-2% of level 3's size at about
 * 1.5x its speed (docs/benchmarks.md, "Compression engine"), and compression is the pipeline's
 * bottleneck once pg_dump stops compressing.
 */
const DEFAULT_ZSTD_LEVEL = 1;
/** gzip's fastest level: the gzip option is for compatibility, not for size. */
const DEFAULT_GZIP_LEVEL = 1;
const DEFAULT_COMPRESSION = { method: "zstd", level: DEFAULT_ZSTD_LEVEL };
const LEVELS = { zstd: [1, 22], gzip: [1, 9] };
const EXPECTED = "expected zstd[:1-22], gzip[:1-9] or none";
/** Parses `zstd`, `zstd:N`, `gzip`, `gzip:N` or `none` (an InputError naming --compression otherwise). */
function parseCompression(text) {
    const value = text.trim().toLowerCase();
    const fail = (why) => {
        throw new domain_errors/* InputError */.dz(`--compression "${text}": ${why}`, { input: "compression" });
    };
    if (value === "none")
        return { method: "none" };
    const match = /^(zstd|gzip)(?::(\d{1,3}))?$/.exec(value);
    if (!match)
        return fail(EXPECTED);
    const method = match[1];
    const [min, max] = LEVELS[method];
    const level = match[2] === undefined ? (method === "zstd" ? DEFAULT_ZSTD_LEVEL : DEFAULT_GZIP_LEVEL) : Number(match[2]);
    if (level < min || level > max)
        fail(`${method} levels go from ${min} to ${max}`);
    return { method, level };
}
/** The canonical text of a spec, as the manifest records it: `zstd:1`, `gzip:6`, `none`. */
function formatCompression(spec) {
    return spec.method === "none" ? "none" : `${spec.method}:${spec.level}`;
}

;// CONCATENATED MODULE: ./src/domain/dump-plan.ts
/**
 * pg_dump's command line, built from the user's scope: pure, so the same arguments are tested,
 * recorded in the manifest and run.
 */

/**
 * Lifeboat's own compression of the dump (`--compression`): zstd[:N], gzip[:N] or none, and `auto`
 * (the default) for zstd:1. pg_dump itself always writes uncompressed (-Z0): its compression runs in
 * its one thread, gzip only before pg_dump 16, and an uncompressed archive is what the archive tap
 * reads rows from (docs/benchmarks.md).
 */
function dump_plan_parseCompression(text) {
    const value = text.trim().toLowerCase();
    if (value === "" || value === "auto")
        return DEFAULT_COMPRESSION;
    return parseCompression(text);
}
/** What pg_dump is asked for: no compression, spelled the way every major since 9 reads it. */
const PG_DUMP_COMPRESS = "--compress=0";
function emptyScope() {
    return {
        schemaOnly: false,
        dataOnly: false,
        includeSchemas: [],
        excludeSchemas: [],
        includeTables: [],
        excludeTables: [],
        excludeTableData: [],
    };
}
/** pg_dump's arguments, connection excepted (the adapter adds --dbname and the password env). */
function buildPgDumpArgs(options) {
    const { scope } = options;
    const args = ["--format=custom", PG_DUMP_COMPRESS, "--no-password"];
    if (options.snapshot)
        args.push(`--snapshot=${options.snapshot}`);
    if (scope.schemaOnly)
        args.push("--schema-only");
    if (scope.dataOnly)
        args.push("--data-only");
    for (const pattern of scope.includeSchemas)
        args.push(`--schema=${pattern}`);
    for (const pattern of scope.excludeSchemas)
        args.push(`--exclude-schema=${pattern}`);
    for (const pattern of scope.includeTables)
        args.push(`--table=${pattern}`);
    for (const pattern of scope.excludeTables)
        args.push(`--exclude-table=${pattern}`);
    for (const pattern of scope.excludeTableData)
        args.push(`--exclude-table-data=${pattern}`);
    args.push(...options.extraArgs);
    return args;
}

;// CONCATENATED MODULE: ./src/domain/pg-args.ts
/**
 * The extra arguments a user may hand to pg_dump (`--pg-dump-args`) and pg_restore
 * (`--pg-restore-args`): read exactly the way the tools' getopt_long reads them, then checked
 * against an allow-list, and passed on in one canonical form.
 *
 * A deny-list of spellings cannot work: glibc's getopt_long takes any unambiguous prefix of a long
 * option (`--dbn=x` is `--dbname=x`), a required argument either after `=` or as the next word
 * (even one that starts with `-`), and clustered short options whose argument is the rest of the
 * cluster (`-Od` is `-O -d`, `-Ofoo` is `-O -f oo`). So the words are tokenized with those rules
 * into (canonical long name, value) pairs, each pair is checked, and what goes on is
 * `--name` / `--name=value`: an exact long name is read the same way by every getopt_long (glibc,
 * BSD, PostgreSQL's own port, which takes no abbreviations), whatever the user typed.
 *
 * The option tables are the union of pg_dump's and pg_restore's `long_options[]` and short-option
 * strings from PostgreSQL 15 to 18, each option tagged with the major that added it. Resolving a
 * prefix against the union is the safe side: a prefix unique in the union is unique (or absent) in
 * every version, and one ambiguous in any version is refused.
 */

function table(rows) {
    return rows.map(([long, short, takesValue, since, aliasOf]) => ({
        long,
        ...(short ? { short } : {}),
        takesValue,
        since: since ?? 15,
        ...(aliasOf ? { aliasOf } : {}),
    }));
}
// pg_dump.c, REL_15 to REL_18: short options "abBcCd:e:E:f:F:h:j:n:N:Op:RsS:t:T:U:vwWxZ:".
// `--restrict-key` came with 15.14, 16.10 and 17.6.
const PG_DUMP_OPTIONS = table([
    ["data-only", "a", false],
    ["blobs", "b", false],
    ["large-objects", undefined, false, 16, "blobs"],
    ["no-blobs", "B", false],
    ["no-large-objects", undefined, false, 16, "no-blobs"],
    ["clean", "c", false],
    ["create", "C", false],
    ["dbname", "d", true],
    ["extension", "e", true],
    ["file", "f", true],
    ["format", "F", true],
    ["host", "h", true],
    ["jobs", "j", true],
    ["no-reconnect", "R", false],
    ["no-owner", "O", false],
    ["port", "p", true],
    ["schema", "n", true],
    ["exclude-schema", "N", true],
    ["schema-only", "s", false],
    ["superuser", "S", true],
    ["table", "t", true],
    ["exclude-table", "T", true],
    ["no-password", "w", false],
    ["password", "W", false],
    ["username", "U", true],
    ["verbose", "v", false],
    ["no-privileges", "x", false],
    ["no-acl", undefined, false, 15, "no-privileges"],
    ["compress", "Z", true],
    ["encoding", "E", true],
    ["help", undefined, false],
    ["version", undefined, false],
    ["attribute-inserts", undefined, false, 15, "column-inserts"],
    ["binary-upgrade", undefined, false],
    ["column-inserts", undefined, false],
    ["disable-dollar-quoting", undefined, false],
    ["disable-triggers", undefined, false],
    ["enable-row-security", undefined, false],
    ["exclude-table-data", undefined, true],
    ["extra-float-digits", undefined, true],
    ["if-exists", undefined, false],
    ["inserts", undefined, false],
    ["lock-wait-timeout", undefined, true],
    ["no-table-access-method", undefined, false],
    ["no-tablespaces", undefined, false],
    ["quote-all-identifiers", undefined, false],
    ["load-via-partition-root", undefined, false],
    ["role", undefined, true],
    ["section", undefined, true],
    ["serializable-deferrable", undefined, false],
    ["snapshot", undefined, true],
    ["strict-names", undefined, false],
    ["use-set-session-authorization", undefined, false],
    ["no-comments", undefined, false],
    ["no-publications", undefined, false],
    ["no-security-labels", undefined, false],
    ["no-subscriptions", undefined, false],
    ["no-toast-compression", undefined, false],
    ["no-unlogged-table-data", undefined, false],
    ["no-sync", undefined, false],
    ["on-conflict-do-nothing", undefined, false],
    ["rows-per-insert", undefined, true],
    ["include-foreign-data", undefined, true],
    ["restrict-key", undefined, true],
    ["table-and-children", undefined, true, 16],
    ["exclude-table-and-children", undefined, true, 16],
    ["exclude-table-data-and-children", undefined, true, 16],
    ["sync-method", undefined, true, 17],
    ["filter", undefined, true, 17],
    ["exclude-extension", undefined, true, 17],
    ["statistics-only", undefined, false, 18],
    ["no-data", undefined, false, 18],
    ["no-schema", undefined, false, 18],
    ["no-statistics", undefined, false, 18],
    ["no-policies", undefined, false, 18],
    ["with-data", undefined, false, 18],
    ["with-schema", undefined, false, 18],
    ["with-statistics", undefined, false, 18],
    ["statistics", undefined, false, 18, "with-statistics"],
    ["sequence-data", undefined, false, 18],
]);
// pg_restore.c, REL_15 to REL_18: short options "acCd:ef:F:h:I:j:lL:n:N:Op:P:RsS:t:T:U:vwWx1".
// `help` and `version` are not in its long_options (only argv[1] is compared with them).
const PG_RESTORE_OPTIONS = table([
    ["clean", "c", false],
    ["create", "C", false],
    ["data-only", "a", false],
    ["dbname", "d", true],
    ["exit-on-error", "e", false],
    ["exclude-schema", "N", true],
    ["file", "f", true],
    ["format", "F", true],
    ["function", "P", true],
    ["host", "h", true],
    ["index", "I", true],
    ["jobs", "j", true],
    ["list", "l", false],
    ["no-privileges", "x", false],
    ["no-acl", undefined, false, 15, "no-privileges"],
    ["no-owner", "O", false],
    ["no-reconnect", "R", false],
    ["port", "p", true],
    ["no-password", "w", false],
    ["password", "W", false],
    ["schema", "n", true],
    ["schema-only", "s", false],
    ["superuser", "S", true],
    ["table", "t", true],
    ["trigger", "T", true],
    ["use-list", "L", true],
    ["username", "U", true],
    ["verbose", "v", false],
    ["single-transaction", "1", false],
    ["disable-triggers", undefined, false],
    ["enable-row-security", undefined, false],
    ["if-exists", undefined, false],
    ["no-data-for-failed-tables", undefined, false],
    ["no-table-access-method", undefined, false],
    ["no-tablespaces", undefined, false],
    ["role", undefined, true],
    ["section", undefined, true],
    ["strict-names", undefined, false],
    ["use-set-session-authorization", undefined, false],
    ["no-comments", undefined, false],
    ["no-publications", undefined, false],
    ["no-security-labels", undefined, false],
    ["no-subscriptions", undefined, false],
    ["restrict-key", undefined, true],
    ["transaction-size", undefined, true, 17],
    ["filter", undefined, true, 17],
    ["no-data", undefined, false, 18],
    ["no-schema", undefined, false, 18],
    ["no-statistics", undefined, false, 18],
    ["no-policies", undefined, false, 18],
    ["statistics-only", undefined, false, 18],
    ["with-data", undefined, false, 18],
    ["with-schema", undefined, false, 18],
    ["with-statistics", undefined, false, 18],
    ["statistics", undefined, false, 18, "with-statistics"],
    ["exclude-database", undefined, true, 18],
    ["no-globals", undefined, false, 18],
]);
/** The tool's options; with `major`, only those that major knows (for tests against a real binary). */
function pgOptionTable(tool, major) {
    const all = tool === "pg_dump" ? PG_DUMP_OPTIONS : PG_RESTORE_OPTIONS;
    return major === undefined ? all : all.filter((option) => option.since <= major);
}
/** Why getopt_long (or the allow-list) refused a word; `written` is the word as the user wrote it. */
class PgArgsSyntaxError extends Error {
    written;
    reason;
    kind;
    constructor(written, reason, 
    /** unknown: the tool has no such option; syntax: the words do not parse. */
    kind = "syntax") {
        super(`"${written}": ${reason}`);
        this.written = written;
        this.reason = reason;
        this.kind = kind;
        this.name = "PgArgsSyntaxError";
    }
}
/**
 * getopt_long's reading of `argv` (glibc, permuting, no POSIXLY_CORRECT), except that anything that
 * is not an option (a positional word, `-`, `""`, or `--` and what follows it) is an error: pg_dump
 * would take it as the database name, pg_restore as the input file.
 */
function tokenizePgArgs(argv, options, tool) {
    const byLong = new Map(options.map((option) => [option.long, option]));
    const byShort = new Map(options.filter((o) => o.short).map((option) => [option.short, option]));
    const canonical = (option) => option.aliasOf ?? option.long;
    const positional = tool === "pg_dump"
        ? "pg_dump would take it as the database name"
        : "pg_restore would read it as the input file";
    const out = [];
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--") {
            const rest = tool === "pg_dump" ? "the database name" : "the input file";
            throw new PgArgsSyntaxError(arg, `it ends the options: what follows would be read as ${rest}`);
        }
        if (arg.startsWith("--")) {
            const body = arg.slice(2);
            const eq = body.indexOf("=");
            const name = eq < 0 ? body : body.slice(0, eq);
            const inline = eq < 0 ? undefined : body.slice(eq + 1);
            if (name === "")
                throw new PgArgsSyntaxError(arg, "not an option");
            let option = byLong.get(name);
            if (!option) {
                const matches = options.filter((candidate) => candidate.long.startsWith(name));
                // glibc calls a prefix ambiguous only when its matches differ: two spellings of one
                // option (--no-acl, --no-privileges) are one.
                const targets = [...new Set(matches.map(canonical))];
                if (targets.length === 0) {
                    throw new PgArgsSyntaxError(arg, `${tool} has no option --${name}`, "unknown");
                }
                if (targets.length > 1) {
                    throw new PgArgsSyntaxError(arg, `ambiguous: --${name} could be ${matches.map((m) => `--${m.long}`).join(", ")}`);
                }
                option = matches[0];
            }
            if (!option.takesValue) {
                if (inline !== undefined)
                    throw new PgArgsSyntaxError(arg, `--${option.long} takes no value`);
                out.push({ name: canonical(option), value: undefined, written: arg });
                continue;
            }
            if (inline !== undefined) {
                out.push({ name: canonical(option), value: inline, written: arg });
                continue;
            }
            if (i + 1 >= argv.length)
                throw new PgArgsSyntaxError(arg, `--${option.long} needs a value`);
            const value = argv[++i];
            out.push({ name: canonical(option), value, written: `${arg} ${value}` });
            continue;
        }
        if (arg.startsWith("-") && arg.length > 1) {
            for (let j = 1; j < arg.length; j++) {
                const letter = arg[j];
                const option = byShort.get(letter);
                if (!option)
                    throw new PgArgsSyntaxError(arg, `${tool} has no option -${letter}`, "unknown");
                if (!option.takesValue) {
                    out.push({ name: canonical(option), value: undefined, written: arg });
                    continue;
                }
                const rest = arg.slice(j + 1);
                if (rest !== "") {
                    out.push({ name: canonical(option), value: rest, written: arg });
                }
                else {
                    if (i + 1 >= argv.length)
                        throw new PgArgsSyntaxError(arg, `-${letter} needs a value`);
                    const value = argv[++i];
                    out.push({ name: canonical(option), value, written: `${arg} ${value}` });
                }
                break;
            }
            continue;
        }
        throw new PgArgsSyntaxError(arg, `not an option: ${positional}`);
    }
    return out;
}
const allow = (why, value) => ({
    allow: true,
    why,
    ...(value ? { value } : {}),
});
const refuse = (why) => ({ allow: false, why });
/** A role name as SET ROLE takes it: a plain identifier of at most 63 bytes. */
function pg_args_roleName(value) {
    return /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/.test(value)
        ? undefined
        : "expected a role name (letters, digits, _ $ -)";
}
/** A PostgreSQL time setting: a whole number with an optional unit (ms when none). */
function pgDuration(value) {
    return /^\d{1,9}(us|ms|s|min|h|d)?$/.test(value)
        ? undefined
        : "expected a time such as 30s, 2min or 5000 (ms)";
}
function oneOf(...values) {
    return (value) => values.includes(value) ? undefined : `expected ${values.join(" or ")}`;
}
const CONNECTION = "the connection comes from --database-url";
const DUMP_SCOPE = "the dump's scope has options of its own, so the row counts follow it";
/**
 * pg_dump: what a user may pass is what leaves the destination (the store), the format (custom,
 * streamed), the connection and the scope (which rows are in the backup) alone.
 */
const PG_DUMP_POLICY = {
    "no-owner": allow("ownership is a restore-time choice; harmless in an archive"),
    "no-privileges": allow("leaves GRANTs out of the archive; no rows change"),
    "no-comments": allow("leaves COMMENTs out"),
    "no-publications": allow("leaves publications out"),
    "no-subscriptions": allow("leaves subscriptions out"),
    "no-security-labels": allow("leaves security labels out"),
    "no-tablespaces": allow("leaves tablespace assignments out"),
    "no-toast-compression": allow("leaves column compression methods out"),
    "no-table-access-method": allow("leaves table access methods out"),
    "no-policies": allow("leaves row-security policies out (pg_dump 18)"),
    "no-statistics": allow("leaves planner statistics out (pg_dump 18)"),
    "with-statistics": allow("adds planner statistics (pg_dump 18); no rows change"),
    "quote-all-identifiers": allow("only how names are quoted"),
    "disable-dollar-quoting": allow("only how function bodies are quoted"),
    "disable-triggers": allow("a restore-time choice; no effect on an archive"),
    "use-set-session-authorization": allow("a restore-time choice; no effect on what is dumped"),
    "load-via-partition-root": allow("rows are loaded through the partition root; the same rows"),
    "lock-wait-timeout": allow("fails early instead of waiting on a lock", pgDuration),
    role: allow("the role the dump runs as (SET ROLE)", pg_args_roleName),
    "strict-names": allow("makes an include pattern that matches nothing an error"),
    verbose: allow("progress on stderr; pg_dump's error line is still its last one"),
    "no-sync": allow("only skips fsync of output files; a streamed dump writes none"),
    "sync-method": allow("only for output files; a streamed dump writes none", oneOf("fsync", "syncfs")),
    "no-reconnect": allow("an obsolete no-op"),
    file: refuse("the output goes to the store, never to a file"),
    format: refuse("the format is always custom"),
    jobs: refuse("a streamed dump is single-threaded"),
    compress: refuse("use --compression"),
    snapshot: refuse("lifeboat exports the snapshot itself"),
    "serializable-deferrable": refuse("the dump runs in lifeboat's exported snapshot"),
    "restrict-key": refuse("only for plain-text output, which lifeboat never writes"),
    superuser: refuse("only for plain-text output, which lifeboat never writes"),
    encoding: refuse("the dump keeps the database's encoding, so that a restore gives back the same text"),
    "extra-float-digits": refuse("below the default, floating-point values lose digits: a lossy backup"),
    inserts: refuse("data as INSERT statements: restores far slower, and the archive's row counts read COPY data"),
    "column-inserts": refuse("data as INSERT statements: restores far slower, and the archive's row counts read COPY data"),
    "rows-per-insert": refuse("data as INSERT statements: restores far slower, and the archive's row counts read COPY data"),
    "on-conflict-do-nothing": refuse("data as INSERT statements: restores far slower, and the archive's row counts read COPY data"),
    "enable-row-security": refuse("dumps only the rows the role's policies show: a partial backup counted as whole; use a role with BYPASSRLS"),
    "no-unlogged-table-data": refuse("leaves rows out that the manifest counts; use --exclude-table-data"),
    clean: refuse("a restore-time choice: restore has its own clean"),
    create: refuse("a restore-time choice"),
    "if-exists": refuse("needs --clean, a restore-time choice"),
    "binary-upgrade": refuse("for pg_upgrade only"),
    dbname: refuse(CONNECTION),
    host: refuse(CONNECTION),
    port: refuse(CONNECTION),
    username: refuse(CONNECTION),
    password: refuse("the password comes from --database-url"),
    "no-password": refuse("lifeboat passes it already"),
    schema: refuse(`use --include-schema: ${DUMP_SCOPE}`),
    "exclude-schema": refuse(`use --exclude-schema: ${DUMP_SCOPE}`),
    table: refuse(`use --include-table: ${DUMP_SCOPE}`),
    "exclude-table": refuse(`use --exclude-table: ${DUMP_SCOPE}`),
    "exclude-table-data": refuse(`use --exclude-table-data: ${DUMP_SCOPE}`),
    "table-and-children": refuse(`use --include-table: ${DUMP_SCOPE}`),
    "exclude-table-and-children": refuse(`use --exclude-table: ${DUMP_SCOPE}`),
    "exclude-table-data-and-children": refuse(`use --exclude-table-data: ${DUMP_SCOPE}`),
    "data-only": refuse(`use --data-only: ${DUMP_SCOPE}`),
    "schema-only": refuse(`use --schema-only: ${DUMP_SCOPE}`),
    extension: refuse(DUMP_SCOPE),
    "exclude-extension": refuse(DUMP_SCOPE),
    filter: refuse(DUMP_SCOPE),
    section: refuse(DUMP_SCOPE),
    blobs: refuse(DUMP_SCOPE),
    "no-blobs": refuse(DUMP_SCOPE),
    "include-foreign-data": refuse("foreign data is not counted or verified"),
    "statistics-only": refuse(DUMP_SCOPE),
    "no-data": refuse(`use --schema-only: ${DUMP_SCOPE}`),
    "no-schema": refuse(`use --data-only: ${DUMP_SCOPE}`),
    "with-data": refuse(DUMP_SCOPE),
    "with-schema": refuse(DUMP_SCOPE),
    "sequence-data": refuse(DUMP_SCOPE),
    help: refuse("not a dump option"),
    version: refuse("not a dump option"),
};
const SCRATCH = "restore-test restores into its own scratch database";
const WHOLE = "restore-test restores the whole backup, to compare every table's row count with the manifest";
const OWN_ERRORS = "restore-test reads every error itself and decides which are tolerated (--tolerate)";
/** pg_restore (restore-test): what changes how objects are created, never where or which. */
const PG_RESTORE_POLICY = {
    "no-owner": allow("objects owned by the restoring role; for servers without the source's roles"),
    "no-privileges": allow("GRANTs left out; for servers without the source's roles"),
    "no-tablespaces": allow("everything in the default tablespace"),
    "no-comments": allow("COMMENTs left out"),
    "no-publications": allow("publications left out"),
    "no-subscriptions": allow("subscriptions left out (they would try to connect)"),
    "no-security-labels": allow("security labels left out (providers a scratch server lacks)"),
    "no-table-access-method": allow("tables in the default access method"),
    "no-policies": allow("row-security policies left out (pg_restore 18)"),
    "no-statistics": allow("planner statistics left out (pg_restore 18)"),
    "with-statistics": allow("planner statistics restored (pg_restore 18)"),
    "disable-triggers": allow("triggers off while data loads (needs a superuser)"),
    "use-set-session-authorization": allow("ownership set by SET SESSION AUTHORIZATION, not ALTER OWNER"),
    "enable-row-security": allow("restores with row security on, for a role without BYPASSRLS"),
    "no-data-for-failed-tables": allow("a table that failed to be created gets no data; the row check still sees it"),
    "strict-names": allow("only affects name patterns, which are refused anyway"),
    role: allow("the role the restore runs as (SET ROLE)", pg_args_roleName),
    "no-reconnect": allow("an obsolete no-op"),
    dbname: refuse(SCRATCH),
    create: refuse(SCRATCH),
    clean: refuse("the scratch database is new: there is nothing to drop"),
    "if-exists": refuse("needs --clean; the scratch database is new"),
    host: refuse(SCRATCH),
    port: refuse(SCRATCH),
    username: refuse("the connection comes from --scratch-database-url"),
    password: refuse("the password comes from --scratch-database-url"),
    "no-password": refuse("lifeboat passes it already"),
    file: refuse(SCRATCH),
    format: refuse("the archive is always custom format"),
    list: refuse("prints the table of contents instead of restoring"),
    "use-list": refuse(WHOLE),
    jobs: refuse("use --jobs"),
    "exit-on-error": refuse(OWN_ERRORS),
    "single-transaction": refuse(`${OWN_ERRORS}; it stops at the first one, and rules out --jobs`),
    "transaction-size": refuse(`${OWN_ERRORS}; it stops at the first one`),
    section: refuse(WHOLE),
    schema: refuse(WHOLE),
    "exclude-schema": refuse(WHOLE),
    table: refuse(WHOLE),
    index: refuse(WHOLE),
    function: refuse(WHOLE),
    trigger: refuse(WHOLE),
    filter: refuse(WHOLE),
    "data-only": refuse(WHOLE),
    "schema-only": refuse(WHOLE),
    "no-data": refuse(WHOLE),
    "no-schema": refuse(WHOLE),
    "statistics-only": refuse(WHOLE),
    "with-data": refuse(WHOLE),
    "with-schema": refuse(WHOLE),
    verbose: refuse("its progress lines would push pg_restore's errors out of the log restore-test keeps"),
    superuser: refuse("only for script output, which restore-test never writes"),
    "restrict-key": refuse("only for script output, which restore-test never writes"),
    "exclude-database": refuse("only for pg_dumpall archives"),
    "no-globals": refuse("only for pg_dumpall archives"),
};
const POLICIES = {
    pg_dump: PG_DUMP_POLICY,
    pg_restore: PG_RESTORE_POLICY,
};
/** The canonical long names a user may pass to `tool`. */
function allowedPgOptions(tool) {
    return Object.entries(POLICIES[tool])
        .filter(([, policy]) => policy.allow)
        .map(([name]) => name)
        .sort();
}
/** Each option the tool knows, with the decision and its reason (for docs and tests). */
function pgOptionDecisions(tool) {
    const names = new Set(pgOptionTable(tool).map((option) => option.aliasOf ?? option.long));
    return [...names].map((name) => {
        const policy = POLICIES[tool][name];
        return { name, allowed: policy?.allow ?? false, why: policy?.why ?? "not in the allowed list" };
    });
}
/**
 * The user's extra arguments for `tool`, checked against the allow-list, as the canonical words to
 * pass on (`--name` or `--name=value`). Anything else throws an InputError (exit 2) that names the
 * argument as the user wrote it. `input` is the flag or action input they came from.
 */
function parsePgArgs(tool, argv, input) {
    const policies = POLICIES[tool];
    const fail = (written, why) => {
        throw new domain_errors/* InputError */.dz(`--${input}: "${written}" is not allowed (${why})`, { input });
    };
    let options;
    try {
        options = tokenizePgArgs(argv, pgOptionTable(tool), tool);
    }
    catch (error) {
        if (error instanceof PgArgsSyntaxError) {
            return fail(error.written, error.kind === "unknown" ? notAllowed(tool) : error.reason);
        }
        throw error;
    }
    return options.map((option) => {
        const policy = policies[option.name];
        if (!policy)
            return fail(option.written, notAllowed(tool));
        if (!policy.allow)
            return fail(option.written, `--${option.name}: ${policy.why}`);
        if (option.value === undefined)
            return `--${option.name}`;
        // An allowed option that takes a value must say what a good one is.
        const problem = policy.value ? policy.value(option.value) : "takes no value here";
        if (problem)
            return fail(option.written, `--${option.name}: ${problem}`);
        return `--${option.name}=${option.value}`;
    });
}
/** `--pg-dump-args`, split on whitespace as the option is written. */
function parsePgDumpArgs(text, input = "pg-dump-args") {
    return parsePgArgs("pg_dump", words(text), input);
}
/** `--pg-restore-args` for restore-test, split on whitespace as the option is written. */
function parsePgRestoreArgs(text, input = "pg-restore-args") {
    return parsePgArgs("pg_restore", words(text), input);
}
function notAllowed(tool) {
    return `not in the allowed list: ${allowedPgOptions(tool)
        .map((name) => `--${name}`)
        .join(", ")}`;
}
function words(text) {
    return typeof text === "string" ? text.split(/\s+/).filter(Boolean) : [...text];
}

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
;// CONCATENATED MODULE: ./src/domain/backup-id.ts

/**
 * Backup ids sort by time as plain strings: `YYYYMMDDTHHMMSSZ-<random>` in UTC, the random part
 * keeping two backups started in the same second apart.
 */
const BACKUP_ID = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-([a-z0-9]{6,16})$/;
const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
function newBackupId(now, random = (0,external_node_crypto_.randomBytes)(6)) {
    const stamp = now
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d{3}Z$/, "Z");
    const suffix = [...random].map((byte) => ALPHABET[byte % ALPHABET.length]).join("");
    return `${stamp}-${suffix}`;
}
function isBackupId(text) {
    return parseBackupIdTime(text) !== undefined;
}
/** The UTC start time encoded in a backup id, or undefined when the text is not a backup id. */
function parseBackupIdTime(text) {
    const match = BACKUP_ID.exec(text);
    if (!match)
        return undefined;
    const [, year, month, day, hour, minute, second] = match.map(Number);
    const time = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
    // Reject ids such as 20261340T... that Date.UTC would silently roll over.
    if (time.getUTCMonth() !== month - 1 || time.getUTCDate() !== day)
        return undefined;
    return time;
}

;// CONCATENATED MODULE: ./src/domain/layout.ts
/**
 * Where things live in a store, relative to its root (the storage URL's prefix):
 *
 *   <label>/<backup-id>/dump.age            the age-encrypted pg_dump archive (dump.pgdump when unencrypted)
 *   <label>/<backup-id>/roles.sql.age       the roles, when included (roles.sql when unencrypted)
 *   <label>/<backup-id>/manifest.json       written last: the commit marker
 *   <label>/<backup-id>/checks/<timestamp>-<kind>-<pass|fail>.json
 *
 * A folder without a manifest is not a backup: it is in flight, or it failed. A folder with a
 * manifest whose artifacts are missing or of another size than the manifest says is a broken
 * backup (folderProblems): never the newest, never verified.
 */


const MANIFEST_FILE = "manifest.json";
const ENCRYPTED_DUMP_FILE = "dump.age";
const PLAIN_DUMP_FILE = "dump.pgdump";
const ENCRYPTED_ROLES_FILE = "roles.sql.age";
const PLAIN_ROLES_FILE = "roles.sql";
const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
function validateLabel(label) {
    if (!LABEL.test(label)) {
        throw new domain_errors/* InputError */.dz(`--label "${label}": expected 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit`, { input: "label" });
    }
    return label;
}
function backupPrefix(label, backupId) {
    return `${label}/${backupId}/`;
}
function manifestKey(label, backupId) {
    return `${backupPrefix(label, backupId)}${MANIFEST_FILE}`;
}
function dumpKey(label, backupId, encrypted) {
    return `${backupPrefix(label, backupId)}${encrypted ? ENCRYPTED_DUMP_FILE : PLAIN_DUMP_FILE}`;
}
/** The key of an artifact (a name in the manifest's `artifacts`) of a backup. */
function artifactKey(label, backupId, name) {
    return `${backupPrefix(label, backupId)}${name}`;
}
function rolesKey(label, backupId, encrypted) {
    return `${backupPrefix(label, backupId)}${encrypted ? ENCRYPTED_ROLES_FILE : PLAIN_ROLES_FILE}`;
}
const CHECK = /^checks\/(\d{8}T\d{6}(?:\d{3})?Z)-([a-z][a-z-]*)-(pass|fail)\.json$/;
function parseCheckStamp(stamp) {
    const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})?Z$/.exec(stamp);
    if (!match)
        return undefined;
    const [, y, mo, d, h, mi, s, ms] = match;
    return new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s, ms ? +ms : 0));
}
function checkKey(label, backupId, time, kind, passed) {
    const stamp = time.toISOString().replace(/[-:]/g, "").replace(".", "");
    return `${backupPrefix(label, backupId)}checks/${stamp}-${kind}-${passed ? "pass" : "fail"}.json`;
}
/**
 * Groups a listing of `<label>/` into backup folders, newest first. Keys that are not inside a
 * folder named by a backup id are ignored (they are not ours).
 */
function groupBackupFolders(label, objects) {
    const folders = new Map();
    const root = `${label}/`;
    for (const object of objects) {
        if (!object.key.startsWith(root))
            continue;
        const rest = object.key.slice(root.length);
        const slash = rest.indexOf("/");
        if (slash < 0)
            continue;
        const backupId = rest.slice(0, slash);
        const startedAt = parseBackupIdTime(backupId);
        if (!startedAt)
            continue;
        let folder = folders.get(backupId);
        if (!folder) {
            folder = { backupId, startedAt, committed: false, objects: [], checks: [], bytes: 0 };
            folders.set(backupId, folder);
        }
        folder.objects.push(object);
        folder.bytes += object.size;
        const name = rest.slice(slash + 1);
        if (name === MANIFEST_FILE)
            folder.committed = true;
        const check = CHECK.exec(name);
        const checkTime = check ? parseCheckStamp(check[1]) : undefined;
        if (check && checkTime) {
            folder.checks.push({ key: object.key, time: checkTime, kind: check[2], passed: check[3] === "pass" });
        }
    }
    const list = [...folders.values()];
    for (const folder of list)
        folder.checks.sort((a, b) => a.time.getTime() - b.time.getTime());
    return list.sort((a, b) => (a.backupId < b.backupId ? 1 : a.backupId > b.backupId ? -1 : 0));
}
/**
 * What is wrong with a committed folder against its manifest, from the listing alone: an artifact
 * missing, or stored with another size. Empty for an intact backup.
 */
function folderProblems(folder, manifest) {
    const problems = [];
    const prefix = backupPrefix(manifest.label, manifest.backupId);
    for (const artifact of manifest.artifacts) {
        const listed = folder.objects.find((object) => object.key === `${prefix}${artifact.name}`);
        if (!listed)
            problems.push(`${artifact.name} is missing`);
        else if (listed.size !== artifact.stored.bytes) {
            problems.push(`${artifact.name} is ${listed.size} bytes; the manifest says ${artifact.stored.bytes}`);
        }
    }
    return problems;
}

;// CONCATENATED MODULE: ./src/domain/duration.ts
/**
 * Durations as people type them in options such as `keep-within`, `safe-age` and `max-age`:
 * one or more `<whole number><unit>` parts, largest unit first, each unit at most once, no spaces:
 *
 *   w  week (7 days)   d  day (24 hours)   h  hour   m  minute   s  second
 *
 * e.g. `36h`, `7d`, `2w`, `1d12h`, `90m`, `1w2d3h4m5s`. Months and years are left out on purpose:
 * their length varies, and `m` is minutes. A day is always 24 hours (UTC has no daylight saving).
 */

const UNITS = [
    ["w", 7 * 24 * 3_600_000],
    ["d", 24 * 3_600_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
];
const PART = /(\d+)([wdhms])/y;
/** What a duration looks like, for error messages. */
const DURATION_FORMS = "a duration such as 36h, 7d, 2w, 1d12h or 90m (units w, d, h, m, s)";
/** The duration in milliseconds, or undefined when `text` is not a duration. */
function parseDuration(text) {
    const source = text.trim();
    if (source === "")
        return undefined;
    let total = 0;
    let lastUnit = -1;
    PART.lastIndex = 0;
    while (PART.lastIndex < source.length) {
        const match = PART.exec(source);
        if (!match)
            return undefined;
        const unit = UNITS.findIndex(([name]) => name === match[2]);
        // Largest unit first and each unit once: "1h1d" and "1h2h" are typos, not durations.
        if (unit <= lastUnit)
            return undefined;
        lastUnit = unit;
        total += Number(match[1]) * UNITS[unit][1];
        if (!Number.isSafeInteger(total))
            return undefined;
    }
    return total;
}
/**
 * Parses the option `input`'s value, or throws the InputError that names it:
 * `--keep-within "7 days": expected a duration such as 36h, 7d, ...`.
 */
function parseDurationOption(text, input) {
    const ms = parseDuration(text);
    if (ms === undefined)
        throw new InputError(`--${input} "${text}": expected ${DURATION_FORMS}`, { input });
    return ms;
}
/**
 * The shortest text parseDuration reads back as `ms` (rounded down to whole seconds): `1d12h`,
 * `90m` is `1h30m`, 0 is `0s`.
 */
function formatDuration(ms) {
    let rest = Math.max(0, Math.floor(ms / 1000)) * 1000;
    if (rest === 0)
        return "0s";
    let text = "";
    for (const [name, size] of UNITS) {
        const count = Math.floor(rest / size);
        if (count > 0)
            text += `${count}${name}`;
        rest -= count * size;
    }
    return text;
}

;// CONCATENATED MODULE: ./src/domain/retention.ts
/**
 * Retention: which backups prune keeps and which it removes, as a pure function of the listed
 * backups, the policy and `now`, with a reason for every decision (restic's snapshot policy, plus
 * the invariants below). docs/prune.md is the user's description of the same rules.
 *
 * Rules, over committed backups (those with a manifest), newest first:
 * - keep-last N: the N newest backups.
 * - keep-hourly / daily / weekly / monthly / yearly N: the newest backup in each of the last N
 *   hours / days / ISO weeks / months / years that have a backup (UTC). Periods without a backup
 *   do not count, so a pause in backups does not eat into the history.
 * - keep-within D: every backup taken less than D before the newest backup (not before now:
 *   if backups stop, prune does not go on to remove the last ones).
 * A backup kept by any rule stays.
 *
 * Invariants, whatever the rules say:
 * - the newest committed backup is kept;
 * - at least `minVerified` verified backups stay (the newest verified ones are added when the rules
 *   keep fewer); when there are fewer than that, every verified backup stays and a warning says so;
 * - a backup with an object lock in force at `now` (or a legal hold) is kept;
 * - a folder without a manifest (an interrupted or failed backup, or one in flight) is removed only
 *   once it is older than `safeAgeMs`, counted from its newest object (or its id's time);
 * - a broken backup (a manifest whose artifacts are missing or of another size) is not a backup to
 *   the rules: never the newest, never verified, never counted; it is kept, with a warning, for
 *   someone to look at;
 * - a policy without any keep rule is refused, never read as "remove everything".
 */


/** Check-record kinds that prove a backup restores: a restore-test, or a verify that decrypted. */
const VERIFYING_CHECK_KINDS = ["restore-test", "verify-deep"];
const BUCKET_RULES = [
    ["keep-hourly", "keepHourly", (t) => `${day(t)} ${pad(t.getUTCHours())}h`],
    ["keep-daily", "keepDaily", (t) => day(t)],
    ["keep-weekly", "keepWeekly", (t) => isoWeek(t)],
    ["keep-monthly", "keepMonthly", (t) => day(t).slice(0, 7)],
    ["keep-yearly", "keepYearly", (t) => String(t.getUTCFullYear())],
];
const KEEP_COUNT_OPTIONS = (/* unused pure expression or super */ null && ([
    "keep-last",
    "keep-hourly",
    "keep-daily",
    "keep-weekly",
    "keep-monthly",
    "keep-yearly",
]));
function pad(value, width = 2) {
    return String(value).padStart(width, "0");
}
function day(t) {
    return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}
/** The ISO 8601 week of a UTC time, e.g. `2026-W09`: weeks start on Monday; week 1 holds a Thursday. */
function isoWeek(t) {
    const midnight = Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate());
    const weekday = (t.getUTCDay() + 6) % 7; // Monday 0 .. Sunday 6
    const thursday = new Date(midnight + (3 - weekday) * 86_400_000);
    const year = thursday.getUTCFullYear();
    const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000)) + 1;
    return `${pad(year, 4)}-W${pad(week)}`;
}
function hasKeepRule(policy) {
    return (policy.keepLast > 0 || BUCKET_RULES.some(([, field]) => policy[field] > 0) || policy.keepWithinMs > 0);
}
const NO_KEEP_RULE_MESSAGE = "no keep rule: expected at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, " +
    "--keep-monthly, --keep-yearly (a whole number > 0) or --keep-within (a duration); prune never reads an empty policy as delete everything";
/** Throws an InputError unless the policy keeps something and every number is a whole number >= 0. */
function validatePolicy(policy) {
    const numbers = [
        ["keep-last", policy.keepLast],
        ...BUCKET_RULES.map(([name, field]) => [name, policy[field]]),
        ["keep-within", policy.keepWithinMs],
        ["min-verified", policy.minVerified],
        ["safe-age", policy.safeAgeMs],
    ];
    for (const [input, value] of numbers) {
        if (!Number.isSafeInteger(value) || value < 0) {
            throw new domain_errors/* InputError */.dz(`--${input} "${value}": expected a whole number >= 0`, { input });
        }
    }
    if (!hasKeepRule(policy))
        throw new domain_errors/* InputError */.dz(NO_KEEP_RULE_MESSAGE, { input: "keep-last" });
}
/** Check-record kinds that check the stored object itself: a later failure of one undoes any pass. */
const INTEGRITY_CHECK_KINDS = ["verify", "verify-deep"];
/**
 * Whether checks prove the backup restores: the latest check of kind restore-test or verify-deep
 * passed (a later failure of a kind withdraws that kind's earlier passes), and no integrity check
 * (verify or verify-deep) failed after that pass: a stored object that no longer matches its
 * manifest restores nothing, whatever it did before. On equal times a failure counts as later.
 */
function isVerified(checks) {
    const later = (a, b) => a.time > b.time || (+a.time === +b.time && !a.passed && b.passed);
    const lastIntegrityFailure = checks
        .filter((check) => INTEGRITY_CHECK_KINDS.includes(check.kind) && !check.passed)
        .reduce((latest, check) => (!latest || later(check, latest) ? check : latest), undefined);
    return VERIFYING_CHECK_KINDS.some((kind) => {
        let last;
        for (const check of checks) {
            if (check.kind === kind && (!last || later(check, last)))
                last = check;
        }
        if (!last?.passed)
            return false;
        return !lastIntegrityFailure || later(last, lastIntegrityFailure);
    });
}
/** Newest first; equal times by id, descending, so the order never depends on the input's. */
function newestFirst(a, b) {
    const byTime = b.time.getTime() - a.time.getTime();
    return byTime !== 0 ? byTime : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
function lockReason(lock, now) {
    if (!lock)
        return undefined;
    if (lock.legalHold)
        return { rule: "object-lock", text: "object lock: legal hold" };
    if (lock.until && lock.until.getTime() > now.getTime()) {
        const mode = lock.mode ? ` (${lock.mode})` : "";
        return { rule: "object-lock", text: `object lock${mode} until ${lock.until.toISOString()}` };
    }
    return undefined;
}
function plural(count, word) {
    return `${count} ${word}${count === 1 ? "" : "s"}`;
}
/** Decides, for every backup folder given, whether prune keeps or removes it, and why. */
function planRetention(backups, policy, now) {
    validatePolicy(policy);
    const sorted = [...backups].sort(newestFirst);
    const reasons = new Map(sorted.map((backup) => [backup, []]));
    const committed = sorted.filter((backup) => backup.committed && !backup.broken?.length);
    const newest = committed[0];
    const buckets = BUCKET_RULES.filter(([, field]) => policy[field] > 0).map(([rule, field, key]) => ({
        rule,
        key,
        limit: policy[field],
        used: 0,
        last: undefined,
    }));
    for (const [index, backup] of committed.entries()) {
        const why = reasons.get(backup);
        if (index === 0)
            why.push({ rule: "newest", text: "the newest backup" });
        if (index < policy.keepLast) {
            why.push({ rule: "keep-last", text: `keep-last (${index + 1} of ${policy.keepLast})` });
        }
        for (const bucket of buckets) {
            if (bucket.used >= bucket.limit)
                continue;
            const value = bucket.key(backup.time);
            if (value === bucket.last)
                continue;
            bucket.last = value;
            bucket.used++;
            why.push({ rule: bucket.rule, text: `${bucket.rule} ${value} (${bucket.used} of ${bucket.limit})` });
        }
        if (policy.keepWithinMs > 0 && newest.time.getTime() - backup.time.getTime() < policy.keepWithinMs) {
            why.push({
                rule: "keep-within",
                text: `keep-within ${formatDuration(policy.keepWithinMs)} of the newest backup`,
            });
        }
        const lock = lockReason(backup.lock, now);
        if (lock)
            why.push(lock);
    }
    const warnings = [];
    if (policy.minVerified > 0) {
        const verified = committed.filter((backup) => backup.verified);
        let keptVerified = verified.filter((backup) => reasons.get(backup).length > 0).length;
        for (const backup of verified) {
            if (keptVerified >= policy.minVerified)
                break;
            const why = reasons.get(backup);
            if (why.length > 0)
                continue;
            why.push({
                rule: "min-verified",
                text: `min-verified: kept so that ${plural(policy.minVerified, "verified backup")} ${policy.minVerified === 1 ? "remains" : "remain"}`,
            });
            keptVerified++;
        }
        if (committed.length > 0 && verified.length === 0) {
            warnings.push(`no backup under this label has passed a restore-test or a deep verify, so none is known to restore; ` +
                `min-verified is ${policy.minVerified}: run restore-test or verify with the identity ` +
                `(or set min-verified to 0 to silence this)`);
        }
        else if (committed.length > 0 && verified.length < policy.minVerified) {
            warnings.push(`only ${plural(verified.length, "backup")} passed a restore-test or a deep verify, fewer than ` +
                `min-verified ${policy.minVerified}: every verified backup is kept`);
        }
    }
    for (const backup of sorted.filter((candidate) => candidate.committed && candidate.broken?.length)) {
        warnings.push(`backup ${backup.id} is broken (${backup.broken.join("; ")}): it is not counted as a backup, and kept for you to look at`);
    }
    const decisions = sorted.map((backup) => {
        const why = reasons.get(backup);
        if (backup.committed && backup.broken?.length) {
            return {
                backup,
                keep: true,
                reasons: [{ rule: "broken", text: `broken: ${backup.broken.join("; ")}` }],
            };
        }
        if (backup.committed) {
            if (why.length > 0)
                return { backup, keep: true, reasons: why };
            return { backup, keep: false, reasons: [{ rule: "no-rule", text: "no keep rule selects it" }] };
        }
        const lock = lockReason(backup.lock, now);
        if (lock)
            return { backup, keep: true, reasons: [lock] };
        const youngest = Math.max(backup.time.getTime(), backup.lastModified?.getTime() ?? -Infinity);
        const age = now.getTime() - youngest;
        // Whole minutes: seconds only clutter an age measured against hours.
        const ageText = formatDuration(Math.max(0, Math.floor(age / 60_000) * 60_000));
        const safe = formatDuration(policy.safeAgeMs);
        if (age < policy.safeAgeMs) {
            return {
                backup,
                keep: true,
                reasons: [
                    {
                        rule: "in-flight",
                        text: `no manifest, ${ageText} old: younger than the safe age ${safe} (may be in flight)`,
                    },
                ],
            };
        }
        return {
            backup,
            keep: false,
            reasons: [
                {
                    rule: "incomplete",
                    text: `no manifest (failed or interrupted), ${ageText} old: older than the safe age ${safe}`,
                },
            ],
        };
    });
    return { decisions, warnings };
}

;// CONCATENATED MODULE: ./src/domain/sql-split.ts
function splitSqlStatements(text) {
    const statements = [];
    let start = 0;
    let i = 0;
    const push = (end) => {
        const statement = text.slice(start, end).trim();
        if (stripComments(statement) !== "")
            statements.push(statement);
    };
    while (i < text.length) {
        const ch = text[i];
        const next = text[i + 1];
        if (ch === "-" && next === "-") {
            const end = text.indexOf("\n", i);
            i = end < 0 ? text.length : end + 1;
        }
        else if (ch === "/" && next === "*") {
            let depth = 1;
            i += 2;
            while (i < text.length && depth > 0) {
                const pair = text.slice(i, i + 2);
                if (pair === "/*" || pair === "*/") {
                    depth += pair === "/*" ? 1 : -1;
                    i += 2;
                }
                else {
                    i++;
                }
            }
            if (depth > 0)
                return { statements, problem: "a /* comment is not closed" };
        }
        else if (ch === "'" || ch === '"') {
            const close = findClosingQuote(text, i + 1, ch);
            if (close < 0)
                return { statements, problem: `a ${ch} quote opened at offset ${i} is not closed` };
            i = close + 1;
        }
        else if (ch === "$") {
            const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i))?.[0];
            if (tag && !/[A-Za-z0-9_]/.test(text[i - 1] ?? "")) {
                const close = text.indexOf(tag, i + tag.length);
                if (close < 0)
                    return { statements, problem: `the dollar quote ${tag} is not closed` };
                i = close + tag.length;
            }
            else {
                i++;
            }
        }
        else if (ch === ";") {
            push(i);
            start = ++i;
        }
        else {
            i++;
        }
    }
    push(text.length);
    return { statements, problem: undefined };
}
function findClosingQuote(text, from, quote) {
    for (let i = from; i < text.length; i++) {
        if (text[i] === quote) {
            if (text[i + 1] === quote)
                i++;
            else
                return i;
        }
    }
    return -1;
}
function stripComments(statement) {
    return statement
        .replace(/--[^\n]*/g, "")
        .replace(/\/\*[\s\S]*?\*\//g, "")
        .trim();
}

;// CONCATENATED MODULE: ./src/domain/size.ts

const size_UNITS = {
    "": 1,
    b: 1,
    kb: 1e3,
    mb: 1e6,
    gb: 1e9,
    tb: 1e12,
    kib: 1024,
    mib: 1024 ** 2,
    gib: 1024 ** 3,
    tib: 1024 ** 4,
};
/** A byte size: a number with an optional unit (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB). */
function parseSize(text, input) {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
    const factor = match ? size_UNITS[match[2].toLowerCase()] : undefined;
    if (!match || factor === undefined) {
        throw new domain_errors/* InputError */.dz(`--${input} "${text}": expected a size such as 500MB, 2GiB or 1048576`, { input });
    }
    return Math.round(Number(match[1]) * factor);
}
/** A percentage: `50%` or `50`, as a fraction (0.5). */
function parsePercent(text, input) {
    const match = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
    if (!match)
        throw new domain_errors/* InputError */.dz(`--${input} "${text}": expected a percentage such as 50%`, { input });
    return Number(match[1]) / 100;
}

;// CONCATENATED MODULE: ./src/settings/read-option.ts
/**
 * The one reader of option values: what a value may be, its default, and the error for a bad one
 * all come from the option's entry in the table (spec.ts). Errors are one line naming the option,
 * the value as given (never a secret's) and what was expected:
 * `--s3-checksums "sometimes": expected when-required or when-supported`.
 *
 * An empty value reads as absent, so as the default: in an action an empty input cannot be told
 * from a missing one. The CLI refuses an explicitly empty flag before it gets here (args.ts).
 */




const TRUE_WORDS = ["true", "yes", "1", "on"];
const FALSE_WORDS = ["false", "no", "0", "off"];
/** The option's value as given (the last one when repeated), trimmed; undefined when absent or empty. */
function givenText(raw, spec) {
    const value = raw[spec.name];
    const last = Array.isArray(value) ? value.at(-1) : typeof value === "boolean" ? String(value) : value;
    return last?.trim() || undefined;
}
/** Whether the user gave the option at all (as opposed to it taking its default). */
function isGiven(raw, spec) {
    if (spec.type === "list")
        return readList(raw, spec).length > 0;
    return givenText(raw, spec) !== undefined;
}
/** A list: repeated flags, and each value split on new lines (action inputs) and commas. */
function readList(raw, spec) {
    const value = raw[spec.name];
    const values = Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
    return values
        .flatMap((item) => item.split(/[\n,]/))
        .map((item) => item.trim())
        .filter((item) => item !== "" && !item.startsWith("#"));
}
/** `a or b or c`: how every error lists accepted values. */
function alternatives(values) {
    return values.join(" or ");
}
/** What a valid value looks like, for the option's errors. */
function expectation(spec) {
    if (spec.expected !== undefined)
        return spec.expected;
    const keywords = spec.choices ?? [];
    switch (spec.type) {
        case "choice":
            return alternatives(keywords);
        case "boolean":
        case "true-false":
            return alternatives([...keywords, "true", "false"]);
        case "integer": {
            const range = spec.max === undefined
                ? `a whole number >= ${spec.min ?? 0}`
                : `a whole number from ${spec.min ?? 0} to ${spec.max}`;
            return alternatives([...keywords, range]);
        }
        case "duration":
            return DURATION_FORMS;
        case "size":
            return "a size such as 500MB, 2GiB or 1048576";
        case "percent":
            return "a percentage such as 50%";
        case "url":
            return "an http:// or https:// URL";
        case "database-url":
            return "postgresql://user:password@host:port/database";
        case "path":
            return spec.value ?? "a path";
        default:
            return spec.value ?? "a value";
    }
}
/** The InputError for a bad value of this option; a secret's value is never repeated. */
function badValue(spec, text, expected = expectation(spec)) {
    const shown = spec.secret ? "" : ` "${text}"`;
    const hidden = spec.secret ? " (the value is not shown: it is a secret)" : "";
    return new domain_errors/* InputError */.dz(`--${spec.name}${shown}: expected ${expected}${hidden}`, { input: spec.name });
}
function matchKeyword(spec, text) {
    const lower = text.toLowerCase();
    return spec.choices?.find((choice) => choice.toLowerCase() === lower);
}
function parseBoolean(spec, text) {
    const lower = text.toLowerCase();
    if (TRUE_WORDS.includes(lower))
        return true;
    if (FALSE_WORDS.includes(lower))
        return false;
    throw badValue(spec, text);
}
/** Parses one value of the option (the user's, or its default), by its type. */
function parseText(spec, text) {
    switch (spec.type) {
        case "choice": {
            const choice = matchKeyword(spec, text);
            if (choice === undefined)
                throw badValue(spec, text);
            return choice;
        }
        case "boolean":
            return parseBoolean(spec, text);
        case "true-false":
            return matchKeyword(spec, text) ?? parseBoolean(spec, text);
        case "integer": {
            const keyword = matchKeyword(spec, text);
            if (keyword !== undefined)
                return keyword;
            const number = Number(text);
            const inRange = /^\d+$/.test(text) &&
                Number.isSafeInteger(number) &&
                number >= (spec.min ?? 0) &&
                (spec.max === undefined || number <= spec.max);
            if (!inRange)
                throw badValue(spec, text);
            return number;
        }
        case "duration": {
            const ms = parseDuration(text);
            if (ms === undefined)
                throw badValue(spec, text);
            const least = spec.atLeast === undefined ? undefined : parseDuration(spec.atLeast);
            if (least !== undefined && ms < least) {
                const why = spec.atLeastWhy ? `, ${spec.atLeastWhy}` : "";
                throw badValue(spec, text, `at least ${formatDuration(least)}${why}`);
            }
            return ms;
        }
        case "size":
            return parseSize(text, spec.name);
        case "percent":
            return parsePercent(text, spec.name);
        case "url": {
            let protocol = "";
            let host = "";
            try {
                ({ protocol, host } = new URL(text));
            }
            catch {
                // refused below
            }
            if ((protocol !== "https:" && protocol !== "http:") || host === "")
                throw badValue(spec, text);
            return text;
        }
        case "database-url":
            return parseDatabaseUrl(text, spec.name);
        default:
            return text;
    }
}
/**
 * The option's value: the user's, else its default (read by the same rules), else false for a
 * boolean, [] for a list, undefined for the rest; a required option without either is an error.
 */
function readOption(raw, spec) {
    if (spec.type === "list")
        return readList(raw, spec);
    const text = givenText(raw, spec) ?? spec.default;
    if (text === undefined) {
        if (spec.required) {
            throw new domain_errors/* InputError */.dz(`--${spec.name}: required; expected ${expectation(spec)}`, { input: spec.name });
        }
        return (spec.type === "boolean" ? false : undefined);
    }
    return parseText(spec, text);
}
/** Every option of a record of table entries, read in the record's order. */
function read_option_readOptions(raw, specs) {
    const values = {};
    for (const [key, spec] of Object.entries(specs))
        values[key] = readOption(raw, spec);
    return values;
}

;// CONCATENATED MODULE: ./src/settings/rules.ts
/**
 * Rules between options (a passphrase or recipients, not both; object-lock mode and days
 * together...), kept as data: each command's settings parser lists its rules and checks them in
 * one call, after every option has been read on its own. The first broken rule is the error.
 */

/** Throws the InputError of the first rule the values break. */
function checkRules(values, rules) {
    for (const rule of rules) {
        if (rule.broken(values))
            throw new domain_errors/* InputError */.dz(rule.message(values), { input: rule.input.name });
    }
}

;// CONCATENATED MODULE: ./src/report/channels/channel.ts
/**
 * What a notification channel is: its options, how it reads them, what it renders from the neutral
 * report, how it sends that, and (for heartbeat services) what it does before the command runs.
 * Channels know nothing about GitHub or the CLI: both edges deliver through src/report/channels/deliver.ts.
 */


/** The text a channel's option was given, by the option's name; undefined when absent or empty. */
function optionText(raw, name) {
    return givenText(raw, { name });
}
/**
 * An http(s) URL option; the message names the option and the expected form, never the value
 * (a webhook URL is a secret).
 */
function readUrl(raw, name, expected) {
    const value = optionText(raw, name);
    if (value === undefined)
        return undefined;
    let protocol = "";
    try {
        protocol = new URL(value).protocol;
    }
    catch {
        // reported below
    }
    if (protocol !== "https:" && protocol !== "http:") {
        throw new domain_errors/* InputError */.dz(`--${name}: expected ${expected} (the value is not shown: it is a secret)`, {
            input: name,
        });
    }
    return value;
}
/** Cuts a text to a length, marking the cut. */
function cut(value, max) {
    return value.length > max ? `${value.slice(0, Math.max(0, max - 3))}...` : value;
}

;// CONCATENATED MODULE: ./src/report/channels/scrub.ts
/**
 * Secrets out of everything a report sends or prints. Each known secret is replaced as written,
 * percent-encoded and percent-decoded (a password inside a URL is usually encoded), and the password
 * of any scheme://user:password@ URL is replaced too. Payloads are scrubbed string by string before
 * they are encoded: scrubbing JSON text would miss a secret whose JSON form is escaped.
 */
/** Secrets shorter than this are not replaced in report text (it would mangle every word). */
const MIN_SECRET_LENGTH = 4;
/**
 * The parts of a webhook URL that give access, to scrub wherever they turn up: the whole URL, its
 * path (the token of Slack, Discord and ping URLs) and each long query value (the `sig` of a Teams
 * workflow URL).
 */
function urlSecrets(url) {
    const secrets = [url];
    try {
        const parsed = new URL(url);
        if (parsed.pathname.length >= 8)
            secrets.push(parsed.pathname);
        for (const value of parsed.searchParams.values())
            if (value.length >= 8)
                secrets.push(value);
        if (parsed.password)
            secrets.push(parsed.password);
    }
    catch {
        // not a URL: the whole value is already listed
    }
    return secrets;
}
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi;
function variants(value) {
    const out = [value, encodeURIComponent(value)];
    try {
        out.push(decodeURIComponent(value));
    }
    catch {
        // not percent-encoded
    }
    return out;
}
/** Replaces every known secret, and the password of any URL with credentials, by `***`. */
function scrubber(secrets) {
    const values = [...new Set(secrets.flatMap(variants))]
        .filter((value) => value.length >= MIN_SECRET_LENGTH)
        .sort((a, b) => b.length - a.length);
    return (input) => {
        let out = input;
        for (const value of values)
            out = out.split(value).join("***");
        return out.replace(URL_PASSWORD, "$1:***@");
    };
}
/** A payload with every string scrubbed (object keys are ours and stay). */
function scrubPayload(payload, scrub) {
    const walk = (value) => {
        if (typeof value === "string")
            return scrub(value);
        if (Array.isArray(value))
            return value.map(walk);
        if (value !== null && typeof value === "object") {
            return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, walk(inner)]));
        }
        return value;
    };
    return walk(payload);
}

;// CONCATENATED MODULE: ./src/version.ts
/** The package version, recorded in manifests; a test keeps it equal to package.json's. */
const LIFEBOAT_VERSION = "0.1.0";

;// CONCATENATED MODULE: ./src/report/channels/webhook-poster.ts
/**
 * One HTTP POST to a webhook, for every channel: retry on 429 (honouring Retry-After, capped) and on
 * 5xx or network errors with exponential backoff, within a total time cap; other 4xx are final (a
 * revoked or mistyped webhook). It never throws and never logs: the caller gets an outcome, and no
 * text in it holds the URL or any part of it that gives access.
 */



const defaultSleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** Retry-After in milliseconds (delta-seconds or an HTTP date); undefined when absent or unreadable. */
function retryAfterMs(value, now) {
    if (!value)
        return undefined;
    const trimmed = value.trim();
    if (/^\d+(\.\d+)?$/.test(trimmed))
        return Math.round(Number(trimmed) * 1000);
    const date = Date.parse(trimmed);
    return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
function hideUrl(message, url) {
    let out = message;
    for (const part of urlSecrets(url).sort((a, b) => b.length - a.length)) {
        out = out.split(part).join("<webhook>");
    }
    return out;
}
async function postWebhook(request, options = {}) {
    const { service, url } = request;
    const maxAttempts = options.maxAttempts ?? 4;
    const baseDelay = options.baseDelayMs ?? 500;
    const maxDelay = options.maxDelayMs ?? 30_000;
    const sleep = options.sleep ?? defaultSleep;
    const now = options.now ?? Date.now;
    const doFetch = options.fetch ?? globalThis.fetch;
    const deadline = now() + (options.totalTimeoutMs ?? 60_000);
    const headers = {
        "content-type": request.contentType ?? "application/json; charset=utf-8",
        "user-agent": `lifeboat/${LIFEBOAT_VERSION}`,
        ...request.headers,
    };
    let attempts = 0;
    let status;
    let error = "not attempted";
    while (attempts < maxAttempts) {
        attempts++;
        let wait;
        try {
            const remaining = deadline - now();
            const response = await doFetch(url, {
                method: "POST",
                headers,
                body: request.body,
                signal: AbortSignal.timeout(Math.max(1, Math.min(options.requestTimeoutMs ?? 15_000, remaining))),
            });
            status = response.status;
            const answer = (await response.text().catch(() => "")).trim().slice(0, 200);
            if (response.ok)
                return { ok: true, attempts, status };
            error = `${service} answered ${response.status}${answer ? ` (${answer.replace(/\s+/g, " ")})` : ""}`;
            if (response.status === 429) {
                wait = retryAfterMs(response.headers.get("retry-after"), now());
            }
            else if (response.status < 500) {
                return { ok: false, attempts, status, error: hideUrl(error, url) };
            }
        }
        catch (thrown) {
            const cause = thrown.cause;
            const code = typeof cause?.code === "string" ? ` (${cause.code})` : "";
            error =
                thrown instanceof Error && (thrown.name === "TimeoutError" || thrown.name === "AbortError")
                    ? `the request to ${service} timed out`
                    : `the request to ${service} failed: ${(0,domain_errors/* describeError */.Uc)(thrown)}${code}`;
        }
        if (attempts >= maxAttempts)
            break;
        const delay = Math.min(maxDelay, wait ?? baseDelay * 2 ** (attempts - 1));
        if (now() + delay >= deadline) {
            error = `${error}; gave up: the next try would pass the time limit`;
            break;
        }
        await sleep(delay);
    }
    return { ok: false, attempts, ...(status === undefined ? {} : { status }), error: hideUrl(error, url) };
}
/** A JSON payload, every string of it scrubbed before it is encoded, posted with postWebhook. */
function webhook_poster_postJson(service, url, payload, scrub, options = {}, headers = {}) {
    return postWebhook({ service, url, body: JSON.stringify(scrubPayload(payload, scrub)), headers }, options);
}

;// CONCATENATED MODULE: ./src/report/channels/discord.ts
/**
 * Discord, through a channel's incoming webhook: one embed (verdict colour, title linking to the
 * run, the headline with the failures and warnings, the figures as inline fields, label and
 * command in the footer). Discord's limits are kept: title 256, description 4,096, 25 fields of
 * 256/1,024, footer 2,048, 6,000 characters across the embed, content 2,000. Mentions are turned
 * off, so no report text can ping @everyone.
 */




const DISCORD_LIMITS = {
    content: 2000,
    title: 256,
    description: 4096,
    fields: 25,
    fieldName: 256,
    fieldValue: 1024,
    footer: 2048,
    embedTotal: 6000,
};
const COLOUR = { pass: 0x2eb67d, warn: 0xecb22e, fail: 0xe01e5a };
function list(title, items, max = 10) {
    if (items.length === 0)
        return "";
    const lines = items.slice(0, max).map((item) => `- ${cut(item, 300)}`);
    if (items.length > max)
        lines.push(`- ... and ${items.length - max} more`);
    return `\n\n**${title}**\n${lines.join("\n")}`;
}
/** The characters Discord counts against an embed's 6,000. */
function embedLength(embed) {
    return (embed.title.length +
        embed.description.length +
        embed.footer.text.length +
        embed.fields.reduce((sum, field) => sum + field.name.length + field.value.length, 0));
}
function renderDiscord(report) {
    const history = report.history ? `\n\n${historyLine(report.history)}` : "";
    const description = `**${VERDICT_WORD[report.verdict]}**: ${report.headline}` +
        list("Failures", report.failures) +
        list("Warnings", report.warnings) +
        history;
    const embed = {
        title: cut(report.title, DISCORD_LIMITS.title),
        description: cut(description, DISCORD_LIMITS.description),
        color: COLOUR[report.verdict],
        ...(report.runUrl && /^https?:\/\//.test(report.runUrl) ? { url: report.runUrl } : {}),
        fields: report.facts.slice(0, DISCORD_LIMITS.fields).map((fact) => ({
            name: cut(fact.label, DISCORD_LIMITS.fieldName) || "-",
            value: cut(fact.value, DISCORD_LIMITS.fieldValue) || "-",
            inline: true,
        })),
        footer: { text: cut(`label ${report.label} · ${report.action}`, DISCORD_LIMITS.footer) },
    };
    // Over the total, the description gives way first (down to a few lines), then the last fields.
    const over = embedLength(embed) - DISCORD_LIMITS.embedTotal;
    if (over > 0)
        embed.description = cut(embed.description, Math.max(500, embed.description.length - over));
    while (embedLength(embed) > DISCORD_LIMITS.embedTotal && embed.fields.length > 0)
        embed.fields.pop();
    return {
        username: "Lifeboat",
        content: cut(`${VERDICT_EMOJI[report.verdict]} ${report.title}`, DISCORD_LIMITS.content),
        embeds: [embed],
        allowed_mentions: { parse: [] },
    };
}
const discordChannel = {
    name: "discord",
    options: [
        {
            name: "discord-webhook-url",
            description: "Discord webhook URL (from a secret; channel settings > Integrations > Webhooks) to report to; empty for no Discord message.",
            type: "string",
            env: "LIFEBOAT_DISCORD_WEBHOOK_URL",
            secret: true,
            value: "URL",
        },
    ],
    configure(raw) {
        const url = readUrl(raw, "discord-webhook-url", "a Discord webhook URL such as https://discord.com/api/webhooks/...");
        if (!url)
            return undefined;
        return {
            name: "discord",
            noun: "Discord message",
            followsNotifyOn: true,
            secrets: urlSecrets(url),
            send: (report, context) => webhook_poster_postJson("Discord", url, renderDiscord(report), context.scrub, context.poster),
        };
    },
};

;// CONCATENATED MODULE: ./src/report/channels/ping.ts
/**
 * Heartbeat pings for dead-man's-switch services (healthchecks.io, Cronitor, Better Stack): a
 * start ping before the command runs, then a success or a failure ping. The service alerts when a
 * failure ping comes, and when no success ping comes in time: the case no message can cover (a
 * schedule that stopped, a runner that died).
 *
 * `ping-url` follows healthchecks.io's pinging API: `<url>/start`, `<url>`, `<url>/fail`. The three
 * explicit URLs replace (or stand in for) those, for services that spell them otherwise (Cronitor's
 * `?state=run|complete|fail`, Better Stack's heartbeat without a start). A heartbeat is sent on
 * every run: notify-on is for messages, and a heartbeat that stopped on success would raise the
 * alarm it exists to raise.
 */




/** healthchecks.io keeps 100 kB of a ping's body; the summary needs far less. */
const PING_BODY_LIMIT = 10_000;
/** A start ping holds the command up: it gets less time than a report does. */
const START_TIMEOUT_MS = 15_000;
/** `<url>` with a path suffix added before its query, as healthchecks.io's /start and /fail. */
function withSuffix(url, suffix) {
    const parsed = new URL(url);
    parsed.pathname = `${parsed.pathname.replace(/\/+$/, "")}/${suffix}`;
    return parsed.toString();
}
function pingUrls(base, explicit) {
    const derived = base
        ? { start: withSuffix(base, "start"), success: base, failure: withSuffix(base, "fail") }
        : {};
    return { ...derived, ...Object.fromEntries(Object.entries(explicit).filter(([, url]) => url)) };
}
/** The body of a finishing ping: a plain-text summary the service shows in its log of pings. */
function renderPingBody(report) {
    const lines = [
        `${report.title}: ${VERDICT_WORD[report.verdict]}`,
        report.headline,
        ...report.facts.map((fact) => `${fact.label}: ${fact.value}`),
        ...report.failures.slice(0, 20).map((failure) => `failure: ${failure}`),
        ...report.warnings.slice(0, 20).map((warning) => `warning: ${warning}`),
        ...(report.runUrl ? [`run: ${report.runUrl}`] : []),
    ];
    return cut(lines.join("\n"), PING_BODY_LIMIT);
}
function renderStartBody(start) {
    return `Lifeboat ${start.action} started (label ${start.label})`;
}
const urlOption = (name, env, description) => ({
    name,
    description,
    type: "string",
    env,
    secret: true,
    value: "URL",
});
const pingChannel = {
    name: "ping",
    options: [
        urlOption("ping-url", "LIFEBOAT_PING_URL", "Heartbeat URL in healthchecks.io's form (from a secret): <url>/start before the run, <url> on success, <url>/fail on failure. Sent on every run, whatever notify-on says."),
        urlOption("ping-start-url", "LIFEBOAT_PING_START_URL", "URL pinged before the run, instead of <ping-url>/start (e.g. Cronitor's ...?state=run)."),
        urlOption("ping-success-url", "LIFEBOAT_PING_SUCCESS_URL", "URL pinged when the run passed (with or without warnings), instead of <ping-url>."),
        urlOption("ping-failure-url", "LIFEBOAT_PING_FAILURE_URL", "URL pinged when the run failed, instead of <ping-url>/fail (e.g. Better Stack's <heartbeat>/fail)."),
    ],
    configure(raw) {
        const expected = "an http(s) heartbeat URL such as https://hc-ping.com/<uuid>";
        const urls = pingUrls(readUrl(raw, "ping-url", expected), {
            start: readUrl(raw, "ping-start-url", expected),
            success: readUrl(raw, "ping-success-url", expected),
            failure: readUrl(raw, "ping-failure-url", expected),
        });
        if (!urls.start && !urls.success && !urls.failure)
            return undefined;
        const secrets = [urls.start, urls.success, urls.failure].flatMap((url) => (url ? urlSecrets(url) : []));
        const ping = (url, body, poster = {}) => postWebhook({ service: "the heartbeat service", url, body, contentType: "text/plain; charset=utf-8" }, poster);
        return {
            name: "ping",
            noun: "heartbeat ping",
            followsNotifyOn: false,
            secrets,
            send: async (report, context) => {
                const url = report.verdict === "fail" ? urls.failure : urls.success;
                if (!url)
                    return null;
                return ping(url, context.scrub(renderPingBody(report)), context.poster);
            },
            ...(urls.start
                ? {
                    onStart: (start, context) => ping(urls.start, context.scrub(renderStartBody(start)), {
                        ...context.poster,
                        totalTimeoutMs: Math.min(context.poster?.totalTimeoutMs ?? START_TIMEOUT_MS, START_TIMEOUT_MS),
                    }),
                }
                : {}),
        };
    },
};

;// CONCATENATED MODULE: ./src/report/channels/slack.ts
/**
 * Slack, through an incoming webhook: the report as Block Kit, with a plain `text` fallback for
 * notifications and clients that show no blocks. Slack's limits are kept: a header of 150
 * characters, section text of 3,000, ten fields of 2,000 each, at most 50 blocks.
 */




/** Slack mrkdwn: only &, < and > are control characters. */
function escapeMrkdwn(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
function listText(title, items, max = 10) {
    const lines = items.slice(0, max).map((item) => `• ${escapeMrkdwn(cut(item, 500))}`);
    if (items.length > max)
        lines.push(`• ... and ${items.length - max} more`);
    return cut(`*${title}*\n${lines.join("\n")}`, 3000);
}
function renderSlack(report) {
    const emoji = VERDICT_EMOJI[report.verdict];
    const blocks = [
        { type: "header", text: { type: "plain_text", text: cut(`${emoji} ${report.title}`, 150), emoji: true } },
        {
            type: "section",
            text: {
                type: "mrkdwn",
                text: cut(`*${VERDICT_WORD[report.verdict]}*: ${escapeMrkdwn(report.headline)}`, 3000),
            },
        },
    ];
    const facts = report.facts.slice(0, 10);
    if (facts.length > 0) {
        blocks.push({
            type: "section",
            fields: facts.map((fact) => ({
                type: "mrkdwn",
                text: cut(`*${escapeMrkdwn(fact.label)}*\n${escapeMrkdwn(fact.value)}`, 2000),
            })),
        });
    }
    if (report.failures.length > 0) {
        blocks.push({ type: "section", text: { type: "mrkdwn", text: listText("Failures", report.failures) } });
    }
    if (report.warnings.length > 0) {
        blocks.push({ type: "section", text: { type: "mrkdwn", text: listText("Warnings", report.warnings) } });
    }
    const context = [];
    if (report.history)
        context.push(escapeMrkdwn(historyLine(report.history)));
    context.push(`label \`${escapeMrkdwn(report.label)}\` · ${report.action}`);
    blocks.push({
        type: "context",
        elements: context.map((text) => ({ type: "mrkdwn", text: cut(text, 3000) })),
    });
    if (report.runUrl) {
        blocks.push({
            type: "actions",
            elements: [
                {
                    type: "button",
                    text: { type: "plain_text", text: "Open the workflow run" },
                    url: report.runUrl,
                    ...(report.verdict === "fail" ? { style: "danger" } : {}),
                },
            ],
        });
    }
    const text = cut(`${emoji} ${report.title}: ${report.headline}${report.runUrl ? ` (${report.runUrl})` : ""}`, 3000);
    return { text, blocks: blocks.slice(0, 50) };
}
/** POSTs a Slack payload (already scrubbed by the caller, or holding no secret). */
function postSlackWebhook(url, payload, options) {
    return postJson("Slack", url, payload, (text) => text, options);
}
const slackChannel = {
    name: "slack",
    options: [
        {
            name: "slack-webhook-url",
            description: "Slack incoming webhook URL (from a secret) to report to; empty for no Slack message. A Slack outage never fails the step.",
            type: "string",
            env: "LIFEBOAT_SLACK_WEBHOOK_URL",
            secret: true,
            value: "URL",
        },
    ],
    configure(raw) {
        const url = readUrl(raw, "slack-webhook-url", "a Slack incoming webhook URL such as https://hooks.slack.com/services/...");
        if (!url)
            return undefined;
        return {
            name: "slack",
            noun: "Slack message",
            followsNotifyOn: true,
            secrets: urlSecrets(url),
            send: (report, context) => webhook_poster_postJson("Slack", url, renderSlack(report), context.scrub, context.poster),
        };
    },
};

;// CONCATENATED MODULE: ./src/report/channels/teams.ts
/**
 * Microsoft Teams, through a Workflows webhook ("Post to a channel when a webhook request is
 * received"): a message whose one attachment is an Adaptive Card (1.4, full width) with the verdict
 * as a coloured heading, the headline, the figures as a FactSet, the failures and warnings, the
 * history line and a button to the run. The retired Office 365 connector card (MessageCard) is not
 * used: Workflows only accept Adaptive Cards.
 */




const ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive";
const ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json";
const teams_COLOUR = {
    pass: "Good",
    warn: "Warning",
    fail: "Attention",
};
function listBlock(title, items, colour, max = 10) {
    if (items.length === 0)
        return [];
    const lines = items.slice(0, max).map((item) => `- ${cut(item.replace(/\s+/g, " "), 500)}`);
    if (items.length > max)
        lines.push(`- ... and ${items.length - max} more`);
    return [
        { type: "TextBlock", text: title, weight: "Bolder", color: colour, wrap: true, spacing: "Medium" },
        { type: "TextBlock", text: lines.join("\n"), wrap: true, spacing: "Small" },
    ];
}
function renderTeams(report) {
    const body = [
        {
            type: "TextBlock",
            text: cut(`${VERDICT_EMOJI[report.verdict]} ${report.title}`, 300),
            size: "Large",
            weight: "Bolder",
            style: "heading",
            color: teams_COLOUR[report.verdict],
            wrap: true,
        },
        {
            type: "TextBlock",
            text: cut(`**${VERDICT_WORD[report.verdict]}**: ${report.headline}`, 3000),
            wrap: true,
        },
    ];
    const facts = report.facts.slice(0, 12);
    if (facts.length > 0) {
        body.push({
            type: "FactSet",
            facts: facts.map((fact) => ({ title: cut(fact.label, 100), value: cut(fact.value, 1000) })),
        });
    }
    body.push(...listBlock("Failures", report.failures, "Attention"));
    body.push(...listBlock("Warnings", report.warnings, "Warning"));
    const context = [
        ...(report.history ? [historyLine(report.history)] : []),
        `label ${report.label} · ${report.action}`,
    ];
    body.push({ type: "TextBlock", text: context.join("\n\n"), isSubtle: true, size: "Small", wrap: true });
    const actions = report.runUrl && /^https?:\/\//.test(report.runUrl)
        ? [{ type: "Action.OpenUrl", title: "Open the workflow run", url: report.runUrl }]
        : [];
    return {
        type: "message",
        attachments: [
            {
                contentType: ADAPTIVE_CARD_CONTENT_TYPE,
                contentUrl: null,
                content: {
                    $schema: ADAPTIVE_CARD_SCHEMA,
                    type: "AdaptiveCard",
                    version: "1.4",
                    msteams: { width: "Full" },
                    body,
                    actions,
                },
            },
        ],
    };
}
const teamsChannel = {
    name: "teams",
    options: [
        {
            name: "teams-webhook-url",
            description: "Microsoft Teams Workflows webhook URL (from a secret; a workflow made from the template Post to a channel when a webhook request is received) to report to; empty for no Teams message.",
            type: "string",
            env: "LIFEBOAT_TEAMS_WEBHOOK_URL",
            secret: true,
            value: "URL",
        },
    ],
    configure(raw) {
        const url = readUrl(raw, "teams-webhook-url", "the HTTP POST URL of a Teams Workflows webhook (https://...logic.azure.com/... or https://...powerplatform.com/...)");
        if (!url)
            return undefined;
        return {
            name: "teams",
            noun: "Teams message",
            followsNotifyOn: true,
            secrets: urlSecrets(url),
            send: (report, context) => webhook_poster_postJson("Microsoft Teams", url, renderTeams(report), context.scrub, context.poster),
        };
    },
};

;// CONCATENATED MODULE: ./src/report/channels/webhook.ts
/**
 * A generic JSON webhook: a documented, versioned event (docs/reports.md) for any receiver. With a
 * secret, each request is signed like GitHub's own webhooks: `X-Lifeboat-Signature: sha256=<hex
 * HMAC-SHA256 of the body>`. The body carries its own `timestamp`, equal to the
 * `X-Lifeboat-Timestamp` header, so the signature covers it and a receiver can refuse an old
 * request played again.
 */





const WEBHOOK_EVENT_VERSION = 1;
const SIGNATURE_HEADER = "x-lifeboat-signature";
const TIMESTAMP_HEADER = "x-lifeboat-timestamp";
function renderWebhookEvent(report, meta) {
    const stats = report.history?.stats;
    return {
        version: WEBHOOK_EVENT_VERSION,
        event: "run.finished",
        id: meta.id,
        timestamp: Math.floor(meta.now.getTime() / 1000),
        command: report.action,
        label: report.label,
        outcome: report.verdict,
        title: report.title,
        headline: report.headline,
        backupId: report.backupId,
        figures: report.facts.map((fact) => ({ label: fact.label, value: fact.value })),
        failures: report.failures.slice(0, 100),
        warnings: report.warnings.slice(0, 100),
        history: stats
            ? {
                newestAgeSeconds: stats.newestAgeSeconds,
                newestBackupId: stats.newestBackupId,
                attempts: stats.attempts,
                succeeded: stats.succeeded,
                successRate: stats.successRate,
                restoreTested: stats.restoreTested,
            }
            : null,
        runUrl: report.runUrl,
    };
}
/** The signature header's value for a body: what a receiver recomputes and compares. */
function signBody(secret, body) {
    return `sha256=${(0,external_node_crypto_.createHmac)("sha256", secret).update(body, "utf8").digest("hex")}`;
}
const webhookChannel = {
    name: "webhook",
    options: [
        {
            name: "webhook-url",
            description: "URL (from a secret) that receives every report as a JSON event (format in docs/reports.md); empty for none.",
            type: "string",
            env: "LIFEBOAT_WEBHOOK_URL",
            secret: true,
            value: "URL",
        },
        {
            name: "webhook-secret",
            description: "Secret that signs each webhook request: X-Lifeboat-Signature: sha256=<HMAC-SHA256 of the body, hex>; empty for no signature.",
            type: "string",
            env: "LIFEBOAT_WEBHOOK_SECRET",
            secret: true,
            value: "SECRET",
        },
    ],
    configure(raw) {
        const url = readUrl(raw, "webhook-url", "an http(s) URL that accepts a JSON POST");
        const secret = optionText(raw, "webhook-secret");
        if (!url) {
            if (secret !== undefined) {
                throw new domain_errors/* InputError */.dz("--webhook-secret: set without --webhook-url; expected both or neither", {
                    input: "webhook-secret",
                });
            }
            return undefined;
        }
        return {
            name: "webhook",
            noun: "webhook event",
            followsNotifyOn: true,
            secrets: [...urlSecrets(url), ...(secret ? [secret] : [])],
            send: (report, context) => {
                const event = scrubPayload(renderWebhookEvent(report, { id: (0,external_node_crypto_.randomUUID)(), now: context.now() }), context.scrub);
                const body = JSON.stringify(event);
                return postWebhook({
                    service: "the webhook",
                    url,
                    body,
                    headers: {
                        "x-lifeboat-event": event.event,
                        "x-lifeboat-delivery": event.id,
                        [TIMESTAMP_HEADER]: String(event.timestamp),
                        ...(secret ? { [SIGNATURE_HEADER]: signBody(secret, body) } : {}),
                    },
                }, context.poster);
            },
        };
    },
};

;// CONCATENATED MODULE: ./src/report/channels/index.ts
/**
 * The notification channels, in the order they are listed and sent.
 *
 * Adding a channel is one file plus one entry here: write src/report/channels/<name>.ts exporting
 * a ChannelDefinition (its options, how it reads them, what it renders from the report, how it
 * sends it, and optionally an onStart hook), then add it to CHANNELS. Its options then reach the
 * option table (the CLI's flags and environment variables, the actions' inputs and action.yml),
 * the settings of both edges and delivery; nothing else changes. Document it in docs/reports.md.
 */






const CHANNELS = [
    slackChannel,
    discordChannel,
    teamsChannel,
    webhookChannel,
    pingChannel,
];
const NOTIFY_ON_OPTION = {
    name: "notify-on",
    description: "When to send a message (Slack, Discord, Teams, webhook): failure (default), success, always or never. Heartbeat pings go on every run.",
    type: "choice",
    choices: ["failure", "success", "always", "never"],
    default: "failure",
    env: "LIFEBOAT_NOTIFY_ON",
    value: "WHEN",
};
/** Every channel's options and notify-on: the option table's share of reporting. */
const CHANNEL_OPTIONS = [
    ...CHANNELS.flatMap((channel) => channel.options),
    NOTIFY_ON_OPTION,
];
/** Reads notify-on and every channel's options; a bad value is an InputError naming its option. */
function readChannelSettings(raw) {
    const notifyOn = readOption(raw, NOTIFY_ON_OPTION);
    const channels = CHANNELS.flatMap((channel) => channel.configure(raw) ?? []);
    return { notifyOn, channels };
}

;// CONCATENATED MODULE: ./src/settings/spec.ts
/**
 * Every option of every command, in one place: the CLI's flags, the actions' inputs (the same
 * names, kebab-case), their help text, defaults, accepted values and ranges. The reader
 * (read-option.ts) parses values by this table alone, so a default or a list of accepted values is
 * written once, here. actions/<name>/action.yml is generated from this table
 * (scripts/render-actions.ts, run by the build) and a test keeps the two equal.
 */

const AUTO_OR_NEVER = ["auto", "never"];
const keepCount = (period) => ({
    name: `keep-${period}`,
    description: period === "last"
        ? "Keep the N newest backups."
        : `Keep the newest backup in each of the last N ${{ hourly: "hours", daily: "days", weekly: "ISO weeks (Monday to Sunday)", monthly: "months", yearly: "years" }[period]} that have a backup (UTC).`,
    type: "integer",
    min: 0,
    value: "N",
});
/**
 * The options, each declared once. Commands list them below; where a command words one
 * differently it replaces only the description (a test checks that nothing else differs).
 */
const OPTIONS = {
    storage: {
        name: "storage",
        description: "Where backups live: s3://bucket/prefix (AWS S3 or any S3-compatible store), file:///absolute/path, or a directory path.",
        type: "string",
        required: true,
        cliDefault: "./backups",
        env: "LIFEBOAT_STORAGE",
        value: "URL",
        expected: "s3://bucket/prefix, file:///absolute/path or a directory path",
    },
    label: {
        name: "label",
        description: "Separates databases and environments in one storage location: backups go under <storage>/<label>/.",
        type: "string",
        default: "default",
        env: "LIFEBOAT_LABEL",
        value: "NAME",
    },
    s3Endpoint: {
        name: "s3-endpoint",
        description: "Endpoint of an S3-compatible store (R2, B2, MinIO, Supabase Storage, GCS interop); empty for AWS S3.",
        type: "url",
        env: "AWS_ENDPOINT_URL_S3",
        value: "URL",
    },
    s3Region: {
        name: "s3-region",
        description: "S3 region; empty for the SDK's default chain (AWS_REGION), or us-east-1.",
        type: "string",
        value: "REGION",
    },
    s3ForcePathStyle: {
        name: "s3-force-path-style",
        description: "Address the bucket in the path (https://endpoint/bucket/key), as MinIO and some stores need.",
        type: "boolean",
        default: "false",
    },
    s3Checksums: {
        name: "s3-checksums",
        description: "when-required (default: checksums only where the S3 API demands them, which S3-compatible stores accept) or when-supported (the AWS SDK's default).",
        type: "choice",
        choices: ["when-required", "when-supported"],
        default: "when-required",
        value: "MODE",
    },
    s3Sse: {
        name: "s3-sse",
        description: "Server-side encryption for stored objects: AES256 or aws:kms (with s3-sse-kms-key-id).",
        type: "choice",
        choices: ["AES256", "aws:kms"],
        value: "MODE",
    },
    s3SseKmsKeyId: {
        name: "s3-sse-kms-key-id",
        description: "KMS key id for s3-sse aws:kms.",
        type: "string",
        value: "KEY",
    },
    objectLockMode: {
        name: "object-lock-mode",
        description: "S3 Object Lock retention for the dump and manifest: GOVERNANCE or COMPLIANCE (with object-lock-days; the bucket must have Object Lock enabled). A leaked credential then cannot delete backups either; prune leaves them alone until the lock expires.",
        type: "choice",
        choices: ["GOVERNANCE", "COMPLIANCE"],
        value: "MODE",
    },
    objectLockDays: {
        name: "object-lock-days",
        description: "Days each backup stays locked (with object-lock-mode).",
        type: "integer",
        min: 1,
        max: 36500,
        value: "DAYS",
        expected: "a whole number of days from 1 to 36500",
    },
    pgVersion: {
        name: "pg-version",
        description: "Major version of pg_dump to use: auto (default: the server's own major when present, else the nearest newer one) or a major such as 17.",
        type: "integer",
        choices: ["auto"],
        min: 10,
        max: 99,
        default: "auto",
        value: "MAJOR",
        expected: "auto or a major version such as 17",
    },
    installPgClient: {
        name: "install-pg-client",
        description: "auto: when no suitable pg_dump is on the machine and it runs Linux with apt, download postgresql-client-<major> from the PostgreSQL apt repository into a tool directory (cached with actions/cache in Actions) without touching the system; never: use only what is installed.",
        type: "choice",
        choices: AUTO_OR_NEVER,
        default: "auto",
        cliDefault: "never",
        value: "MODE",
    },
    pgBinDir: {
        name: "pg-bin-dir",
        description: "Directory holding the pg_dump to use. By default one that can dump the server, from /usr/lib/postgresql/<major>/bin or PATH: the server's own major if present, else the nearest newer one.",
        type: "path",
        value: "DIR",
    },
    commentOnPr: {
        name: "comment-on-pr",
        description: "auto (default): on pull_request events, keep one comment per label and action on the pull request, updated in place on every run; never: no comment.",
        type: "choice",
        choices: AUTO_OR_NEVER,
        default: "auto",
        actionOnly: true,
        value: "MODE",
    },
    githubToken: {
        name: "github-token",
        description: "Token for the pull request comment. The default GITHUB_TOKEN works when the job has pull-requests: write; without that right the comment is skipped with a warning.",
        type: "string",
        actionDefault: "${{ github.token }}",
        secret: true,
        actionOnly: true,
    },
    notifyOn: NOTIFY_ON_OPTION,
    reportArtifact: {
        name: "report-artifact",
        description: "auto (default): upload the restore-test report (pg_restore log, assertion and command output) as a workflow artifact when the artifact service is available, with a notice when it is not; never: do not upload.",
        type: "choice",
        choices: AUTO_OR_NEVER,
        default: "auto",
        actionOnly: true,
        value: "MODE",
    },
    databaseUrl: {
        name: "database-url",
        description: "PostgreSQL connection URL of the database to back up: postgresql://user:password@host:port/database.",
        type: "database-url",
        required: true,
        env: "DATABASE_URL",
        secret: true,
        value: "URL",
        expected: "postgresql://user:password@host:port/database",
    },
    recipient: {
        name: "recipient",
        description: "age public key (age1...) that can decrypt the backup; several for key rotation (repeat the flag, or one per line in the action). Only public keys: the backup never needs a secret.",
        type: "list",
        env: "LIFEBOAT_RECIPIENTS",
        value: "AGE1...",
    },
    passphrase: {
        name: "passphrase",
        description: "Encrypt with this passphrase (age scrypt) instead of public keys. In the CLI use --passphrase-file or LIFEBOAT_PASSPHRASE.",
        type: "string",
        secret: true,
        actionOnly: true,
        env: "LIFEBOAT_PASSPHRASE",
    },
    passphraseFile: {
        name: "passphrase-file",
        description: "Read the passphrase (age scrypt) from this file instead of using public keys; its first line counts.",
        type: "path",
        cliOnly: true,
        value: "PATH",
    },
    encryption: {
        name: "encryption",
        description: "age (default), or none to store the dump unencrypted (an explicit opt-out).",
        type: "choice",
        choices: ["age", "none"],
        default: "age",
        value: "MODE",
    },
    noEncryption: {
        name: "no-encryption",
        description: "Same as --encryption none.",
        type: "boolean",
        cliOnly: true,
    },
    compression: {
        name: "compression",
        description: "Lifeboat's compression of the dump (pg_dump writes it uncompressed): zstd[:1-22], gzip[:1-9] or none; auto is zstd:1.",
        type: "string",
        default: "auto",
        value: "METHOD",
    },
    schemaOnly: {
        name: "schema-only",
        description: "Dump the schema only, no data.",
        type: "boolean",
        default: "false",
    },
    dataOnly: {
        name: "data-only",
        description: "Dump the data only, no schema.",
        type: "boolean",
        default: "false",
    },
    includeSchema: {
        name: "include-schema",
        description: "Dump only schemas matching this pg_dump pattern (repeatable; one per line in the action).",
        type: "list",
        value: "PATTERN",
    },
    excludeSchema: {
        name: "exclude-schema",
        description: "Leave out schemas matching this pg_dump pattern (repeatable).",
        type: "list",
        value: "PATTERN",
    },
    includeTable: {
        name: "include-table",
        description: "Dump only tables matching this pg_dump pattern (repeatable).",
        type: "list",
        value: "PATTERN",
    },
    excludeTable: {
        name: "exclude-table",
        description: "Leave out tables matching this pg_dump pattern (repeatable).",
        type: "list",
        value: "PATTERN",
    },
    excludeTableData: {
        name: "exclude-table-data",
        description: "Keep these tables' definitions but not their rows (repeatable).",
        type: "list",
        value: "PATTERN",
    },
    preset: {
        name: "preset",
        description: "none (default), or supabase: the schemas a Supabase project's user owns in full, the data of auth and storage, none of the platform's own schemas, plus the roles (docs/supabase.md).",
        type: "choice",
        choices: ["none", "supabase"],
        default: "none",
        value: "NAME",
    },
    includeRoles: {
        name: "include-roles",
        description: "auto (default: true with preset supabase), true or false: also store the roles (pg_dumpall --roles-only --no-role-passwords) as a second encrypted object, roles.sql.age, that restore-test applies first.",
        type: "true-false",
        choices: ["auto"],
        default: "auto",
        value: "BOOL",
    },
    pgDumpArgs: {
        name: "pg-dump-args",
        description: "Extra pg_dump arguments, separated by spaces (e.g. --no-owner --no-privileges). Output, format, connection and scope flags are refused: they have options of their own.",
        type: "string",
        value: "ARGS",
    },
    keepLast: keepCount("last"),
    keepHourly: keepCount("hourly"),
    keepDaily: keepCount("daily"),
    keepWeekly: keepCount("weekly"),
    keepMonthly: keepCount("monthly"),
    keepYearly: keepCount("yearly"),
    keepWithin: {
        name: "keep-within",
        description: "Keep every backup taken less than this long before the newest backup: a duration such as 36h, 7d, 2w or 1d12h (units w, d, h, m, s).",
        type: "duration",
        value: "DURATION",
    },
    minVerified: {
        name: "min-verified",
        description: "Never leave fewer than this many backups with a passing restore-test or deep verify (when fewer exist, every one is kept and prune warns).",
        type: "integer",
        min: 0,
        default: "1",
        value: "N",
    },
    safeAge: {
        name: "safe-age",
        description: "Folders without a manifest (failed or interrupted backups) are removed only once older than this (at least 1h), so a backup in flight is never touched.",
        type: "duration",
        atLeast: "1h",
        atLeastWhy: "so that a backup in flight is never removed",
        default: "24h",
        value: "DURATION",
    },
    dryRun: {
        name: "dry-run",
        description: "Print every decision with its reason and delete nothing.",
        type: "boolean",
        default: "false",
    },
    identityFile: {
        name: "identity-file",
        description: "File holding the age identity (AGE-SECRET-KEY-1...) that decrypts the backup. Only jobs that decrypt need it.",
        type: "path",
        cliOnly: true,
        value: "PATH",
    },
    identity: {
        name: "identity",
        description: "The age identity (AGE-SECRET-KEY-1...) that decrypts the backup, e.g. from a secret. In the CLI use --identity-file or LIFEBOAT_IDENTITY.",
        type: "string",
        secret: true,
        actionOnly: true,
        env: "LIFEBOAT_IDENTITY",
    },
    backup: {
        name: "backup",
        description: "Which backup: latest (the newest committed one under the label) or a backup id.",
        type: "string",
        default: "latest",
        value: "ID",
    },
    maxAge: {
        name: "max-age",
        description: "Fail when the newest backup under the label is older than this (e.g. 26h): a dead-man's switch for scheduled backups.",
        type: "duration",
        value: "DURATION",
    },
    maxSizeChange: {
        name: "max-size-change",
        description: "Fail (or warn, see size-change-action) when the stored size moved more than this against the previous backup, e.g. 50%.",
        type: "percent",
        value: "PERCENT",
    },
    sizeChangeAction: {
        name: "size-change-action",
        description: "fail (default) or warn when max-size-change is exceeded.",
        type: "choice",
        choices: ["fail", "warn"],
        default: "fail",
        value: "ACTION",
    },
    minSize: {
        name: "min-size",
        description: "Fail when the stored object is smaller than this, e.g. 1MB.",
        type: "size",
        value: "SIZE",
    },
    scratchDatabaseUrl: {
        name: "scratch-database-url",
        description: "PostgreSQL server to restore into, as a URL whose role may CREATE DATABASE (a service container's superuser, say). A fresh database with a unique name is created there and dropped afterwards.",
        type: "database-url",
        required: true,
        secret: true,
        env: "LIFEBOAT_SCRATCH_DATABASE_URL",
        value: "URL",
        expected: "postgresql://user:password@host:port/postgres",
    },
    assertions: {
        name: "assertions",
        description: "SQL file of checks run against the restored copy: every statement must return one row whose first column is true.",
        type: "path",
        value: "PATH",
    },
    run: {
        name: "run",
        description: "Shell command run against the restored copy, with DATABASE_URL (and PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD) pointing at it: where a deploy's migrations are rehearsed on real data.",
        type: "string",
        value: "COMMAND",
    },
    tolerate: {
        name: "tolerate",
        description: "Regular expression for pg_restore errors that do not fail the test (repeatable; one per line in the action), e.g. role .* does not exist.",
        type: "list",
        value: "REGEX",
    },
    keepOnFailure: {
        name: "keep-on-failure",
        description: "Keep the scratch database when the test fails, for inspection.",
        type: "boolean",
        default: "false",
    },
    decryptToDisk: {
        name: "decrypt-to-disk",
        description: "auto (default): decrypt to a private temporary file when it fits on local disk, for a parallel pg_restore; never: stream into pg_restore, so no plaintext ever touches the disk.",
        type: "choice",
        choices: AUTO_OR_NEVER,
        default: "auto",
        value: "MODE",
    },
    jobs: {
        name: "jobs",
        description: "pg_restore's parallel jobs when the decrypted archive fits on local disk (default: CPUs, at most 4).",
        type: "integer",
        min: 1,
        max: 64,
        value: "N",
    },
    pgRestoreArgs: {
        name: "pg-restore-args",
        description: "Extra pg_restore arguments, separated by spaces (e.g. --no-owner --no-privileges). Connection, output, list and job flags are refused.",
        type: "string",
        value: "ARGS",
    },
    targetDatabaseUrl: {
        name: "target-database-url",
        description: "PostgreSQL connection URL of the database to restore into (it must exist): postgresql://user:password@host:port/database.",
        type: "database-url",
        required: true,
        secret: true,
        env: "LIFEBOAT_TARGET_DATABASE_URL",
        value: "URL",
        expected: "postgresql://user:password@host:port/database",
    },
    confirm: {
        name: "confirm",
        description: "The target database's name, typed out: the restore is refused unless it equals the database name in target-database-url (and current_database() once connected).",
        type: "string",
        required: true,
        value: "DATABASE",
    },
    safetyBackup: {
        name: "safety-backup",
        description: "true (default): first back up the target database into the same storage, encrypted to the same keys as the backup being restored, so that the restore can be undone; false to skip it.",
        type: "true-false",
        default: "true",
        value: "BOOL",
    },
    safetyLabel: {
        name: "safety-label",
        description: "Label of the safety backup (default: <label>-safety).",
        type: "string",
        value: "NAME",
    },
    schema: {
        name: "schema",
        description: "Restore only this schema (pg_restore --schema; repeatable, one per line in the action). Default: the whole database.",
        type: "list",
        value: "NAME",
    },
    table: {
        name: "table",
        description: "Restore only this table (pg_restore --table; repeatable, one per line in the action). Default: the whole database.",
        type: "list",
        value: "NAME",
    },
    clean: {
        name: "clean",
        description: "Drop each object before recreating it (pg_restore --clean --if-exists); without it, the restore fails on objects that already exist.",
        type: "boolean",
        default: "false",
    },
    noOwner: {
        name: "no-owner",
        description: "Do not set object ownership to the original owners (pg_restore --no-owner).",
        type: "boolean",
        default: "false",
    },
    noPrivileges: {
        name: "no-privileges",
        description: "Do not restore access privileges (GRANT/REVOKE) (pg_restore --no-privileges).",
        type: "boolean",
        default: "false",
    },
    output: {
        name: "output",
        description: "File to write the identity to (created with mode 0600; refused if it exists).",
        type: "path",
        required: true,
        value: "PATH",
        expected: "a path for the new identity file",
    },
};
/** The same option in a command's own words: only the description may differ. */
function worded(option, description) {
    return { ...option, description };
}
const storageOptions = [
    OPTIONS.storage,
    OPTIONS.label,
    OPTIONS.s3Endpoint,
    OPTIONS.s3Region,
    OPTIONS.s3ForcePathStyle,
    OPTIONS.s3Checksums,
];
/** How the PostgreSQL client tools are chosen, and installed when missing (docs/pg-client.md). */
const pgClientOptions = (tool) => tool === "pg_dump"
    ? [OPTIONS.pgVersion, OPTIONS.installPgClient]
    : [
        worded(OPTIONS.pgVersion, "Major version of pg_restore to use: auto (default: one that reads the archive, the same major as the pg_dump that made it when present) or a major such as 17."),
        worded(OPTIONS.installPgClient, OPTIONS.installPgClient.description.replace("no suitable pg_dump", "no suitable pg_restore")),
    ];
/** Where an action reports: the job summary always; a pull request comment and Slack on request. */
const reportOptions = [OPTIONS.commentOnPr, OPTIONS.githubToken, ...CHANNEL_OPTIONS];
const backupOptions = [
    OPTIONS.databaseUrl,
    ...storageOptions,
    OPTIONS.recipient,
    OPTIONS.passphrase,
    OPTIONS.passphraseFile,
    OPTIONS.encryption,
    OPTIONS.noEncryption,
    OPTIONS.compression,
    OPTIONS.schemaOnly,
    OPTIONS.dataOnly,
    OPTIONS.includeSchema,
    OPTIONS.excludeSchema,
    OPTIONS.includeTable,
    OPTIONS.excludeTable,
    OPTIONS.excludeTableData,
    OPTIONS.preset,
    OPTIONS.includeRoles,
    OPTIONS.pgDumpArgs,
    OPTIONS.pgBinDir,
    ...pgClientOptions("pg_dump"),
    OPTIONS.s3Sse,
    OPTIONS.objectLockMode,
    OPTIONS.objectLockDays,
    OPTIONS.s3SseKmsKeyId,
];
const pruneOptions = [
    ...storageOptions,
    OPTIONS.keepLast,
    OPTIONS.keepHourly,
    OPTIONS.keepDaily,
    OPTIONS.keepWeekly,
    OPTIONS.keepMonthly,
    OPTIONS.keepYearly,
    OPTIONS.keepWithin,
    OPTIONS.minVerified,
    OPTIONS.safeAge,
    OPTIONS.dryRun,
];
const decryptionOptions = [
    OPTIONS.identityFile,
    OPTIONS.identity,
    worded(OPTIONS.passphraseFile, "For a backup made with a passphrase: a file whose first line is the passphrase."),
    worded(OPTIONS.passphrase, "For a backup made with a passphrase: the passphrase. In the CLI use --passphrase-file or LIFEBOAT_PASSPHRASE."),
    worded(OPTIONS.pgBinDir, "Directory holding the pg_restore to use. By default one that reads the archive's version, from /usr/lib/postgresql/<major>/bin or PATH."),
    ...pgClientOptions("pg_restore"),
];
const verifyOptions = [
    ...storageOptions,
    OPTIONS.backup,
    ...decryptionOptions,
    OPTIONS.maxAge,
    OPTIONS.maxSizeChange,
    OPTIONS.sizeChangeAction,
    OPTIONS.minSize,
];
const restoreTestOptions = [
    ...storageOptions,
    OPTIONS.backup,
    ...decryptionOptions,
    OPTIONS.scratchDatabaseUrl,
    OPTIONS.assertions,
    OPTIONS.run,
    OPTIONS.tolerate,
    OPTIONS.keepOnFailure,
    OPTIONS.decryptToDisk,
    OPTIONS.jobs,
    OPTIONS.pgRestoreArgs,
];
const restoreOptions = [
    ...storageOptions,
    worded(OPTIONS.backup, "Which backup to restore: latest (the newest committed one under the label), a backup id, or before:<ISO time> (the newest one started at or before it, e.g. before:2026-11-22T01:00:00Z)."),
    ...decryptionOptions,
    OPTIONS.targetDatabaseUrl,
    OPTIONS.confirm,
    OPTIONS.safetyBackup,
    OPTIONS.safetyLabel,
    OPTIONS.schema,
    OPTIONS.table,
    OPTIONS.clean,
    OPTIONS.noOwner,
    OPTIONS.noPrivileges,
];
const COMMANDS = [
    {
        command: "backup",
        action: "backup-db",
        summary: "Dump a PostgreSQL database with pg_dump, encrypt it with age and stream it into storage.",
        options: [...backupOptions, ...reportOptions],
        outputs: [
            { name: "backup-id", description: "Id of the new backup (YYYYMMDDTHHMMSSZ-<random>)." },
            { name: "backup-key", description: "Storage key of the encrypted dump, relative to the storage URL." },
            { name: "manifest-key", description: "Storage key of the manifest, relative to the storage URL." },
            { name: "stored-bytes", description: "Size of the stored dump object in bytes." },
            { name: "sha256", description: "sha256 of the stored dump object." },
            { name: "duration-seconds", description: "Wall time of the backup in seconds." },
        ],
    },
    {
        command: "list",
        summary: "List the backups under a label, newest first.",
        options: storageOptions,
        outputs: [],
    },
    {
        command: "prune",
        action: "prune",
        summary: "Delete the backups a retention policy does not keep: never the newest, never below min-verified, never a locked one.",
        options: [...pruneOptions, ...reportOptions],
        outputs: [
            { name: "kept", description: "Number of backups kept." },
            {
                name: "deleted",
                description: "Number of backup folders deleted (with dry-run: that would be deleted), incomplete ones included.",
            },
            {
                name: "freed-bytes",
                description: "Bytes freed by the deletions (with dry-run: that would be freed).",
            },
        ],
    },
    {
        command: "verify",
        action: "verify-backup",
        summary: "Check a backup against its manifest: the stored object's sha256 and size, and with the identity its decrypted archive; plus freshness and size gates.",
        options: [...verifyOptions, ...reportOptions],
        outputs: [
            { name: "verified", description: "true when every check passed, else false." },
            { name: "backup-id", description: "Id of the backup that was checked." },
            { name: "backup-age-seconds", description: "Age of that backup in seconds." },
            { name: "stored-bytes", description: "Size of its stored object in bytes." },
            { name: "reason", description: "Why verification failed (empty when it passed)." },
        ],
    },
    {
        command: "restore-test",
        action: "restore-test",
        summary: "Restore a backup into a fresh scratch database, compare every table's row count with the manifest, run assertions and a command against it, then drop it.",
        options: [...restoreTestOptions, ...reportOptions, OPTIONS.reportArtifact],
        outputs: [
            { name: "passed", description: "true when the restore and every check passed, else false." },
            { name: "backup-id", description: "Id of the backup that was restored." },
            { name: "restore-seconds", description: "Seconds from the first byte read to the end of pg_restore." },
            { name: "tables-checked", description: "Number of tables whose row counts were compared." },
            { name: "mismatches", description: "Number of tables whose row count differs from the manifest." },
            { name: "reason", description: "Why the test failed (empty when it passed)." },
        ],
    },
    {
        command: "restore",
        action: "restore-db",
        summary: "Restore a backup into a target database, refused unless confirm names it; a safety backup of the target is taken first.",
        options: [...restoreOptions, ...reportOptions],
        outputs: [
            { name: "backup-id", description: "Id of the backup that was restored." },
            {
                name: "safety-backup-id",
                description: "Id of the safety backup of the target taken before the restore (under safety-label); empty when safety-backup is false.",
            },
            { name: "restore-seconds", description: "Seconds from the first byte read to the end of pg_restore." },
        ],
    },
    {
        command: "doctor",
        summary: "Diagnose a connection before a backup: DNS and IPv4/IPv6 reachability, Supabase poolers, TLS, authentication, the server's version, and a pg_dump that can dump it.",
        options: [
            OPTIONS.databaseUrl,
            worded(OPTIONS.preset, "none (default), or supabase: check privileges only in the schemas the supabase preset dumps."),
            OPTIONS.pgBinDir,
            ...pgClientOptions("pg_dump"),
        ],
        outputs: [],
    },
    {
        command: "keygen",
        summary: "Make an age key pair: the identity (secret) to a file, the recipient (public) to stdout.",
        options: [OPTIONS.output],
        outputs: [],
    },
];
const GLOBAL_CLI_OPTIONS = [
    { name: "json", description: "Print one JSON object with the result on stdout.", type: "boolean" },
    { name: "debug", description: "Print stack traces with errors.", type: "boolean" },
    { name: "help", description: "Show this help.", type: "boolean" },
];
function commandSpec(command) {
    const spec = COMMANDS.find((candidate) => candidate.command === command);
    if (!spec)
        throw new Error(`no command ${command}`);
    return spec;
}
/**
 * The option's description, naming its accepted values when the description does not already:
 * --help and action.yml both show it, so a choice added to the table is never missing from either.
 */
function describeOption(option) {
    const accepted = option.type === "choice"
        ? [...(option.choices ?? [])]
        : option.type === "true-false"
            ? [...(option.choices ?? []), "true", "false"]
            : [];
    const unnamed = accepted.filter((choice) => !option.description.includes(choice));
    return unnamed.length === 0 ? option.description : `${option.description} One of: ${accepted.join(", ")}.`;
}

;// CONCATENATED MODULE: ./src/settings/settings.ts
/**
 * Raw option values (from CLI flags and the environment, or from action inputs) parsed once into
 * typed settings. Each option is read by its table entry (spec.ts, through read-option.ts) and
 * the rules between options are lists checked by rules.ts; this file only assembles the result
 * and reads the files some options name. Every error names the option and what was expected, and
 * is raised before anything is read from or written to a database or a store.
 */












/** The first line of a file an option names (a passphrase), or an error naming the option. */
function readOptionFile(option, path) {
    try {
        return (0,external_node_fs_.readFileSync)(path, "utf8");
    }
    catch (error) {
        throw new domain_errors/* InputError */.dz(`--${option.name} "${path}": cannot read it (${error.code ?? "error"})`, { input: option.name });
    }
}
/** passphrase-file (CLI) wins over passphrase (action input, or LIFEBOAT_PASSPHRASE). */
function resolvePassphrase(values) {
    if (values.passphraseFile === undefined)
        return values.passphrase;
    const passphrase = readOptionFile(OPTIONS.passphraseFile, values.passphraseFile).split(/\r?\n/)[0];
    if (!passphrase) {
        throw new domain_errors/* InputError */.dz(`--${OPTIONS.passphraseFile.name} "${values.passphraseFile}": the first line is empty`, {
            input: OPTIONS.passphraseFile.name,
        });
    }
    return passphrase;
}
const PG_CLIENT = {
    pgBinDir: OPTIONS.pgBinDir,
    pgVersion: OPTIONS.pgVersion,
    installPgClient: OPTIONS.installPgClient,
};
/** pg-bin-dir, pg-version (auto or a major such as 17) and install-pg-client (auto or never). */
function parsePgClientSettings(raw) {
    return read_option_readOptions(raw, PG_CLIENT);
}
const STORAGE = {
    storage: OPTIONS.storage,
    label: OPTIONS.label,
    endpoint: OPTIONS.s3Endpoint,
    region: OPTIONS.s3Region,
    forcePathStyle: OPTIONS.s3ForcePathStyle,
    checksums: OPTIONS.s3Checksums,
    sse: OPTIONS.s3Sse,
    sseKmsKeyId: OPTIONS.s3SseKmsKeyId,
};
const STORAGE_RULES = [
    {
        name: "a KMS key only with aws:kms",
        input: OPTIONS.s3SseKmsKeyId,
        broken: (v) => v.sseKmsKeyId !== undefined && v.sse !== "aws:kms",
        message: () => "--s3-sse-kms-key-id: only used with --s3-sse aws:kms",
    },
];
function parseStorageSettings(raw) {
    const { storage, label, ...s3 } = read_option_readOptions(raw, STORAGE);
    checkRules({ storage, label, ...s3 }, STORAGE_RULES);
    return { storage, label: validateLabel(label), s3 };
}
const ENCRYPTION = {
    mode: OPTIONS.encryption,
    noEncryption: OPTIONS.noEncryption,
    recipients: OPTIONS.recipient,
    passphrase: OPTIONS.passphrase,
    passphraseFile: OPTIONS.passphraseFile,
};
/** An unencrypted backup is never made by accident: `none` is said out loud, and alone. */
const ENCRYPTION_RULES = [
    {
        name: "none takes no keys",
        input: OPTIONS.encryption,
        broken: (v) => v.mode === "none" && (v.recipients.length > 0 || v.passphrase !== undefined),
        message: () => "--encryption none: remove --recipient and the passphrase, or drop --encryption none",
    },
    {
        name: "recipients or a passphrase, not both",
        input: OPTIONS.recipient,
        broken: (v) => v.mode === "age" && v.recipients.length > 0 && v.passphrase !== undefined,
        message: () => "--recipient and a passphrase: choose one (age allows a passphrase only on its own)",
    },
    {
        name: "age needs a key",
        input: OPTIONS.recipient,
        broken: (v) => v.mode === "age" && v.recipients.length === 0 && v.passphrase === undefined,
        message: () => "--recipient: required; expected an age public key (age1...), or a passphrase (--passphrase-file / LIFEBOAT_PASSPHRASE), or --encryption none to opt out of encryption",
    },
];
/** Encryption: public recipients, or one passphrase, or an explicit `none`. */
function parseEncryptionSettings(raw) {
    const read = read_option_readOptions(raw, ENCRYPTION);
    const values = {
        ...read,
        mode: read.noEncryption ? "none" : read.mode,
        passphrase: resolvePassphrase(read),
    };
    checkRules(values, ENCRYPTION_RULES);
    if (values.mode === "none")
        return { kind: "none" };
    if (values.passphrase !== undefined)
        return { kind: "passphrase", passphrase: values.passphrase };
    return { kind: "recipients", recipients: values.recipients };
}
const BACKUP = {
    databaseUrl: OPTIONS.databaseUrl,
    compression: OPTIONS.compression,
    schemaOnly: OPTIONS.schemaOnly,
    dataOnly: OPTIONS.dataOnly,
    includeSchemas: OPTIONS.includeSchema,
    excludeSchemas: OPTIONS.excludeSchema,
    includeTables: OPTIONS.includeTable,
    excludeTables: OPTIONS.excludeTable,
    excludeTableData: OPTIONS.excludeTableData,
    preset: OPTIONS.preset,
    includeRoles: OPTIONS.includeRoles,
    pgDumpArgs: OPTIONS.pgDumpArgs,
    objectLockMode: OPTIONS.objectLockMode,
    objectLockDays: OPTIONS.objectLockDays,
};
const hasObjectLock = (v) => v.objectLockMode !== undefined || v.objectLockDays !== undefined;
/**
 * Object Lock needs both options, an s3:// storage, and request checksums: S3 refuses locked
 * uploads without one, so the checksum mode follows unless the user set it otherwise.
 */
const BACKUP_RULES = [
    {
        name: "schema only or data only",
        input: OPTIONS.schemaOnly,
        broken: (v) => v.schemaOnly && v.dataOnly,
        message: () => "--schema-only and --data-only: choose one, not both",
    },
    {
        name: "object-lock days with the mode",
        input: OPTIONS.objectLockMode,
        broken: (v) => v.objectLockMode === undefined && v.objectLockDays !== undefined,
        message: () => "--object-lock-mode: required with --object-lock-mode and --object-lock-days together",
    },
    {
        name: "object-lock mode with the days",
        input: OPTIONS.objectLockDays,
        broken: (v) => v.objectLockMode !== undefined && v.objectLockDays === undefined,
        message: () => "--object-lock-days: required with --object-lock-mode and --object-lock-days together",
    },
    {
        name: "object lock only on S3",
        input: OPTIONS.objectLockMode,
        broken: (v) => hasObjectLock(v) && !v.storage.storage.startsWith("s3://"),
        message: () => "--object-lock-mode: needs s3:// storage with Object Lock enabled on the bucket",
    },
    {
        name: "object lock needs checksums",
        input: OPTIONS.s3Checksums,
        broken: (v) => hasObjectLock(v) && v.checksumsGiven && v.storage.s3.checksums === "when-required",
        message: () => "--s3-checksums when-required: S3 refuses object-locked uploads without a checksum; drop it or use when-supported",
    },
];
function parseBackupSettings(raw) {
    const v = read_option_readOptions(raw, BACKUP);
    const storage = parseStorageSettings(raw);
    checkRules({ ...v, storage, checksumsGiven: isGiven(raw, OPTIONS.s3Checksums) }, BACKUP_RULES);
    const scope = applyPreset(v.preset, {
        ...emptyScope(),
        schemaOnly: v.schemaOnly,
        dataOnly: v.dataOnly,
        includeSchemas: v.includeSchemas,
        excludeSchemas: v.excludeSchemas,
        includeTables: v.includeTables,
        excludeTables: v.excludeTables,
        excludeTableData: v.excludeTableData,
    });
    const extraArgs = v.pgDumpArgs === undefined ? [] : parsePgDumpArgs(v.pgDumpArgs, OPTIONS.pgDumpArgs.name);
    let objectLock;
    if (v.objectLockMode !== undefined && v.objectLockDays !== undefined) {
        objectLock = { mode: v.objectLockMode, days: v.objectLockDays };
        storage.s3.checksums = "when-supported";
    }
    return {
        ...storage,
        objectLock,
        databaseUrl: v.databaseUrl,
        encryption: parseEncryptionSettings(raw),
        compression: v.compression,
        scope,
        extraArgs,
        ...parsePgClientSettings(raw),
        preset: v.preset,
        // auto: the roles belong to a Supabase dump, not to a plain one.
        includeRoles: v.includeRoles === "auto" ? v.preset === "supabase" : v.includeRoles,
    };
}
const PRUNE = {
    keepLast: OPTIONS.keepLast,
    keepHourly: OPTIONS.keepHourly,
    keepDaily: OPTIONS.keepDaily,
    keepWeekly: OPTIONS.keepWeekly,
    keepMonthly: OPTIONS.keepMonthly,
    keepYearly: OPTIONS.keepYearly,
    keepWithin: OPTIONS.keepWithin,
    minVerified: OPTIONS.minVerified,
    safeAge: OPTIONS.safeAge,
    dryRun: OPTIONS.dryRun,
};
function parsePruneSettings(raw) {
    const v = read_option_readOptions(raw, PRUNE);
    // An absent keep-* option is no rule of that kind: 0.
    const policy = {
        keepLast: v.keepLast ?? 0,
        keepHourly: v.keepHourly ?? 0,
        keepDaily: v.keepDaily ?? 0,
        keepWeekly: v.keepWeekly ?? 0,
        keepMonthly: v.keepMonthly ?? 0,
        keepYearly: v.keepYearly ?? 0,
        keepWithinMs: v.keepWithin ?? 0,
        minVerified: v.minVerified,
        safeAgeMs: v.safeAge,
    };
    validatePolicy(policy);
    return { ...parseStorageSettings(raw), policy, dryRun: v.dryRun };
}
const DECRYPTION = {
    identityFile: OPTIONS.identityFile,
    identity: OPTIONS.identity,
    passphraseFile: OPTIONS.passphraseFile,
    passphrase: OPTIONS.passphrase,
};
const DECRYPTION_RULES = [
    {
        name: "one key",
        input: OPTIONS.identityFile,
        broken: (keys) => keys.identityText !== undefined && keys.passphrase !== undefined,
        message: () => "--identity-file and a passphrase: give the one the backup was made with",
    },
];
/** The key that decrypts a backup: an identity (file in the CLI, text in the action) or a passphrase. */
function parseDecryptionKeys(raw) {
    const v = read_option_readOptions(raw, DECRYPTION);
    const keys = {
        identityText: v.identityFile === undefined ? v.identity : readOptionFile(OPTIONS.identityFile, v.identityFile),
        passphrase: resolvePassphrase(v),
    };
    checkRules(keys, DECRYPTION_RULES);
    return keys;
}
/** What verify, restore-test and restore share: which backup, where, the key, and pg_restore. */
function parseBackupSource(raw, storage = parseStorageSettings(raw)) {
    return {
        ...storage,
        backup: read_option_readOptions(raw, { backup: OPTIONS.backup }).backup,
        keys: parseDecryptionKeys(raw),
        ...parsePgClientSettings(raw),
    };
}
const VERIFY = {
    maxAge: OPTIONS.maxAge,
    maxSizeChange: OPTIONS.maxSizeChange,
    sizeChangeAction: OPTIONS.sizeChangeAction,
    minSize: OPTIONS.minSize,
};
function parseVerifySettings(raw) {
    const v = read_option_readOptions(raw, VERIFY);
    return {
        ...parseBackupSource(raw),
        gates: {
            maxAgeSeconds: v.maxAge === undefined ? undefined : v.maxAge / 1000,
            maxSizeChange: v.maxSizeChange,
            sizeChangeAction: v.sizeChangeAction,
            minSizeBytes: v.minSize,
        },
    };
}
/** pg_restore's default parallelism: the CPUs, at most 4 (more rarely helps a scratch server). */
function defaultJobs() {
    return Math.max(1, Math.min(4, (0,external_node_os_.availableParallelism)()));
}
const RESTORE_TEST = {
    scratchUrl: OPTIONS.scratchDatabaseUrl,
    assertions: OPTIONS.assertions,
    run: OPTIONS.run,
    tolerate: OPTIONS.tolerate,
    keepOnFailure: OPTIONS.keepOnFailure,
    decryptToDisk: OPTIONS.decryptToDisk,
    jobs: OPTIONS.jobs,
    pgRestoreArgs: OPTIONS.pgRestoreArgs,
};
function readAssertions(path) {
    if (path === undefined)
        return undefined;
    const option = OPTIONS.assertions;
    const split = splitSqlStatements(readOptionFile(option, path));
    if (split.problem) {
        throw new domain_errors/* InputError */.dz(`--${option.name} "${path}": does not parse: ${split.problem}`, {
            input: option.name,
        });
    }
    if (split.statements.length === 0) {
        throw new domain_errors/* InputError */.dz(`--${option.name} "${path}": holds no SQL statement`, { input: option.name });
    }
    return { path, statements: split.statements };
}
function compileTolerate(pattern) {
    try {
        return new RegExp(pattern);
    }
    catch (error) {
        throw new domain_errors/* InputError */.dz(`--${OPTIONS.tolerate.name} "${pattern}": not a regular expression (${error.message})`, { input: OPTIONS.tolerate.name });
    }
}
function parseRestoreTestSettings(raw) {
    const v = read_option_readOptions(raw, RESTORE_TEST);
    return {
        ...parseBackupSource(raw),
        scratchUrl: v.scratchUrl,
        assertions: readAssertions(v.assertions),
        run: v.run,
        tolerate: v.tolerate.map(compileTolerate),
        keepOnFailure: v.keepOnFailure,
        decryptToDisk: v.decryptToDisk,
        jobs: v.jobs ?? defaultJobs(),
        pgRestoreArgs: v.pgRestoreArgs === undefined ? [] : parsePgRestoreArgs(v.pgRestoreArgs, OPTIONS.pgRestoreArgs.name),
    };
}
const RESTORE = {
    targetUrl: OPTIONS.targetDatabaseUrl,
    // Required, but its error names the target's database, so the rules below say it is missing.
    confirm: { ...OPTIONS.confirm, required: false },
    safetyBackup: OPTIONS.safetyBackup,
    safetyLabel: OPTIONS.safetyLabel,
    schemas: OPTIONS.schema,
    tables: OPTIONS.table,
    clean: OPTIONS.clean,
    noOwner: OPTIONS.noOwner,
    noPrivileges: OPTIONS.noPrivileges,
};
function isLabel(label) {
    try {
        validateLabel(label);
        return true;
    }
    catch {
        return false;
    }
}
const defaultSafetyLabel = (label) => `${label}-safety`;
/**
 * The target and its confirmation are checked here (the name typed in `confirm` against the
 * database name in the URL) and again against current_database() once connected.
 */
const RESTORE_RULES = [
    {
        name: "confirm given",
        input: OPTIONS.confirm,
        broken: (v) => v.confirm === undefined,
        message: (v) => `--confirm: required; expected the target database's name ("${v.targetUrl.database}"), typed out to confirm that it is overwritten`,
    },
    {
        name: "confirm names the target database",
        input: OPTIONS.confirm,
        broken: (v) => v.confirm !== v.targetUrl.database,
        message: (v) => `--confirm "${v.confirm}": expected the target database's name "${v.targetUrl.database}" (from --target-database-url); nothing was restored`,
    },
    {
        name: "the default safety label fits",
        input: OPTIONS.safetyLabel,
        broken: (v) => v.safetyLabel === undefined && !isLabel(defaultSafetyLabel(v.label)),
        message: (v) => `--label "${v.label}": the safety label "${defaultSafetyLabel(v.label)}" is too long; give --safety-label`,
    },
    {
        name: "the safety label differs from the label",
        input: OPTIONS.safetyLabel,
        broken: (v) => (v.safetyLabel ?? defaultSafetyLabel(v.label)) === v.label,
        message: (v) => `--safety-label "${v.safetyLabel}": expected a label other than the one being restored from`,
    },
];
function parseRestoreSettings(raw) {
    const v = read_option_readOptions(raw, RESTORE);
    if (v.safetyLabel !== undefined)
        validateLabel(v.safetyLabel);
    const storage = parseStorageSettings(raw);
    // The confirmation first: a restore with the wrong target says so before anything else.
    checkRules({ ...v, label: storage.label }, RESTORE_RULES);
    return {
        ...parseBackupSource(raw, storage),
        ...v,
        confirm: v.confirm,
        safetyLabel: v.safetyLabel ?? defaultSafetyLabel(storage.label),
    };
}

// EXTERNAL MODULE: external "node:stream/promises"
var promises_ = __webpack_require__(6466);
// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __webpack_require__(7075);
// EXTERNAL MODULE: external "node:zlib"
var external_node_zlib_ = __webpack_require__(8522);
;// CONCATENATED MODULE: ./src/compress/parallel-compress.ts
/**
 * Compression on several cores: the input is cut into fixed-size chunks, each compressed as an
 * independent zstd frame (or gzip member) by zlib's one-shot asynchronous call, which runs on the
 * libuv thread pool, and the results are emitted in input order. Concatenated zstd frames are one
 * valid zstd stream, and concatenated gzip members one valid gzip stream, so `zstd -d`, `gzip -d`
 * and our decompressor read the output as they read a single-threaded one. Memory is bounded: at
 * most `threads + 1` chunks are in flight, and no new input is taken while the reader lags behind.
 *
 * Why the thread pool rather than worker_threads (both built and measured, docs/benchmarks.md): the
 * same parallelism and CPU time, ~80 MB less peak RSS (each worker is an isolate of its own, ~10 MB,
 * and the buffers passed through workers were collected late), and no thread to start or stop.
 */



function zstdOptions(level, inputLength) {
    return {
        // One output chunk of the worst-case size: one callback per frame, not one per 16 KiB.
        chunkSize: inputLength + (inputLength >> 7) + 65536,
        params: { [external_node_zlib_.constants.ZSTD_c_compressionLevel]: level, [external_node_zlib_.constants.ZSTD_c_checksumFlag]: 1 },
    };
}
function gzipOptions(level, inputLength) {
    return { chunkSize: inputLength + (inputLength >> 7) + 65536, level };
}
/** One frame of empty input, so that empty input still gives a valid stream, as zlib's does. */
function emptyFrame(method, level) {
    return method === "zstd"
        ? (0,external_node_zlib_.zstdCompressSync)(Buffer.alloc(0), zstdOptions(level, 0))
        : (0,external_node_zlib_.gzipSync)(Buffer.alloc(0), gzipOptions(level, 0));
}
class ParallelCompressStream extends external_node_stream_.Transform {
    #options;
    #maxInFlight;
    #results = new Map();
    /** Input buffers whose compression is done, refilled rather than allocated anew. */
    #spare = [];
    #submitted = 0;
    #running = 0;
    #emitted = 0;
    #waiting = [];
    #buffer;
    #filled = 0;
    /** The input callback, held while too much is in flight or the reader lags behind. */
    #held;
    #flushed;
    constructor(options) {
        super({ readableHighWaterMark: options.chunkSize });
        this.#options = options;
        this.#maxInFlight = options.threads + 1;
    }
    /** Chunks being compressed now (for tests: none start once the stream is destroyed). */
    get running() {
        return this.#running;
    }
    _transform(chunk, _encoding, callback) {
        const { chunkSize } = this.#options;
        let offset = 0;
        while (offset < chunk.length) {
            this.#buffer ??= this.#spare.pop() ?? Buffer.allocUnsafe(chunkSize);
            const copied = chunk.copy(this.#buffer, this.#filled, offset);
            this.#filled += copied;
            offset += copied;
            if (this.#filled === chunkSize)
                this.#submitFilled();
        }
        if (this.#mustWait())
            this.#held = callback;
        else
            callback();
    }
    _flush(callback) {
        if (this.#filled > 0)
            this.#submitFilled();
        if (this.#submitted === 0)
            this.push(emptyFrame(this.#options.method, this.#options.level));
        this.#flushed = callback;
        this.#finishIfDone();
    }
    _read(size) {
        super._read(size);
        this.#release();
    }
    _destroy(error, callback) {
        // Chunks already in the pool finish there (a few milliseconds each) and are dropped.
        this.#waiting = [];
        this.#results.clear();
        this.#spare.length = 0;
        callback(error);
    }
    #mustWait() {
        return (this.#submitted - this.#emitted >= this.#maxInFlight ||
            this.readableLength >= this.readableHighWaterMark);
    }
    #release() {
        if (this.#held && !this.#mustWait()) {
            const callback = this.#held;
            this.#held = undefined;
            callback();
        }
    }
    #submitFilled() {
        this.#waiting.push({ id: this.#submitted++, input: this.#buffer.subarray(0, this.#filled) });
        this.#buffer = undefined;
        this.#filled = 0;
        this.#start();
    }
    #start() {
        while (this.#running < this.#options.threads && this.#waiting.length > 0 && !this.destroyed) {
            const { id, input } = this.#waiting.shift();
            this.#running++;
            const done = (error, output) => this.#onDone(id, input, error, output);
            const { method, level } = this.#options;
            try {
                if (method === "zstd")
                    (0,external_node_zlib_.zstdCompress)(input, zstdOptions(level, input.length), done);
                else
                    (0,external_node_zlib_.gzip)(input, gzipOptions(level, input.length), done);
            }
            catch (error) {
                // zlib validates its options synchronously.
                process.nextTick(() => done(error, Buffer.alloc(0)));
            }
        }
    }
    #onDone(id, input, error, output) {
        this.#running--;
        if (this.destroyed)
            return;
        if (error) {
            this.destroy(new domain_errors/* OperationError */.OK(`${this.#options.method} compression failed: ${(0,domain_errors/* describeError */.Uc)(error)}`));
            return;
        }
        this.#spare.push(Buffer.from(input.buffer, input.byteOffset, this.#options.chunkSize));
        this.#results.set(id, output);
        this.#start();
        for (let next = this.#results.get(this.#emitted); next; next = this.#results.get(this.#emitted)) {
            this.#results.delete(this.#emitted++);
            this.push(next);
        }
        this.#release();
        this.#finishIfDone();
    }
    #finishIfDone() {
        if (!this.#flushed || this.#emitted < this.#submitted)
            return;
        const callback = this.#flushed;
        this.#flushed = undefined;
        callback();
    }
}

;// CONCATENATED MODULE: ./src/compress/zstd-frames.ts
/**
 * Frame boundaries of a zstd stream (RFC 8878), found without decompressing: enough of each frame
 * header and block header is read to know where the frame ends.
 *
 * Why: Node's zstd decompressor (zlib.createZstdDecompress, Node 24) ends its output when a frame
 * ends inside an input chunk, silently dropping every frame after it; it decodes concatenated
 * frames correctly only when each write ends at a frame boundary. ZstdFrameSplitter re-chunks the
 * stream so that none of its chunks crosses one, and fails on input that is not zstd frames or that
 * ends inside a frame.
 */


const FRAME_MAGIC = 0xfd2fb528;
/** Skippable frames have magics 0x184D2A50 to 0x184D2A5F. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const MAX_BLOCK_SIZE = 128 * 1024;
const DICTIONARY_ID_SIZES = [0, 1, 2, 4];
const CONTENT_SIZE_SIZES = [0, 2, 4, 8];
/** States whose bytes are read as a value; the others are passed over. */
const READ = new Set([
    "magic",
    "frame-header-descriptor",
    "block-header",
    "skippable-size",
]);
function corrupt(detail) {
    return new domain_errors/* OperationError */.OK(`the zstd stream is corrupted: ${detail}`);
}
class ZstdFrameSplitter extends external_node_stream_.Transform {
    #state = "magic";
    #need = 4;
    #field = Buffer.alloc(4);
    #fieldLength = 0;
    #hasChecksum = false;
    #lastBlock = false;
    #frames = 0;
    #offset = 0;
    /** Complete frames seen so far. */
    get frames() {
        return this.#frames;
    }
    _transform(chunk, _encoding, callback) {
        let start = 0;
        let offset = 0;
        try {
            while (offset < chunk.length) {
                const take = Math.min(this.#need, chunk.length - offset);
                if (READ.has(this.#state)) {
                    chunk.copy(this.#field, this.#fieldLength, offset, offset + take);
                    this.#fieldLength += take;
                }
                offset += take;
                this.#need -= take;
                if (this.#need > 0)
                    continue;
                if (this.#advance(this.#offset + offset)) {
                    this.push(chunk.subarray(start, offset));
                    start = offset;
                }
            }
        }
        catch (error) {
            callback(error);
            return;
        }
        this.#offset += chunk.length;
        if (start < chunk.length)
            this.push(chunk.subarray(start));
        callback();
    }
    _flush(callback) {
        if (this.#state !== "magic" || this.#fieldLength > 0) {
            callback(new domain_errors/* OperationError */.OK("the zstd stream is truncated: it ends inside a frame"));
        }
        else if (this.#frames === 0) {
            callback(new domain_errors/* OperationError */.OK("the zstd stream is empty: it holds no frame"));
        }
        else {
            callback();
        }
    }
    #next(state, need) {
        this.#state = state;
        this.#need = need;
        this.#fieldLength = 0;
    }
    /** Moves past a complete field; true when that completed a frame. */
    #advance(position) {
        for (;;) {
            switch (this.#state) {
                case "magic": {
                    const magic = this.#field.readUInt32LE(0);
                    if (magic === FRAME_MAGIC)
                        this.#next("frame-header-descriptor", 1);
                    else if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC)
                        this.#next("skippable-size", 4);
                    else
                        throw corrupt(`no zstd frame starts at byte ${position - 4}`);
                    return false;
                }
                case "frame-header-descriptor": {
                    const descriptor = this.#field[0];
                    if (descriptor & 0x08)
                        throw corrupt(`a frame header at byte ${position - 1} sets the reserved bit`);
                    const singleSegment = (descriptor >> 5) & 1;
                    const contentSizeFlag = descriptor >> 6;
                    this.#hasChecksum = ((descriptor >> 2) & 1) === 1;
                    const rest = (singleSegment ? 0 : 1) +
                        DICTIONARY_ID_SIZES[descriptor & 3] +
                        (contentSizeFlag === 0 ? singleSegment : CONTENT_SIZE_SIZES[contentSizeFlag]);
                    this.#next("frame-header-rest", rest);
                    break;
                }
                case "frame-header-rest":
                    this.#next("block-header", 3);
                    return false;
                case "block-header": {
                    const header = this.#field.readUIntLE(0, 3);
                    this.#lastBlock = (header & 1) === 1;
                    const type = (header >> 1) & 3;
                    const size = header >>> 3;
                    if (type === 3)
                        throw corrupt(`a block at byte ${position - 3} has the reserved type`);
                    if (size > MAX_BLOCK_SIZE)
                        throw corrupt(`a block at byte ${position - 3} is larger than 128 KiB`);
                    // An RLE block stores its one repeated byte.
                    this.#next("block-content", type === 1 ? 1 : size);
                    break;
                }
                case "block-content":
                    if (!this.#lastBlock)
                        this.#next("block-header", 3);
                    else if (this.#hasChecksum)
                        this.#next("checksum", 4);
                    else
                        return this.#frameEnd();
                    return false;
                case "checksum":
                case "skippable-content":
                    return this.#frameEnd();
                case "skippable-size":
                    this.#next("skippable-content", this.#field.readUInt32LE(0));
                    break;
            }
            // A field of zero bytes (a header without optional fields, an empty block) is complete at once.
            if (this.#need > 0)
                return false;
        }
    }
    #frameEnd() {
        this.#frames++;
        this.#next("magic", 4);
        return true;
    }
}

;// CONCATENATED MODULE: ./src/compress/index.ts
/**
 * Lifeboat's compression stages: a Transform that compresses (zstd or gzip, on all the cores
 * allowed) or passes through, and the matching decompressor for the read path.
 */






/**
 * Input per frame. Each frame starts with an empty window, so larger frames compress slightly
 * better: 4 MiB frames store about 1% more than one zlib stream at level 1 (the same as `zstd -1`),
 * 16 MiB frames gain nothing measurable, and the memory in flight is (threads + 1) x 4 MiB
 * (docs/benchmarks.md, "Compression engine").
 */
const FRAME_SIZE = 4 * 1024 * 1024;
/**
 * Chunks compressed at once at most: the libuv thread pool's default size, on which zlib runs.
 * pg_dump, a single process, writes at ~200-400 MB/s and zstd level 1 runs at ~600 MB/s per core,
 * so more only pays at high levels (set UV_THREADPOOL_SIZE and pass `threads` for those).
 */
const MAX_THREADS = 4;
/** zlib's default 16 KiB output chunks are much slower for zstd (FIELD-NOTES). */
const STREAM_CHUNK_SIZE = 256 * 1024;
/**
 * The default thread count: the cores the process may use but one, which pg_dump (a process of its
 * own, on the critical path) needs, and at most MAX_THREADS. On a 2-core runner that is one: zlib's
 * stream (itself on the libuv thread pool, off the main thread) at ~600 MB/s for level 1 already
 * outruns pg_dump.
 */
function defaultThreads() {
    return Math.max(1, Math.min((0,external_node_os_.availableParallelism)() - 1, MAX_THREADS));
}
/**
 * A Transform that compresses as `spec` says. With one thread it is zlib's own stream; with more,
 * independent frames compressed at once on the thread pool (ParallelCompressStream).
 */
function createCompressor(spec, options = {}) {
    if (spec.method === "none")
        return new external_node_stream_.PassThrough();
    const threads = Math.max(1, Math.floor(options.threads ?? defaultThreads()));
    if (threads === 1) {
        return spec.method === "zstd"
            ? (0,external_node_zlib_.createZstdCompress)({
                chunkSize: STREAM_CHUNK_SIZE,
                params: { [external_node_zlib_.constants.ZSTD_c_compressionLevel]: spec.level, [external_node_zlib_.constants.ZSTD_c_checksumFlag]: 1 },
            })
            : (0,external_node_zlib_.createGzip)({ level: spec.level, chunkSize: STREAM_CHUNK_SIZE });
    }
    return new ParallelCompressStream({
        method: spec.method,
        level: spec.level,
        threads,
        chunkSize: FRAME_SIZE,
    });
}
function splitThenDecompress() {
    const splitter = new ZstdFrameSplitter();
    const decompressor = (0,external_node_zlib_.createZstdDecompress)({ chunkSize: STREAM_CHUNK_SIZE });
    // pipeline destroys both on an error in either; the Duplex then fails with that error.
    (0,external_node_stream_.pipeline)(splitter, decompressor, () => undefined);
    return external_node_stream_.Duplex.from({ writable: splitter, readable: decompressor });
}
/**
 * A stream that undoes `method`'s compression: a zstd stream of any number of frames, or a gzip
 * stream of any number of members, as our compressor, the zstd and gzip tools and pigz write them.
 * It fails on corrupted or truncated input.
 */
function createDecompressor(method) {
    switch (method) {
        case "zstd":
            // Node's zstd decompressor drops the frames after one that ends inside a write: see
            // zstd-frames.ts. Each write it gets ends at a frame boundary at the latest.
            return splitThenDecompress();
        case "gzip":
            return (0,external_node_zlib_.createGunzip)({ chunkSize: STREAM_CHUNK_SIZE });
        case "none":
            return new external_node_stream_.PassThrough();
    }
}

;// CONCATENATED MODULE: ./src/domain/manifest.ts

const MANIFEST_SCHEMA_VERSION = 2;
/** Older schemas this code still reads (normalised to the current one). */
const READABLE_SCHEMA_VERSIONS = [1, 2];
const ARTIFACT_KINDS = ["dump", "roles"];
const SHA256 = /^[0-9a-f]{64}$/;
const NAME = /^[A-Za-z0-9._-]+$/;
/** The database dump: every manifest so far has exactly one. */
function dumpArtifact(manifest) {
    const dump = manifest.artifacts.find((artifact) => artifact.kind === "dump");
    if (!dump)
        throw new Error(`manifest of ${manifest.label}/${manifest.backupId} lists no dump artifact`);
    return dump;
}
function rolesArtifact(manifest) {
    return manifest.artifacts.find((artifact) => artifact.kind === "roles");
}
/**
 * Reads a manifest from its JSON text (schema 1 or 2), checks the fields readers rely on, and
 * returns it in the current shape. Throws an InputError when the text is not a manifest; the caller
 * decides what that means (a damaged backup).
 */
function parseManifest(text, where) {
    let value;
    try {
        value = JSON.parse(text);
    }
    catch (error) {
        throw new domain_errors/* InputError */.dz(`${where}: not valid JSON (${error.message})`);
    }
    const problems = manifestProblems(value);
    if (problems.length > 0)
        throw new domain_errors/* InputError */.dz(`${where}: not a valid manifest: ${problems.join("; ")}`);
    const version = value.schemaVersion;
    return version === 1 ? fromVersion1(value) : value;
}
/** Empty when `value` has the shape of a readable manifest (schema 1 or 2); otherwise what is wrong. */
function manifestProblems(value) {
    if (typeof value !== "object" || value === null)
        return ["not an object"];
    const m = value;
    const problems = [];
    if (typeof m.schemaVersion !== "number" || !READABLE_SCHEMA_VERSIONS.includes(m.schemaVersion)) {
        problems.push(`schemaVersion ${JSON.stringify(m.schemaVersion)} is not one of ${READABLE_SCHEMA_VERSIONS.join(", ")} (made by a newer Lifeboat?)`);
        return problems;
    }
    if (typeof m.backupId !== "string")
        problems.push("backupId missing");
    if (typeof m.label !== "string")
        problems.push("label missing");
    if (typeof m.startedAt !== "string" || Number.isNaN(Date.parse(m.startedAt)))
        problems.push("startedAt");
    if (!m.encryption || !["age-v1", "none"].includes(m.encryption.format))
        problems.push("encryption.format");
    if (!Array.isArray(m.tables))
        problems.push("tables");
    else {
        if (m.tables.some((t) => !Number.isSafeInteger(t.rows) || t.rows < 0))
            problems.push("tables[].rows");
        if (m.tables.some((t) => t.sha256 !== undefined && !SHA256.test(String(t.sha256)))) {
            problems.push("tables[].sha256");
        }
    }
    if (m.largeObjects !== undefined && largeObjectsProblem(m.largeObjects))
        problems.push("largeObjects");
    if (m.schemaVersion === 1)
        problems.push(...version1Problems(value));
    else
        problems.push(...artifactsProblems(m.artifacts));
    if (m.catalog !== undefined && catalogProblem(m.catalog))
        problems.push("catalog");
    return problems;
}
function largeObjectsProblem(value) {
    const summary = value;
    return (typeof summary !== "object" ||
        summary === null ||
        !Number.isSafeInteger(summary.count) ||
        (summary.count ?? -1) < 0 ||
        digestProblem(summary));
}
/**
 * Only the envelope is checked: a fingerprint of another version is kept as it is and readers that
 * do not know that version leave the comparison out.
 */
function catalogProblem(value) {
    const catalog = value;
    return (typeof catalog !== "object" ||
        catalog === null ||
        Array.isArray(catalog) ||
        !Number.isSafeInteger(catalog.version) ||
        typeof catalog.database !== "object" ||
        catalog.database === null);
}
function digestProblem(value) {
    const digest = value;
    return (typeof digest !== "object" ||
        digest === null ||
        !Number.isSafeInteger(digest.bytes) ||
        (digest.bytes ?? -1) < 0 ||
        !SHA256.test(String(digest.sha256)));
}
function artifactsProblems(artifacts) {
    if (!Array.isArray(artifacts))
        return ["artifacts"];
    const problems = [];
    const names = new Set();
    for (const [index, entry] of artifacts.entries()) {
        const where = `artifacts[${index}]`;
        if (typeof entry !== "object" || entry === null) {
            problems.push(where);
            continue;
        }
        if (typeof entry.name !== "string" || !NAME.test(entry.name) || entry.name === "manifest.json") {
            problems.push(`${where}.name`);
        }
        else if (names.has(entry.name))
            problems.push(`${where}.name ${entry.name} twice`);
        else
            names.add(entry.name);
        if (!ARTIFACT_KINDS.includes(entry.kind)) {
            problems.push(`${where}.kind ${JSON.stringify(entry.kind)} is unknown (made by a newer Lifeboat?)`);
        }
        if (digestProblem(entry.stored))
            problems.push(`${where}.stored`);
        if (digestProblem(entry.plaintext))
            problems.push(`${where}.plaintext`);
        if (typeof entry.compression !== "string")
            problems.push(`${where}.compression`);
        if (entry.encryption !== "age-v1" && entry.encryption !== "none")
            problems.push(`${where}.encryption`);
        if (entry.kind === "roles" && !Number.isSafeInteger(entry.count)) {
            problems.push(`${where}.count`);
        }
    }
    const dumps = artifacts.filter((entry) => entry?.kind === "dump").length;
    if (dumps !== 1)
        problems.push(`artifacts: ${dumps} of kind dump, expected 1`);
    return problems;
}
function serializeManifest(manifest) {
    return JSON.stringify(manifest, null, 2) + "\n";
}
function version1Problems(m) {
    const problems = [];
    if (!m.object || typeof m.object.name !== "string" || !NAME.test(m.object.name))
        problems.push("object.name");
    if (!m.object || !Number.isSafeInteger(m.object.bytes) || !SHA256.test(String(m.object.sha256))) {
        problems.push("object size or sha256");
    }
    if (!m.dump?.plaintext || digestProblem(m.dump.plaintext))
        problems.push("dump.plaintext");
    if (m.roles !== undefined) {
        const roles = m.roles;
        if (typeof roles !== "object" ||
            roles === null ||
            typeof roles.name !== "string" ||
            !NAME.test(roles.name) ||
            roles.name === m.object?.name ||
            !Number.isSafeInteger(roles.bytes) ||
            !SHA256.test(String(roles.sha256)) ||
            digestProblem(roles.plaintext)) {
            problems.push("roles");
        }
    }
    return problems;
}
/** The one place a schema-1 manifest becomes the current shape. */
function fromVersion1(v1) {
    const { schemaVersion: _version, object, roles, dump, ...rest } = v1;
    const { plaintext, ...dumpFacts } = dump;
    const encryption = v1.encryption.format === "none" ? "none" : "age-v1";
    const artifacts = [
        {
            name: object.name,
            kind: "dump",
            stored: { bytes: object.bytes, sha256: object.sha256 },
            plaintext: { bytes: plaintext.bytes, sha256: plaintext.sha256 },
            compression: "none",
            encryption,
        },
    ];
    if (roles) {
        artifacts.push({
            name: roles.name,
            kind: "roles",
            stored: { bytes: roles.bytes, sha256: roles.sha256 },
            plaintext: { bytes: roles.plaintext.bytes, sha256: roles.plaintext.sha256 },
            compression: "none",
            encryption,
            count: roles.count,
        });
    }
    return { schemaVersion: MANIFEST_SCHEMA_VERSION, ...rest, dump: dumpFacts, artifacts };
}

;// CONCATENATED MODULE: ./src/domain/provenance.ts
/** Where a backup came from, when it was made in GitHub Actions; null elsewhere. */
function provenanceFromEnv(env) {
    if (env.GITHUB_ACTIONS !== "true")
        return null;
    const value = (name) => env[name] || null;
    const server = env.GITHUB_SERVER_URL || "https://github.com";
    const runUrl = env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
        ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}${env.GITHUB_RUN_ATTEMPT ? `/attempts/${env.GITHUB_RUN_ATTEMPT}` : ""}`
        : null;
    return {
        repository: value("GITHUB_REPOSITORY"),
        commit: value("GITHUB_SHA"),
        ref: value("GITHUB_REF"),
        workflow: value("GITHUB_WORKFLOW"),
        runId: value("GITHUB_RUN_ID"),
        runAttempt: value("GITHUB_RUN_ATTEMPT"),
        runUrl,
        actor: value("GITHUB_ACTOR"),
        event: value("GITHUB_EVENT_NAME"),
    };
}

;// CONCATENATED MODULE: ./src/crypto/age/errors.ts

class AgeDecryptError extends domain_errors/* OperationError */.OK {
    failure;
    constructor(failure, message) {
        super(message);
        this.failure = failure;
    }
}

;// CONCATENATED MODULE: ./src/crypto/age/format.ts
/**
 * The textual age v1 header (age-encryption.org/v1): encoding, and strict parsing. Parsing is strict
 * because the spec requires rejecting non-canonical encodings: the header must not be malleable.
 */

const VERSION_LINE = "age-encryption.org/v1\n";
const ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----";
const FOOTER_PREFIX = "---";
const COLUMNS_PER_LINE = 64;
const BYTES_PER_LINE = (COLUMNS_PER_LINE / 4) * 3;
const MAC_LENGTH = 32;
/** Unpadded standard base64, as age writes it. */
function encodeBase64(data) {
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64").replace(/=+$/, "");
}
const BASE64_TEXT = /^[A-Za-z0-9+/]*$/;
/**
 * Decodes unpadded base64, or returns undefined unless `text` is the canonical encoding of its
 * bytes. Node's decoder skips invalid characters and ignores stray bits, hence the re-encoding check.
 */
function decodeBase64(text) {
    if (!BASE64_TEXT.test(text) || text.length % 4 === 1)
        return undefined;
    const data = Buffer.from(text, "base64");
    return encodeBase64(data) === text ? data : undefined;
}
/** True for a non-empty string of printable ASCII without spaces (VCHAR), as stanza arguments are. */
function isValidArgument(text) {
    return /^[\x21-\x7e]+$/.test(text);
}
function encodeStanza(stanza) {
    let text = `-> ${[stanza.type, ...stanza.args].join(" ")}\n`;
    const body = encodeBase64(stanza.body);
    // Full lines of 64 columns, then always a final shorter line, which is empty when the body fills
    // the last full line exactly: that short line is how a reader finds the end of the stanza.
    for (let offset = 0; offset <= body.length; offset += COLUMNS_PER_LINE) {
        text += `${body.slice(offset, offset + COLUMNS_PER_LINE)}\n`;
    }
    return text;
}
/** The header without its MAC: the exact bytes the MAC is computed over. */
function encodeHeaderWithoutMac(stanzas) {
    return Buffer.from(VERSION_LINE + stanzas.map(encodeStanza).join("") + FOOTER_PREFIX, "latin1");
}
function encodeMacLine(mac) {
    return Buffer.from(` ${encodeBase64(mac)}\n`, "latin1");
}
/**
 * Scans the complete lines of `data` from `lineStart` for the MAC line, the only line that starts
 * with `---` (stanza lines start with `->` and body lines are base64, which has no `-`). Returns the
 * index just past the header, or where the first incomplete line starts, to resume once more data
 * has been appended.
 */
function scanHeader(data, lineStart) {
    for (;;) {
        const newline = data.indexOf(0x0a, lineStart);
        if (newline < 0)
            return { done: false, offset: lineStart };
        if (data.toString("latin1", lineStart, lineStart + 3) === FOOTER_PREFIX) {
            return { done: true, offset: newline + 1 };
        }
        lineStart = newline + 1;
    }
}
/** A decryption error for a header (or a stanza in it) that breaks the format. */
function malformed(detail) {
    return new AgeDecryptError("header", `the file's age header is malformed: ${detail}`);
}
/** Parses a complete header, as delimited by scanHeader. */
function parseHeader(header) {
    const text = header.toString("latin1");
    if (!text.startsWith(VERSION_LINE)) {
        throw malformed("it does not start with the age-encryption.org/v1 version line");
    }
    const lines = text.slice(VERSION_LINE.length, -1).split("\n");
    const footer = lines.pop();
    const stanzas = [];
    let index = 0;
    while (index < lines.length) {
        const lineNumber = index + 2;
        const [prefix, ...args] = lines[index++].split(" ");
        if (prefix !== "->" || args.length === 0 || !args.every(isValidArgument)) {
            throw malformed(`line ${lineNumber} is not a recipient stanza opening ("-> type args...")`);
        }
        const body = [];
        for (;;) {
            if (index >= lines.length) {
                throw malformed(`the ${args[0]} stanza does not end with a short body line`);
            }
            const line = lines[index++];
            const decoded = line.length <= COLUMNS_PER_LINE ? decodeBase64(line) : undefined;
            if (!decoded)
                throw malformed(`the ${args[0]} stanza has a body line that is not canonical base64`);
            body.push(decoded);
            if (decoded.length < BYTES_PER_LINE)
                break;
        }
        stanzas.push({ type: args[0], args: args.slice(1), body: Buffer.concat(body) });
    }
    if (stanzas.length === 0)
        throw malformed("it has no recipient stanza");
    const [prefix, encodedMac, ...rest] = footer.split(" ");
    const mac = prefix === FOOTER_PREFIX && rest.length === 0 ? decodeBase64(encodedMac ?? "") : undefined;
    if (!mac || mac.length !== MAC_LENGTH)
        throw malformed("the MAC line is not `--- ` and a 32-byte MAC");
    const macInput = header.subarray(0, header.length - footer.length - 1 + FOOTER_PREFIX.length);
    return { stanzas, macInput, mac };
}

;// CONCATENATED MODULE: ./src/crypto/age/primitives.ts
/** The cryptographic building blocks of age, on node:crypto only. */

const FILE_KEY_LENGTH = 16;
const TAG_LENGTH = 16;
const ZERO_NONCE = Buffer.alloc(12);
/** HKDF-SHA-256 with a 32-byte output, the only length age uses. */
function hkdf(ikm, salt, info) {
    return Buffer.from((0,external_node_crypto_.hkdfSync)("sha256", ikm, salt, info, 32));
}
function headerMac(fileKey, macInput) {
    return (0,external_node_crypto_.createHmac)("sha256", hkdf(fileKey, Buffer.alloc(0), "header"))
        .update(macInput)
        .digest();
}
function macsEqual(a, b) {
    return a.length === b.length && (0,external_node_crypto_.timingSafeEqual)(a, b);
}
/** ChaCha20-Poly1305 under a single-use key, so the fixed all-zero nonce is safe (age's key wrap). */
function wrapFileKey(key, fileKey) {
    const cipher = (0,external_node_crypto_.createCipheriv)("chacha20-poly1305", key, ZERO_NONCE, { authTagLength: TAG_LENGTH });
    return Buffer.concat([cipher.update(fileKey), cipher.final(), cipher.getAuthTag()]);
}
/** The file key inside a wrapped body, or undefined when it does not authenticate under `key`. */
function unwrapFileKey(key, body) {
    const decipher = (0,external_node_crypto_.createDecipheriv)("chacha20-poly1305", key, ZERO_NONCE, { authTagLength: TAG_LENGTH });
    decipher.setAuthTag(body.subarray(body.length - TAG_LENGTH));
    const fileKey = decipher.update(body.subarray(0, body.length - TAG_LENGTH));
    try {
        decipher.final();
    }
    catch {
        return undefined;
    }
    return fileKey;
}
// Fixed DER framings of a raw 32-byte X25519 key (RFC 8410), so Node can import raw keys.
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");
const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
function x25519PublicKey(raw) {
    return (0,external_node_crypto_.createPublicKey)({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
}
function x25519PrivateKey(raw) {
    return (0,external_node_crypto_.createPrivateKey)({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: "der", type: "pkcs8" });
}
/** The raw 32 bytes of an X25519 public key. */
function rawPublicKey(key) {
    const publicKey = key.type === "private" ? (0,external_node_crypto_.createPublicKey)(key) : key;
    return Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url");
}
/**
 * X25519, or undefined when the result is all zeros (a low-order point), which age must refuse.
 * OpenSSL already fails the derivation in that case; the explicit check keeps that guarantee
 * independent of the library version.
 */
function x25519(privateKey, publicKey) {
    let shared;
    try {
        shared = (0,external_node_crypto_.diffieHellman)({ privateKey, publicKey });
    }
    catch {
        return undefined;
    }
    return shared.some((byte) => byte !== 0) ? shared : undefined;
}

;// CONCATENATED MODULE: ./src/crypto/age/stream.ts
/**
 * The STREAM payload of age v1: 64 KiB plaintext chunks, each sealed with ChaCha20-Poly1305 under
 * the payload key and a nonce of an 11-byte big-endian counter and a last-chunk flag byte.
 */


const CHUNK_SIZE = 64 * 1024;
const ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + TAG_LENGTH;
const PAYLOAD_NONCE_LENGTH = 16;
// 2^48 chunks of 64 KiB is 16 EiB: the counter's 11 bytes are never exhausted in practice, and six
// bytes stay within a JavaScript number.
const MAX_CHUNKS = 2 ** 48;
function newPayloadNonce() {
    return (0,external_node_crypto_.randomBytes)(PAYLOAD_NONCE_LENGTH);
}
function payloadKey(fileKey, nonce) {
    return (0,external_node_crypto_.createSecretKey)(hkdf(fileKey, nonce, "payload"));
}
function chunkNonce(counter, last) {
    if (counter >= MAX_CHUNKS)
        throw new Error("age STREAM chunk counter overflow");
    const nonce = Buffer.alloc(12);
    nonce.writeUIntBE(counter, 5, 6);
    nonce[11] = last ? 1 : 0;
    return nonce;
}
/** Seals one chunk; returns the ciphertext and its tag, to be written in that order. */
function sealChunk(key, counter, last, plaintext) {
    const cipher = (0,external_node_crypto_.createCipheriv)("chacha20-poly1305", key, chunkNonce(counter, last), {
        authTagLength: TAG_LENGTH,
    });
    const ciphertext = cipher.update(plaintext);
    cipher.final();
    return [ciphertext, cipher.getAuthTag()];
}
/**
 * Opens one sealed chunk (ciphertext followed by its tag), or returns undefined when it does not
 * authenticate. Nothing is returned before the tag has been checked.
 */
function openChunk(key, counter, last, sealed) {
    const decipher = (0,external_node_crypto_.createDecipheriv)("chacha20-poly1305", key, chunkNonce(counter, last), {
        authTagLength: TAG_LENGTH,
    });
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
    const plaintext = decipher.update(sealed.subarray(0, sealed.length - TAG_LENGTH));
    try {
        decipher.final();
    }
    catch {
        return undefined;
    }
    return plaintext;
}

;// CONCATENATED MODULE: ./src/crypto/age/encrypt.ts
/** Streaming age v1 encryption: plaintext in, age file bytes out, in bounded memory. */






/** Builds the header for a fresh file key; returns it with the payload nonce, and the payload key. */
async function buildPrologue(recipients) {
    const fileKey = (0,external_node_crypto_.randomBytes)(FILE_KEY_LENGTH);
    const stanzas = (await Promise.all(recipients.map((recipient) => recipient.wrap(fileKey)))).flat();
    const header = encodeHeaderWithoutMac(stanzas);
    const nonce = newPayloadNonce();
    const prologue = Buffer.concat([header, encodeMacLine(headerMac(fileKey, header)), nonce]);
    return { prologue, key: payloadKey(fileKey, nonce) };
}
class EncryptStream extends external_node_stream_.Transform {
    #recipients;
    #key;
    #counter = 0;
    // The last chunk is sealed with a different nonce, and only the end of the input tells which chunk
    // is last: so up to one chunk of plaintext is held back until more input (or the end) arrives.
    #pending = Buffer.allocUnsafe(CHUNK_SIZE);
    #pendingLength = 0;
    constructor(recipients) {
        super();
        this.#recipients = recipients;
    }
    _transform(chunk, _encoding, callback) {
        if (this.#key) {
            this.#write(chunk, this.#key);
            callback();
            return;
        }
        this.#start().then((key) => {
            this.#write(chunk, key);
            callback();
        }, callback);
    }
    _flush(callback) {
        const finish = (key) => {
            // A plaintext that is empty, or a multiple of the chunk size, ends with a pending chunk that
            // is empty or full, sealed as last: the spec allows an empty last chunk only when it is the
            // only chunk, and that is the one case where it happens here.
            this.#seal(key, this.#pending.subarray(0, this.#pendingLength), true);
            this.#pendingLength = 0;
            callback();
        };
        if (this.#key)
            finish(this.#key);
        else
            this.#start().then(finish, callback);
    }
    async #start() {
        const { prologue, key } = await buildPrologue(this.#recipients);
        this.push(prologue);
        this.#key = key;
        return key;
    }
    #write(data, key) {
        let offset = 0;
        while (offset < data.length) {
            if (this.#pendingLength === CHUNK_SIZE) {
                // More input follows a full pending chunk, so that chunk is not the last one.
                this.#seal(key, this.#pending, false);
                this.#pendingLength = 0;
            }
            if (this.#pendingLength === 0 && data.length - offset > CHUNK_SIZE) {
                // Whole chunks with more input after them are sealed straight from the input, uncopied.
                this.#seal(key, data.subarray(offset, offset + CHUNK_SIZE), false);
                offset += CHUNK_SIZE;
                continue;
            }
            const copied = data.copy(this.#pending, this.#pendingLength, offset, offset + CHUNK_SIZE - this.#pendingLength);
            this.#pendingLength += copied;
            offset += copied;
        }
    }
    #seal(key, plaintext, last) {
        const [ciphertext, tag] = sealChunk(key, this.#counter++, last, plaintext);
        this.push(ciphertext);
        this.push(tag);
    }
}
/**
 * A Transform that encrypts its input to `recipients` in the age v1 format, readable by
 * `age -d`. A passphrase recipient must be the only recipient (the format requires it).
 */
function createEncryptStream(recipients) {
    if (recipients.length === 0)
        throw new domain_errors/* InputError */.dz("encryption: at least one recipient is needed");
    if (recipients.length > 1 && recipients.some((recipient) => recipient.kind === "scrypt")) {
        throw new domain_errors/* InputError */.dz("encryption: a passphrase cannot be combined with other recipients or passphrases");
    }
    return new EncryptStream(recipients);
}

;// CONCATENATED MODULE: ./src/crypto/age/scrypt.ts
/** The scrypt (passphrase) recipient type of age v1. */





const STANZA_TYPE = "scrypt";
/** age's default: about a second of work, and 256 MiB of memory. */
const DEFAULT_WORK_FACTOR = 18;
/**
 * age's limit when decrypting: a file's author chooses the work factor, and 2^22 already costs
 * 4 GiB and about 15 s, so anything above is refused rather than attempted.
 */
const MAX_WORK_FACTOR = 22;
const scrypt_LABEL = "age-encryption.org/v1/scrypt";
const SALT_LENGTH = 16;
const BLOCK_SIZE = 8;
function deriveWrapKey(passphrase, salt, workFactor) {
    const cost = 2 ** workFactor;
    // scrypt needs 128 * r * N bytes; Node refuses anything above maxmem (32 MiB by default).
    const maxmem = 2 * 128 * BLOCK_SIZE * cost;
    return new Promise((resolve, reject) => {
        (0,external_node_crypto_.scrypt)(passphrase, Buffer.concat([Buffer.from(scrypt_LABEL), salt]), 32, { N: cost, r: BLOCK_SIZE, p: 1, maxmem }, (error, key) => {
            if (error)
                reject(new domain_errors/* OperationError */.OK(`scrypt failed: ${(0,domain_errors/* describeError */.Uc)(error)}`, { cause: error }));
            else
                resolve(key);
        });
    });
}
class ScryptRecipient {
    kind = "scrypt";
    #passphrase;
    workFactor;
    constructor(passphrase, workFactor) {
        this.#passphrase = passphrase;
        this.workFactor = workFactor;
    }
    async wrap(fileKey) {
        const salt = (0,external_node_crypto_.randomBytes)(SALT_LENGTH);
        const wrapKey = await deriveWrapKey(this.#passphrase, salt, this.workFactor);
        const args = [encodeBase64(salt), String(this.workFactor)];
        return [{ type: STANZA_TYPE, args, body: wrapFileKey(wrapKey, fileKey) }];
    }
}
class ScryptIdentity {
    kind = "scrypt";
    #passphrase;
    maxWorkFactor;
    constructor(passphrase, maxWorkFactor) {
        this.#passphrase = passphrase;
        this.maxWorkFactor = maxWorkFactor;
    }
    /** The file key, or undefined when the file has no scrypt stanza or the passphrase is wrong. */
    async unwrap(stanzas) {
        const stanza = stanzas.find((candidate) => candidate.type === STANZA_TYPE);
        if (!stanza)
            return undefined;
        if (stanzas.length !== 1)
            throw malformed("an scrypt stanza must be the only stanza in the header");
        const salt = stanza.args.length === 2 ? decodeBase64(stanza.args[0]) : undefined;
        const encodedWorkFactor = stanza.args[1] ?? "";
        if (!salt || salt.length !== SALT_LENGTH || !/^[1-9][0-9]*$/.test(encodedWorkFactor)) {
            throw malformed("the scrypt stanza does not have a 16-byte salt and a decimal work factor");
        }
        const workFactor = Number(encodedWorkFactor);
        if (workFactor > this.maxWorkFactor) {
            throw new AgeDecryptError("header", `the file's scrypt work factor 2^${encodedWorkFactor.length > 6 ? `${encodedWorkFactor.slice(0, 6)}...` : encodedWorkFactor} is above the accepted maximum 2^${this.maxWorkFactor}`);
        }
        // Checked before the expensive scrypt, and before decrypting, as the spec requires.
        if (stanza.body.length !== FILE_KEY_LENGTH + TAG_LENGTH) {
            throw malformed("the scrypt stanza's body is not a 32-byte wrapped file key");
        }
        const wrapKey = await deriveWrapKey(this.#passphrase, salt, workFactor);
        return unwrapFileKey(wrapKey, stanza.body);
    }
}

;// CONCATENATED MODULE: ./src/crypto/age/decrypt.ts







/** Far above any real header (an X25519 stanza is about 110 bytes); bounds memory on garbage input. */
const MAX_HEADER_LENGTH = 1024 * 1024;
function tampered(failure, detail) {
    return new AgeDecryptError(failure, `the file is corrupted or was tampered with: ${detail}`);
}
function truncated(failure, detail) {
    return new AgeDecryptError(failure, `the file is truncated: ${detail}`);
}
/** How many leading bytes checkStart looks at: armor may be preceded by whitespace. */
const START_SAMPLE = 256;
/**
 * Rejects input that is not a binary age v1 file as soon as its first bytes (up to START_SAMPLE of
 * them) show it.
 */
function checkStart(start) {
    if (start.startsWith(VERSION_LINE))
        return;
    const complete = start.length >= START_SAMPLE;
    // Too short to tell yet which of the cases below it is.
    if (!complete && VERSION_LINE.startsWith(start))
        return;
    // The armor format allows whitespace around the armored block.
    const armored = start.replace(/^[ \t\r\n]+/, "");
    if (armored.startsWith(ARMOR_BEGIN)) {
        throw new AgeDecryptError("armor", "the file is ASCII-armored (age -a), which is not supported: decode it with age first");
    }
    if (!complete && ARMOR_BEGIN.startsWith(armored))
        return;
    if (start.startsWith("age-encryption.org/")) {
        throw new AgeDecryptError("header", "the file is in an unsupported age format version (expected age-encryption.org/v1)");
    }
    throw new AgeDecryptError("header", "the input is not an age file: it does not start with age-encryption.org/v1");
}
function noMatch(stanzas, identities) {
    if (stanzas.length === 1 && stanzas[0].type === STANZA_TYPE) {
        return new AgeDecryptError("no match", identities.some((identity) => identity.kind === "scrypt")
            ? "the passphrase is incorrect for this file"
            : "the file is encrypted with a passphrase, and no passphrase was given");
    }
    const counts = new Map();
    for (const { type } of stanzas)
        counts.set(type.slice(0, 40), (counts.get(type.slice(0, 40)) ?? 0) + 1);
    const types = [...counts].map(([type, count]) => `${count} ${type}`).join(", ");
    return new AgeDecryptError("no match", `no identity matches any recipient of this file (its recipients: ${types})`);
}
/** Finds the file key for a parsed header, and checks the header's MAC with it. */
async function unlock(header, identities) {
    const { stanzas, macInput, mac } = parseHeader(header);
    // The spec requires scrypt identities to refuse this (a passphrase implies that only its holders
    // wrote the file). It is refused for every identity: no honest encrypter writes such a header.
    if (stanzas.length > 1 && stanzas.some((stanza) => stanza.type === STANZA_TYPE)) {
        throw malformed("an scrypt stanza must be the only stanza in the header");
    }
    for (const identity of identities) {
        const fileKey = await identity.unwrap(stanzas);
        if (!fileKey)
            continue;
        if (!macsEqual(headerMac(fileKey, macInput), mac))
            throw tampered("HMAC", "the header's MAC does not match");
        return fileKey;
    }
    throw noMatch(stanzas, identities);
}
class DecryptStream extends external_node_stream_.Transform {
    #identities;
    #state = "header";
    #header = Buffer.allocUnsafe(4096);
    #headerLength = 0;
    #lineStart = 0;
    #fileKey;
    #nonce = Buffer.alloc(PAYLOAD_NONCE_LENGTH);
    #nonceLength = 0;
    #key;
    #counter = 0;
    // Only the end of the input tells whether a full-size chunk is the last one (its nonce differs),
    // so up to one sealed chunk is held until more input, or the end, arrives.
    #pending = Buffer.allocUnsafe(ENCRYPTED_CHUNK_SIZE);
    #pendingLength = 0;
    constructor(identities) {
        super();
        this.#identities = identities;
    }
    _transform(chunk, _encoding, callback) {
        if (this.#state !== "header") {
            try {
                this.#acceptPayload(chunk);
            }
            catch (error) {
                callback(error);
                return;
            }
            callback();
            return;
        }
        const rest = this.#acceptHeader(chunk);
        if (rest instanceof Error) {
            callback(rest);
            return;
        }
        if (!rest) {
            callback();
            return;
        }
        unlock(rest.header, this.#identities)
            .then((fileKey) => {
            this.#fileKey = fileKey;
            this.#header = Buffer.alloc(0);
            this.#state = "nonce";
            for (const part of rest.payload)
                this.#acceptPayload(part);
        })
            .then(() => callback(), callback);
    }
    _flush(callback) {
        try {
            this.#finish();
        }
        catch (error) {
            callback(error);
            return;
        }
        callback();
    }
    /** Appends to the header; once it is complete, returns it and the payload bytes that followed. */
    #acceptHeader(data) {
        const taken = Math.min(data.length, MAX_HEADER_LENGTH - this.#headerLength);
        if (this.#headerLength + taken > this.#header.length) {
            const grown = Buffer.allocUnsafe(Math.min(MAX_HEADER_LENGTH, 2 * (this.#headerLength + taken)));
            this.#header.copy(grown, 0, 0, this.#headerLength);
            this.#header = grown;
        }
        data.copy(this.#header, this.#headerLength, 0, taken);
        this.#headerLength += taken;
        const header = this.#header.subarray(0, this.#headerLength);
        try {
            checkStart(header.toString("latin1", 0, START_SAMPLE));
        }
        catch (error) {
            return error;
        }
        const scan = scanHeader(header, this.#lineStart);
        if (!scan.done) {
            this.#lineStart = scan.offset;
            if (this.#headerLength >= MAX_HEADER_LENGTH) {
                return malformed(`no header MAC line within the first ${MAX_HEADER_LENGTH} bytes`);
            }
            return undefined;
        }
        return {
            header: Buffer.from(header.subarray(0, scan.offset)),
            payload: [header.subarray(scan.offset), data.subarray(taken)],
        };
    }
    #acceptPayload(data) {
        let offset = 0;
        if (this.#state === "nonce") {
            offset = data.copy(this.#nonce, this.#nonceLength, 0, PAYLOAD_NONCE_LENGTH - this.#nonceLength);
            this.#nonceLength += offset;
            if (this.#nonceLength < PAYLOAD_NONCE_LENGTH)
                return;
            this.#key = payloadKey(this.#fileKey, this.#nonce);
            this.#state = "payload";
        }
        while (offset < data.length) {
            if (this.#pendingLength === ENCRYPTED_CHUNK_SIZE) {
                // More input follows a full pending chunk, so that chunk must not be the last one.
                this.#openMiddle(this.#pending);
                this.#pendingLength = 0;
            }
            if (this.#pendingLength === 0 && data.length - offset > ENCRYPTED_CHUNK_SIZE) {
                // Whole chunks with more input after them are opened straight from the input, uncopied.
                this.#openMiddle(data.subarray(offset, offset + ENCRYPTED_CHUNK_SIZE));
                offset += ENCRYPTED_CHUNK_SIZE;
                continue;
            }
            const copied = data.copy(this.#pending, this.#pendingLength, offset, offset + ENCRYPTED_CHUNK_SIZE - this.#pendingLength);
            this.#pendingLength += copied;
            offset += copied;
        }
    }
    /** Opens a full chunk that more data follows. */
    #openMiddle(sealed) {
        const plaintext = openChunk(this.#key, this.#counter, false, sealed);
        if (!plaintext) {
            const last = openChunk(this.#key, this.#counter, true, sealed);
            if (!last)
                throw tampered("payload", `chunk ${this.#counter + 1} failed authentication`);
            // An authentic last chunk with data appended after it: released (as the reference
            // implementation does), and then the stream fails.
            this.push(last);
            throw tampered("payload", `there is trailing data after the last chunk (chunk ${this.#counter + 1})`);
        }
        this.#counter++;
        this.push(plaintext);
    }
    /** At the end of the input, the pending bytes must be the last chunk. */
    #finish() {
        if (this.#state === "header") {
            if (this.#headerLength === 0)
                throw new AgeDecryptError("header", "the input is empty, not an age file");
            throw truncated("header", "it ends inside the age header");
        }
        if (this.#state === "nonce")
            throw truncated("header", "it ends before the payload's nonce is complete");
        const chunk = this.#counter + 1;
        if (this.#pendingLength < TAG_LENGTH) {
            throw this.#counter === 0 && this.#pendingLength === 0
                ? truncated("payload", "the payload has no chunks")
                : truncated("payload", `chunk ${chunk} is shorter than its 16-byte authentication tag`);
        }
        const sealed = this.#pending.subarray(0, this.#pendingLength);
        const plaintext = openChunk(this.#key, this.#counter, true, sealed);
        if (plaintext && plaintext.length === 0 && this.#counter > 0) {
            throw tampered("payload", `chunk ${chunk} is an empty last chunk after other chunks, which the format forbids`);
        }
        if (!plaintext) {
            const middle = this.#pendingLength === ENCRYPTED_CHUNK_SIZE
                ? openChunk(this.#key, this.#counter, false, sealed)
                : undefined;
            if (!middle)
                throw tampered("payload", `chunk ${chunk} failed authentication`);
            // An authentic chunk that is not the last: released (as the reference implementation does),
            // and then the stream fails, as the chunks after it are missing.
            this.push(middle);
            throw truncated("payload", `it ends after chunk ${chunk}, which is not marked as the last chunk`);
        }
        this.push(plaintext);
    }
}
/**
 * A Transform that decrypts an age v1 file (as `age -e` writes it, binary, not armored) with any of
 * `identities`. It fails with an OperationError on a wrong key or passphrase, a tampered or
 * truncated file, or trailing data, and emits no plaintext of a chunk before authenticating it.
 */
function createDecryptStream(identities) {
    if (identities.length === 0)
        throw new domain_errors/* InputError */.dz("decryption: at least one identity is needed");
    return new DecryptStream(identities);
}

;// CONCATENATED MODULE: ./src/crypto/age/bech32.ts
/**
 * Bech32 (BIP-173, not bech32m) as age uses it: no 90-character limit, since age keys are longer
 * than Bitcoin addresses. A string is all lowercase or all uppercase; the checksum is always computed
 * over the lowercase form.
 */
const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
const CHECKSUM_LENGTH = 6;
/** Why a string is not valid bech32; the message never quotes the string (it may be a secret key). */
class Bech32Error extends Error {
}
function polymod(values) {
    let checksum = 1;
    for (const value of values) {
        const top = checksum >>> 25;
        checksum = ((checksum & 0x1ffffff) << 5) ^ value;
        for (let bit = 0; bit < 5; bit++) {
            if ((top >>> bit) & 1)
                checksum ^= GENERATOR[bit];
        }
    }
    return checksum;
}
function expandHrp(hrp) {
    const codes = Array.from(hrp, (char) => char.charCodeAt(0));
    return [...codes.map((code) => code >> 5), 0, ...codes.map((code) => code & 31)];
}
function convertBits(data, from, to, pad) {
    const out = [];
    const max = (1 << to) - 1;
    let accumulator = 0;
    let bits = 0;
    for (let i = 0; i < data.length; i++) {
        accumulator = ((accumulator << from) | data[i]) & 0xffffff;
        bits += from;
        while (bits >= to) {
            bits -= to;
            out.push((accumulator >> bits) & max);
        }
    }
    if (pad) {
        if (bits > 0)
            out.push((accumulator << (to - bits)) & max);
    }
    else if (bits >= from) {
        throw new Bech32Error("it has an excess padding group");
    }
    else if ((accumulator << (to - bits)) & max) {
        throw new Bech32Error("its padding bits are not zero");
    }
    return out;
}
/** Encodes bytes under a human-readable prefix; the result has the case of `hrp`. */
function encode(hrp, data) {
    const lowerHrp = hrp.toLowerCase();
    const words = convertBits(data, 8, 5, true);
    const mod = polymod([...expandHrp(lowerHrp), ...words, 0, 0, 0, 0, 0, 0]) ^ 1;
    let text = `${lowerHrp}1`;
    for (const word of words)
        text += CHARSET[word];
    for (let i = 0; i < CHECKSUM_LENGTH; i++)
        text += CHARSET[(mod >>> (5 * (5 - i))) & 31];
    return hrp === lowerHrp ? text : text.toUpperCase();
}
/** Decodes a bech32 string; the returned prefix keeps the case it was written in. */
function decode(text) {
    const lower = text.toLowerCase();
    if (text !== lower && text !== text.toUpperCase()) {
        throw new Bech32Error("it mixes upper and lower case");
    }
    const separator = text.lastIndexOf("1");
    if (separator < 1 || separator + 1 + CHECKSUM_LENGTH > text.length) {
        throw new Bech32Error("it has no separator '1' followed by data and a checksum");
    }
    const hrp = text.slice(0, separator);
    for (const char of hrp) {
        const code = char.charCodeAt(0);
        if (code < 33 || code > 126)
            throw new Bech32Error("its prefix has a character outside printable ASCII");
    }
    const words = [];
    for (let i = separator + 1; i < lower.length; i++) {
        const word = CHARSET.indexOf(lower[i]);
        if (word < 0) {
            throw new Bech32Error(`character ${i + 1} is not in the bech32 alphabet (${CHARSET})`);
        }
        words.push(word);
    }
    if (polymod([...expandHrp(hrp.toLowerCase()), ...words]) !== 1) {
        throw new Bech32Error("its checksum does not match (a typo, or an incomplete copy?)");
    }
    const data = convertBits(words.slice(0, -CHECKSUM_LENGTH), 5, 8, false);
    return { hrp, data: Buffer.from(data) };
}

;// CONCATENATED MODULE: ./src/crypto/age/x25519.ts
/** The X25519 recipient type of age v1 (`age1...` public keys, `AGE-SECRET-KEY-1...` identities). */





const RECIPIENT_HRP = "age";
const IDENTITY_HRP = "AGE-SECRET-KEY-";
const KEY_LENGTH = 32;
const x25519_STANZA_TYPE = "X25519";
const x25519_LABEL = "age-encryption.org/v1/X25519";
class X25519Recipient {
    kind = "x25519";
    #publicKey;
    #raw;
    /** `raw` is a 32-byte X25519 public key. */
    constructor(raw) {
        this.#raw = Buffer.from(raw);
        this.#publicKey = x25519PublicKey(this.#raw);
    }
    /** The `age1...` form. */
    toString() {
        return encode(RECIPIENT_HRP, this.#raw);
    }
    /** False for a low-order point, to which nothing can be encrypted. */
    isUsable() {
        return x25519((0,external_node_crypto_.generateKeyPairSync)("x25519").privateKey, this.#publicKey) !== undefined;
    }
    async wrap(fileKey) {
        const ephemeral = (0,external_node_crypto_.generateKeyPairSync)("x25519");
        const share = rawPublicKey(ephemeral.publicKey);
        const shared = x25519(ephemeral.privateKey, this.#publicKey);
        if (!shared)
            throw new domain_errors/* OperationError */.OK(`recipient ${this.toString()} is not a usable X25519 public key`);
        const wrapKey = hkdf(shared, Buffer.concat([share, this.#raw]), x25519_LABEL);
        return [{ type: x25519_STANZA_TYPE, args: [encodeBase64(share)], body: wrapFileKey(wrapKey, fileKey) }];
    }
}
class X25519Identity {
    kind = "x25519";
    // Private fields keep the secret out of util.inspect and JSON.stringify.
    #privateKey;
    #ownPublicKey;
    /** `raw` is a 32-byte X25519 secret key. */
    constructor(raw) {
        this.#privateKey = x25519PrivateKey(raw);
        this.#ownPublicKey = rawPublicKey(this.#privateKey);
    }
    get recipient() {
        return new X25519Recipient(this.#ownPublicKey);
    }
    /** The `AGE-SECRET-KEY-1...` form: a secret, to be written only where the key belongs. */
    encodeSecret() {
        const jwk = this.#privateKey.export({ format: "jwk" });
        return encode(IDENTITY_HRP, Buffer.from(jwk.d, "base64url"));
    }
    /** The file key, or undefined when no stanza is addressed to this identity. */
    async unwrap(stanzas) {
        for (const stanza of stanzas) {
            if (stanza.type !== x25519_STANZA_TYPE)
                continue;
            const share = stanza.args.length === 1 ? decodeBase64(stanza.args[0]) : undefined;
            if (!share || share.length !== KEY_LENGTH) {
                throw malformed("an X25519 stanza does not have exactly one argument, a 32-byte share");
            }
            // Checked before decrypting, as the spec requires, against partitioning oracle attacks.
            if (stanza.body.length !== FILE_KEY_LENGTH + TAG_LENGTH) {
                throw malformed("an X25519 stanza's body is not a 32-byte wrapped file key");
            }
            const shared = x25519(this.#privateKey, x25519PublicKey(share));
            if (!shared)
                throw malformed("an X25519 stanza's share is a low-order point");
            const wrapKey = hkdf(shared, Buffer.concat([share, this.#ownPublicKey]), x25519_LABEL);
            const fileKey = unwrapFileKey(wrapKey, stanza.body);
            if (fileKey)
                return fileKey;
        }
        return undefined;
    }
}

;// CONCATENATED MODULE: ./src/crypto/age/keys.ts
/** Parsing and generating age keys in their textual forms, and passphrase recipients/identities. */






const RECIPIENT_FORM = "an age X25519 public key (age1 followed by 58 characters)";
const IDENTITY_FORM = "an age X25519 secret key (AGE-SECRET-KEY-1 followed by 58 characters)";
const ENCODED_KEY_LENGTH = 58;
/** Quotes a public, user-given string for a message, shortened so a pasted blob stays one line. */
function quote(text) {
    return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}...` : text);
}
/** The 32-byte key `text` encodes under the bech32 prefix `hrp`, or why it is not one. */
function decodeKey(text, hrp) {
    const prefix = `${hrp}1`;
    if (!text.toLowerCase().startsWith(prefix.toLowerCase())) {
        return { problem: `it does not start with ${prefix}` };
    }
    const length = text.length - prefix.length;
    if (length !== ENCODED_KEY_LENGTH)
        return { problem: `it has ${length} characters after ${prefix}` };
    let decoded;
    try {
        decoded = decode(text);
    }
    catch (error) {
        if (error instanceof Bech32Error)
            return { problem: error.message };
        throw error;
    }
    // decode() splits at the last "1"; a "1" typed into the data moves that split.
    if (decoded.hrp.toLowerCase() !== hrp.toLowerCase()) {
        return { problem: "it has a '1' after the prefix, which is not in the bech32 alphabet" };
    }
    if (decoded.data.length !== KEY_LENGTH)
        return { problem: "it does not encode 32 bytes" };
    return { key: decoded.data };
}
function looksLikeSecretKey(text) {
    return text.toUpperCase().startsWith("AGE-SECRET-KEY-") || text.toUpperCase().startsWith("AGE-PLUGIN-");
}
/** Parses an `age1...` X25519 public key, as age-keygen prints it. */
function parseRecipient(text) {
    const trimmed = text.trim();
    if (looksLikeSecretKey(trimmed)) {
        // Never echo it: a secret key pasted where a public key belongs must not reach logs.
        throw new domain_errors/* InputError */.dz(`recipient: expected ${RECIPIENT_FORM}, but got a secret key; give its public key instead (age-keygen -y prints it)`);
    }
    const result = decodeKey(trimmed, RECIPIENT_HRP);
    if ("problem" in result) {
        const hint = /^age1[a-z]+1/.test(trimmed)
            ? " (plugin and post-quantum recipients are not supported)"
            : trimmed.startsWith("ssh-")
                ? " (SSH keys are not supported)"
                : "";
        throw new domain_errors/* InputError */.dz(`recipient ${quote(trimmed)}: expected ${RECIPIENT_FORM}, but ${result.problem}${hint}`);
    }
    if (trimmed !== trimmed.toLowerCase()) {
        throw new domain_errors/* InputError */.dz(`recipient ${quote(trimmed)}: expected ${RECIPIENT_FORM} in lowercase`);
    }
    const recipient = new X25519Recipient(result.key);
    if (!recipient.isUsable()) {
        throw new domain_errors/* InputError */.dz(`recipient ${quote(trimmed)}: not a usable X25519 public key (a low-order point)`);
    }
    return recipient;
}
/** Parses a recipients file (as for `age -R`): one `age1...` key a line, `#` comments, blank lines. */
function parseRecipients(text) {
    const recipients = significantLines(text).map(({ line }) => parseRecipient(line));
    if (recipients.length === 0) {
        throw new InputError(`recipients: none found; expected lines of ${RECIPIENT_FORM}`);
    }
    return recipients;
}
function significantLines(text) {
    return text
        .split("\n")
        .map((line, index) => ({ line: line.trim(), number: index + 1 }))
        .filter(({ line }) => line !== "" && !line.startsWith("#"));
}
/**
 * Parses an identity file as age-keygen writes it: `AGE-SECRET-KEY-1...` lines, `#` comments and
 * blank lines. Messages name the line but never quote it, as it may hold a secret.
 */
function parseIdentities(text) {
    if (text.startsWith(VERSION_LINE) || text.startsWith(ARMOR_BEGIN)) {
        throw new domain_errors/* InputError */.dz("identity file: it is itself age-encrypted; decrypt it first (age -d)");
    }
    const identities = significantLines(text).map(({ line, number }) => {
        const problem = line.toLowerCase().startsWith("age1")
            ? "this is a public key (age1...); decryption needs the secret key"
            : line.toUpperCase().startsWith("AGE-PLUGIN-")
                ? "plugin identities are not supported"
                : line.toUpperCase().startsWith("AGE-SECRET-KEY-PQ-1")
                    ? "post-quantum (ML-KEM-768 + X25519 hybrid) identities are not supported"
                    : undefined;
        const result = problem ? { problem } : decodeKey(line, IDENTITY_HRP);
        if ("problem" in result) {
            throw new domain_errors/* InputError */.dz(`identity file line ${number}: expected ${IDENTITY_FORM}, but ${result.problem}`);
        }
        if (line !== line.toUpperCase()) {
            throw new domain_errors/* InputError */.dz(`identity file line ${number}: expected ${IDENTITY_FORM} in uppercase`);
        }
        return new X25519Identity(result.key);
    });
    if (identities.length === 0) {
        throw new domain_errors/* InputError */.dz(`identity file: no secret key found; expected a line with ${IDENTITY_FORM}`);
    }
    return identities;
}
/** A new X25519 key pair, in the textual forms age-keygen prints. */
function generateIdentity() {
    const identity = new X25519Identity((0,external_node_crypto_.randomBytes)(KEY_LENGTH));
    return { identity: identity.encodeSecret(), recipient: identity.recipient.toString() };
}
/** The `age1...` public key of an identity, like `age-keygen -y`. */
function recipientOf(identity) {
    if (typeof identity !== "string")
        return identity.recipient.toString();
    const [parsed] = parseIdentities(identity);
    return parsed.recipient.toString();
}
function checkPassphrase(passphrase) {
    if (passphrase === "")
        throw new domain_errors/* InputError */.dz("passphrase: must not be empty");
}
/**
 * Encrypts to a passphrase. `workFactor` is log2 of scrypt's N (age uses 18); it cannot exceed 22,
 * the most age (and this decrypter) accepts.
 */
function passphraseRecipient(passphrase, workFactor = DEFAULT_WORK_FACTOR) {
    checkPassphrase(passphrase);
    if (!Number.isInteger(workFactor) || workFactor < 1 || workFactor > MAX_WORK_FACTOR) {
        throw new domain_errors/* InputError */.dz(`passphrase work factor ${workFactor}: expected an integer from 1 to ${MAX_WORK_FACTOR} (log2 of scrypt's N)`);
    }
    return new ScryptRecipient(passphrase, workFactor);
}
/** Decrypts with a passphrase; files whose work factor is above `maxWorkFactor` are refused. */
function passphraseIdentity(passphrase, maxWorkFactor = MAX_WORK_FACTOR) {
    checkPassphrase(passphrase);
    return new ScryptIdentity(passphrase, maxWorkFactor);
}

;// CONCATENATED MODULE: ./src/crypto/age/index.ts
/** age v1 file encryption (age-encryption.org/v1) on node:crypto, interoperable with the age CLI. */







// EXTERNAL MODULE: external "node:dns/promises"
var external_node_dns_promises_ = __webpack_require__(1553);
// EXTERNAL MODULE: external "node:net"
var external_node_net_ = __webpack_require__(7030);
// EXTERNAL MODULE: external "node:tls"
var external_node_tls_ = __webpack_require__(1692);
// EXTERNAL MODULE: external "node:child_process"
var external_node_child_process_ = __webpack_require__(1421);
// EXTERNAL MODULE: external "node:util"
var external_node_util_ = __webpack_require__(7975);
// EXTERNAL MODULE: external "node:fs/promises"
var external_node_fs_promises_ = __webpack_require__(1455);
;// CONCATENATED MODULE: ./src/postgres/pgdg-key.ts
/**
 * The signing key of apt.postgresql.org (PGDG), fingerprint B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8,
 * as postgresql-common ships it in /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc and its
 * apt.postgresql.org.sh embeds it. Used only when that file is not on the machine.
 */
const PGDG_KEY_FINGERPRINT = "B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8";
const PGDG_KEY_ASC = `-----BEGIN PGP PUBLIC KEY BLOCK-----

mQINBE6XR8IBEACVdDKT2HEH1IyHzXkb4nIWAY7echjRxo7MTcj4vbXAyBKOfjja
UrBEJWHN6fjKJXOYWXHLIYg0hOGeW9qcSiaa1/rYIbOzjfGfhE4x0Y+NJHS1db0V
G6GUj3qXaeyqIJGS2z7m0Thy4Lgr/LpZlZ78Nf1fliSzBlMo1sV7PpP/7zUO+aA4
bKa8Rio3weMXQOZgclzgeSdqtwKnyKTQdXY5MkH1QXyFIk1nTfWwyqpJjHlgtwMi
c2cxjqG5nnV9rIYlTTjYG6RBglq0SmzF/raBnF4Lwjxq4qRqvRllBXdFu5+2pMfC
IZ10HPRdqDCTN60DUix+BTzBUT30NzaLhZbOMT5RvQtvTVgWpeIn20i2NrPWNCUh
hj490dKDLpK/v+A5/i8zPvN4c6MkDHi1FZfaoz3863dylUBR3Ip26oM0hHXf4/2U
A/oA4pCl2W0hc4aNtozjKHkVjRx5Q8/hVYu+39csFWxo6YSB/KgIEw+0W8DiTII3
RQj/OlD68ZDmGLyQPiJvaEtY9fDrcSpI0Esm0i4sjkNbuuh0Cvwwwqo5EF1zfkVj
Tqz2REYQGMJGc5LUbIpk5sMHo1HWV038TWxlDRwtOdzw08zQA6BeWe9FOokRPeR2
AqhyaJJwOZJodKZ76S+LDwFkTLzEKnYPCzkoRwLrEdNt1M7wQBThnC5z6wARAQAB
tBxQb3N0Z3JlU1FMIERlYmlhbiBSZXBvc2l0b3J5iQJOBBMBCAA4AhsDBQsJCAcD
BRUKCQgLBRYCAwEAAh4BAheAFiEEuXsK/KoaR/BE8kSgf8x9RqzMTPgFAlhtCD8A
CgkQf8x9RqzMTPgECxAAk8uL+dwveTv6eH21tIHcltt8U3Ofajdo+D/ayO53LiYO
xi27kdHD0zvFMUWXLGxQtWyeqqDRvDagfWglHucIcaLxoxNwL8+e+9hVFIEskQAY
kVToBCKMXTQDLarz8/J030Pmcv3ihbwB+jhnykMuyyNmht4kq0CNgnlcMCdVz0d3
z/09puryIHJrD+A8y3TD4RM74snQuwc9u5bsckvRtRJKbP3GX5JaFZAqUyZNRJRJ
Tn2OQRBhCpxhlZ2afkAPFIq2aVnEt/Ie6tmeRCzsW3lOxEH2K7MQSfSu/kRz7ELf
Cz3NJHj7rMzC+76Rhsas60t9CjmvMuGONEpctijDWONLCuch3Pdj6XpC+MVxpgBy
2VUdkunb48YhXNW0jgFGM/BFRj+dMQOUbY8PjJjsmVV0joDruWATQG/M4C7O8iU0
B7o6yVv4m8LDEN9CiR6r7H17m4xZseT3f+0QpMe7iQjz6XxTUFRQxXqzmNnloA1T
7VjwPqIIzkj/u0V8nICG/ktLzp1OsCFatWXh7LbU+hwYl6gsFH/mFDqVxJ3+DKQi
vyf1NatzEwl62foVjGUSpvh3ymtmtUQ4JUkNDsXiRBWczaiGSuzD9Qi0ONdkAX3b
ewqmN4TfE+XIpCPxxHXwGq9Rv1IFjOdCX0iG436GHyTLC1tTUIKF5xV4Y0+cXIOI
RgQQEQgABgUCTpdI7gAKCRDFr3dKWFELWqaPAKD1TtT5c3sZz92Fj97KYmqbNQZP
+ACfSC6+hfvlj4GxmUjp1aepoVTo3weJAhwEEAEIAAYFAk6XSQsACgkQTFprqxLS
p64F8Q//cCcutwrH50UoRFejg0EIZav6LUKejC6kpLeubbEtuaIH3r2zMblPGc4i
+eMQKo/PqyQrceRXeNNlqO6/exHozYi2meudxa6IudhwJIOn1MQykJbNMSC2sGUp
1W5M1N5EYgt4hy+qhlfnD66LR4G+9t5FscTJSy84SdiOuqgCOpQmPkVRm1HX5X1+
dmnzMOCk5LHHQuiacV0qeGO7JcBCVEIDr+uhU1H2u5GPFNHm5u15n25tOxVivb94
xg6NDjouECBH7cCVuW79YcExH/0X3/9G45rjdHlKPH1OIUJiiX47OTxdG3dAbB4Q
fnViRJhjehFscFvYWSqXo3pgWqUsEvv9qJac2ZEMSz9x2mj0ekWxuM6/hGWxJdB+
+985rIelPmc7VRAXOjIxWknrXnPCZAMlPlDLu6+vZ5BhFX0Be3y38f7GNCxFkJzl
hWZ4Cj3WojMj+0DaC1eKTj3rJ7OJlt9S9xnO7OOPEUTGyzgNIDAyCiu8F4huLPaT
ape6RupxOMHZeoCVlqx3ouWctelB2oNXcxxiQ/8y+21aHfD4n/CiIFwDvIQjl7dg
mT3u5Lr6yxuosR3QJx1P6rP5ZrDTP9khT30t+HZCbvs5Pq+v/9m6XDmi+NlU7Zuh
Ehy97tL3uBDgoL4b/5BpFL5U9nruPlQzGq1P9jj40dxAaDAX/WKJAj0EEwEIACcC
GwMFCwkIBwMFFQoJCAsFFgIDAQACHgECF4AFAlB5KywFCQPDFt8ACgkQf8x9RqzM
TPhuCQ//QAjRSAOCQ02qmUAikT+mTB6baOAakkYq6uHbEO7qPZkv4E/M+HPIJ4wd
nBNeSQjfvdNcZBA/x0hr5EMcBneKKPDj4hJ0panOIRQmNSTThQw9OU351gm3YQct
AMPRUu1fTJAL/AuZUQf9ESmhyVtWNlH/56HBfYjE4iVeaRkkNLJyX3vkWdJSMwC/
LO3Lw/0M3R8itDsm74F8w4xOdSQ52nSRFRh7PunFtREl+QzQ3EA/WB4AIj3VohIG
kWDfPFCzV3cyZQiEnjAe9gG5pHsXHUWQsDFZ12t784JgkGyO5wT26pzTiuApWM3k
/9V+o3HJSgH5hn7wuTi3TelEFwP1fNzI5iUUtZdtxbFOfWMnZAypEhaLmXNkg4zD
kH44r0ss9fR0DAgUav1a25UnbOn4PgIEQy2fgHKHwRpCy20d6oCSlmgyWsR40EPP
YvtGq49A2aK6ibXmdvvFT+Ts8Z+q2SkFpoYFX20mR2nsF0fbt1lfH65P64dukxeR
GteWIeNakDD40bAAOH8+OaoTGVBJ2ACJfLVNM53PEoftavAwUYMrR910qvwYfd/4
6rh46g1Frr9SFMKYE9uvIJIgDsQB3QBp71houU4H55M5GD8XURYs+bfiQpJG1p7e
B8e5jZx1SagNWc4XwL2FzQ9svrkbg1Y+359buUiP7T6QXX2zY++JAj0EEwEIACcC
GwMFCwkIBwMFFQoJCAsFFgIDAQACHgECF4AFAlEqbZUFCQg2wEEACgkQf8x9RqzM
TPhFMQ//WxAfKMdpSIA9oIC/yPD/dJpY/+DyouOljpE6MucMy/ArBECjFTBwi/j9
NYM4ynAk34IkhuNexc1i9/05f5RM6+riLCLgAOsADDbHD4miZzoSxiVr6GQ3YXMb
OGld9kV9Sy6mGNjcUov7iFcf5Hy5w3AjPfKuR9zXswyfzIU1YXObiiZT38l55pp/
BSgvGVQsvbNjsff5CbEKXS7q3xW+WzN0QWF6YsfNVhFjRGj8hKtHvwKcA02wwjLe
LXVTm6915ZUKhZXUFc0vM4Pj4EgNswH8Ojw9AJaKWJIZmLyW+aP+wpu6YwVCicxB
Y59CzBO2pPJDfKFQzUtrErk9irXeuCCLesDyirxJhv8o0JAvmnMAKOLhNFUrSQ2m
+3EnF7zhfz70gHW+EG8X8mL/EN3/dUM09j6TVrjtw43RLxBzwMDeariFF9yC+5bL
tnGgxjsB9Ik6GV5v34/NEEGf1qBiAzFmDVFRZlrNDkq6gmpvGnA5hUWNr+y0i01L
jGyaLSWHYjgw2UEQOqcUtTFK9MNzbZze4mVaHMEz9/aMfX25R6qbiNqCChveIm8m
Yr5Ds2zdZx+G5bAKdzX7nx2IUAxFQJEE94VLSp3npAaTWv3sHr7dR8tSyUJ9poDw
gw4W9BIcnAM7zvFYbLF5FNggg/26njHCCN70sHt8zGxKQINMc6SJAj0EEwEIACcC
GwMFCwkIBwMFFQoJCAsFFgIDAQACHgECF4AFAlLpFRkFCQ6EJy0ACgkQf8x9RqzM
TPjOZA//Zp0e25pcvle7cLc0YuFr9pBv2JIkLzPm83nkcwKmxaWayUIG4Sv6pH6h
m8+S/CHQij/yFCX+o3ngMw2J9HBUvafZ4bnbI0RGJ70GsAwraQ0VlkIfg7GUw3Tz
voGYO42rZTru9S0K/6nFP6D1HUu+U+AsJONLeb6oypQgInfXQExPZyliUnHdipei
4WR1YFW6sjSkZT/5C3J1wkAvPl5lvOVthI9Zs6bZlJLZwusKxU0UM4Btgu1Sf3nn
JcHmzisixwS9PMHE+AgPWIGSec/N27a0KmTTvImV6K6nEjXJey0K2+EYJuIBsYUN
orOGBwDFIhfRk9qGlpgt0KRyguV+AP5qvgry95IrYtrOuE7307SidEbSnvO5ezNe
mE7gT9Z1tM7IMPfmoKph4BfpNoH7aXiQh1Wo+ChdP92hZUtQrY2Nm13cmkxYjQ4Z
gMWfYMC+DA/GooSgZM5i6hYqyyfAuUD9kwRN6BqTbuAUAp+hCWYeN4D88sLYpFh3
paDYNKJ+Gf7Yyi6gThcV956RUFDH3ys5Dk0vDL9NiWwdebWfRFbzoRM3dyGP889a
OyLzS3mh6nHzZrNGhW73kslSQek8tjKrB+56hXOnb4HaElTZGDvD5wmrrhN94kby
Gtz3cydIohvNO9d90+29h0eGEDYti7j7maHkBKUAwlcPvMg5m3Y=
=DA1T
-----END PGP PUBLIC KEY BLOCK-----`;

;// CONCATENATED MODULE: ./src/postgres/pg-install.ts
/**
 * postgresql-client-<major> fetched into a tool directory of our own, without root and without
 * touching the system: `apt-get update` and `apt-get download` run with a private apt
 * configuration (its own sources list, lists, cache and state under a temporary directory), then
 * `dpkg-deb -x` unpacks postgresql-client-<major> and libpq5 into
 * `<tool root>/postgresql-client/<major>/<arch>`. The binaries are called by their versioned path,
 * with LD_LIBRARY_PATH pointing at the unpacked libpq.
 *
 * A directory counts as installed only when its marker (written last) is there and every file it
 * lists is present with its size: a half-extracted or half-restored directory is never used.
 */







/** Overrides the tool root (tests, or a machine that wants the clients elsewhere). */
const TOOL_DIR_ENV = "LIFEBOAT_TOOL_DIR";
/** Overrides the apt source: one `deb ...` line, or `system` for this machine's own sources. */
const APT_SOURCE_ENV = "LIFEBOAT_PG_APT_SOURCE";
const MARKER = ".lifeboat-complete.json";
const PGDG_URL = "https://apt.postgresql.org/pub/repos/apt";
const PGDG_KEY = "/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc";
const SYSTEM_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
/** RUNNER_TOOL_CACHE in Actions, else $XDG_CACHE_HOME/lifeboat or ~/.cache/lifeboat. */
function toolRoot(env) {
    if (env[TOOL_DIR_ENV])
        return env[TOOL_DIR_ENV];
    if (env.RUNNER_TOOL_CACHE)
        return env.RUNNER_TOOL_CACHE;
    if (env.XDG_CACHE_HOME)
        return (0,external_node_path_.join)(env.XDG_CACHE_HOME, "lifeboat");
    return (0,external_node_path_.join)(env.HOME || (0,external_node_os_.homedir)(), ".cache", "lifeboat");
}
function clientDir(root, major, arch = process.arch) {
    return (0,external_node_path_.join)(root, "postgresql-client", String(major), arch);
}
function parseOsRelease(text) {
    const fields = new Map();
    for (const line of text.split("\n")) {
        const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
        if (match)
            fields.set(match[1], match[2].replace(/^(["'])(.*)\1$/, "$2"));
    }
    return {
        id: fields.get("ID") ?? "linux",
        versionId: fields.get("VERSION_ID") ?? "",
        codename: fields.get("VERSION_CODENAME") || fields.get("UBUNTU_CODENAME") || undefined,
    };
}
function readOsRelease(path = "/etc/os-release") {
    try {
        return parseOsRelease((0,external_node_fs_.readFileSync)(path, "utf8"));
    }
    catch {
        return { id: "linux", versionId: "", codename: undefined };
    }
}
/** One cache entry per major, OS release and architecture: the binaries link against the OS's libraries. */
function cacheKey(major, os, arch = process.arch) {
    return `lifeboat-pg-client-${major}-${os.id}${os.versionId}-${arch}-v1`;
}
/** Where an executable is: PATH first, then the usual system directories. */
function findExecutable(name, env) {
    const dirs = [...(env.PATH ?? "").split(external_node_path_.delimiter).filter(Boolean), ...SYSTEM_DIRS];
    for (const dir of dirs) {
        const path = (0,external_node_path_.join)(dir, name);
        try {
            (0,external_node_fs_.accessSync)(path, external_node_fs_.constants.X_OK);
            return path;
        }
        catch {
            // not here
        }
    }
    return undefined;
}
/** Why installing cannot work on this machine, or undefined when it can be tried. */
function installBlocker(env, platform = process.platform) {
    if (platform !== "linux")
        return `this machine runs ${platform}, not Linux with apt`;
    for (const tool of ["apt-get", "dpkg-deb"]) {
        if (!findExecutable(tool, env))
            return `this machine has no ${tool} (not a Debian or Ubuntu system)`;
    }
    return undefined;
}
function pgdgSource(os) {
    if (!os.codename) {
        throw new domain_errors/* InputError */.dz("--install-pg-client auto: /etc/os-release names no distribution codename, so the PostgreSQL apt repository cannot be chosen; install postgresql-client yourself and pass --pg-bin-dir", { input: "install-pg-client" });
    }
    return { kind: "pgdg", codename: os.codename, description: `${PGDG_URL} ${os.codename}-pgdg` };
}
/** This machine's own apt sources (/etc/apt/sources.list and sources.list.d), copied as they are. */
function systemSources(etcApt = "/etc/apt") {
    const listPath = (0,external_node_path_.join)(etcApt, "sources.list");
    const list = (0,external_node_fs_.existsSync)(listPath) ? (0,external_node_fs_.readFileSync)(listPath, "utf8") : "";
    const parts = {};
    const partsDir = (0,external_node_path_.join)(etcApt, "sources.list.d");
    if ((0,external_node_fs_.existsSync)(partsDir)) {
        for (const name of (0,external_node_fs_.readdirSync)(partsDir).sort()) {
            if (name.endsWith(".list") || name.endsWith(".sources")) {
                parts[name] = (0,external_node_fs_.readFileSync)((0,external_node_path_.join)(partsDir, name), "utf8");
            }
        }
    }
    return { kind: "custom", description: `this machine's apt sources (${etcApt})`, list, parts };
}
/** PGDG unless LIFEBOAT_PG_APT_SOURCE names another source. */
function resolveAptSource(env, os = readOsRelease()) {
    const override = env[APT_SOURCE_ENV]?.trim();
    if (override === "system")
        return systemSources();
    if (override) {
        if (!/^deb\s/.test(override)) {
            throw new domain_errors/* InputError */.dz(`${APT_SOURCE_ENV} "${override}": expected system or one "deb ..." sources line`);
        }
        const description = override.replace(/^deb\s+(\[[^\]]*\]\s+)?/, "");
        return { kind: "custom", description, list: `${override}\n`, parts: {} };
    }
    return pgdgSource(os);
}
/** Writes the private sources list (and the PGDG key when the system has none) into `work`. */
async function writeSources(source, work) {
    const partsDir = (0,external_node_path_.join)(work, "sources.list.d");
    await (0,external_node_fs_promises_.mkdir)(partsDir, { recursive: true });
    if (source.kind === "custom") {
        await (0,external_node_fs_promises_.writeFile)((0,external_node_path_.join)(work, "sources.list"), source.list);
        for (const [name, content] of Object.entries(source.parts))
            await (0,external_node_fs_promises_.writeFile)((0,external_node_path_.join)(partsDir, name), content);
        return;
    }
    let key = PGDG_KEY;
    if (!(0,external_node_fs_.existsSync)(key)) {
        key = (0,external_node_path_.join)(work, "pgdg.asc");
        await (0,external_node_fs_promises_.writeFile)(key, `${PGDG_KEY_ASC}\n`);
    }
    await (0,external_node_fs_promises_.writeFile)((0,external_node_path_.join)(work, "sources.list"), `deb [signed-by=${key}] ${PGDG_URL} ${source.codename}-pgdg main\n`);
}
/** The installed client in `dir`, when its marker is there and everything it lists is intact. */
function readInstalled(dir, major) {
    let marker;
    try {
        marker = JSON.parse((0,external_node_fs_.readFileSync)((0,external_node_path_.join)(dir, MARKER), "utf8"));
    }
    catch {
        return undefined;
    }
    if (marker.major !== major || typeof marker.entries !== "object")
        return undefined;
    for (const [path, expected] of Object.entries(marker.entries)) {
        try {
            const stat = (0,external_node_fs_.lstatSync)((0,external_node_path_.join)(dir, path));
            const actual = stat.isSymbolicLink() ? (0,external_node_fs_.readlinkSync)((0,external_node_path_.join)(dir, path)) : stat.size;
            if (actual !== expected)
                return undefined;
        }
        catch {
            return undefined;
        }
    }
    return describeInstalled(dir, major, marker.packageVersion, marker.libDir);
}
function describeInstalled(dir, major, packageVersion, libDir) {
    return {
        major,
        packageVersion,
        dir,
        binDir: (0,external_node_path_.join)(dir, "usr", "lib", "postgresql", String(major), "bin"),
        env: { LD_LIBRARY_PATH: (0,external_node_path_.join)(dir, libDir) },
    };
}
function listEntries(root) {
    const entries = {};
    const walk = (dir) => {
        for (const entry of (0,external_node_fs_.readdirSync)(dir, { withFileTypes: true })) {
            const path = (0,external_node_path_.join)(dir, entry.name);
            const key = (0,external_node_path_.relative)(root, path);
            if (entry.isSymbolicLink())
                entries[key] = (0,external_node_fs_.readlinkSync)(path);
            else if (entry.isDirectory())
                walk(path);
            else if (entry.isFile())
                entries[key] = (0,external_node_fs_.lstatSync)(path).size;
        }
    };
    walk(root);
    return entries;
}
function run(file, args, options) {
    return new Promise((resolve) => {
        (0,external_node_child_process_.execFile)(file, args, { cwd: options.cwd, env: options.env, timeout: options.timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
            const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
            resolve({ code, stdout, stderr: stderr || (error && code === null ? error.message : "") });
        });
    });
}
/** apt's own verdict: its first "E:" line, else its first failed fetch, else its last line. */
function aptError(result) {
    const lines = `${result.stderr}\n${result.stdout}`
        .split("\n")
        .map((line) => line.trim().replace(/\s+/g, " "))
        .filter(Boolean);
    const error = lines.find((line) => line.startsWith("E:")) ??
        lines.find((line) => /^W: (Failed to fetch|The repository|GPG error)/.test(line)) ??
        lines.at(-1);
    return (error ?? `exit status ${result.code}`).replace(/^[EW]:\s*/, "");
}
/**
 * Downloads and unpacks postgresql-client-<major> and libpq5 into `dir`. The files land in a
 * sibling directory first and are renamed into place once complete (marker written last), so a
 * concurrent or interrupted install never leaves a directory that looks installed.
 */
async function installPgClient(options) {
    const { major, dir, source, log } = options;
    const pkg = `postgresql-client-${major}`;
    const tried = `${pkg} and libpq5 from ${source.description}`;
    const blocker = installBlocker(options.env);
    if (blocker) {
        throw new domain_errors/* InputError */.dz(`--install-pg-client auto: cannot get ${tried}: ${blocker}`, {
            input: "install-pg-client",
        });
    }
    const aptGet = findExecutable("apt-get", options.env);
    const dpkgDeb = findExecutable("dpkg-deb", options.env);
    const env = {
        ...options.env,
        PATH: [options.env.PATH, ...SYSTEM_DIRS].filter(Boolean).join(external_node_path_.delimiter),
        LC_ALL: "C",
        DEBIAN_FRONTEND: "noninteractive",
    };
    const work = await (0,external_node_fs_promises_.mkdtemp)((0,external_node_path_.join)((0,external_node_os_.tmpdir)(), "lifeboat-apt-"));
    let staging;
    try {
        await (0,external_node_fs_promises_.mkdir)((0,external_node_path_.dirname)(dir), { recursive: true });
        staging = await (0,external_node_fs_promises_.mkdtemp)((0,external_node_path_.join)((0,external_node_path_.dirname)(dir), `.${(0,external_node_path_.basename)(dir)}.partial-`));
        const debs = (0,external_node_path_.join)(work, "debs");
        for (const path of [
            debs,
            (0,external_node_path_.join)(work, "state", "lists", "partial"),
            (0,external_node_path_.join)(work, "cache", "archives", "partial"),
        ]) {
            await (0,external_node_fs_promises_.mkdir)(path, { recursive: true });
        }
        await writeSources(source, work);
        const aptOptions = [
            `Dir::Etc::SourceList=${(0,external_node_path_.join)(work, "sources.list")}`,
            `Dir::Etc::SourceParts=${(0,external_node_path_.join)(work, "sources.list.d")}`,
            `Dir::State=${(0,external_node_path_.join)(work, "state")}`,
            `Dir::Cache=${(0,external_node_path_.join)(work, "cache")}`,
            "Acquire::Retries=3",
            "Acquire::http::Timeout=30",
            "Acquire::https::Timeout=30",
            // As root apt drops to the _apt user for downloads, which cannot write into our 0700 dirs.
            ...(process.getuid?.() === 0 ? ["APT::Sandbox::User=root"] : []),
        ].flatMap((option) => ["-o", option]);
        log.info(`Downloading ${tried} (install-pg-client auto)`);
        const update = await run(aptGet, [...aptOptions, "-q", "update"], { env, timeoutMs: 300_000 });
        // apt-get update exits 0 even when a source failed; "W:"/"E:" lines then say which.
        const failedFetch = /^(E|W): (Failed to fetch|Some index files failed|The repository|GPG error)/m.exec(`${update.stderr}\n${update.stdout}`);
        if (update.code !== 0 || failedFetch) {
            throw new domain_errors/* OperationError */.OK(`--install-pg-client auto: could not get ${tried}: apt-get update failed: ${aptError(update)}; without access to it, install ${pkg} yourself and pass --pg-bin-dir`);
        }
        const download = await run(aptGet, [...aptOptions, "-q", "download", pkg, "libpq5"], {
            cwd: debs,
            env,
            timeoutMs: 300_000,
        });
        if (download.code !== 0) {
            const reason = aptError(download);
            if (/Unable to locate package|has no installation candidate|Can't select/.test(reason)) {
                throw new domain_errors/* InputError */.dz(`--install-pg-client auto: ${source.description} has no ${pkg} for this system (${reason}); choose another --pg-version, or install it yourself and pass --pg-bin-dir`, { input: "install-pg-client" });
            }
            throw new domain_errors/* OperationError */.OK(`--install-pg-client auto: could not download ${tried}: ${reason}`);
        }
        const files = (await (0,external_node_fs_promises_.readdir)(debs)).filter((name) => name.endsWith(".deb"));
        const clientDeb = files.find((name) => name.startsWith(`${pkg}_`));
        if (!clientDeb || !files.some((name) => name.startsWith("libpq5_"))) {
            throw new domain_errors/* OperationError */.OK(`--install-pg-client auto: apt-get download of ${tried} left only ${files.join(", ") || "nothing"}`);
        }
        for (const name of files) {
            const extracted = await run(dpkgDeb, ["-x", (0,external_node_path_.join)(debs, name), staging], { env, timeoutMs: 120_000 });
            if (extracted.code !== 0) {
                throw new domain_errors/* OperationError */.OK(`--install-pg-client auto: dpkg-deb -x ${name} failed: ${aptError(extracted)}`);
            }
        }
        const packageVersion = decodeURIComponent(clientDeb.split("_")[1] ?? "");
        const libDir = findLibDir(staging);
        if (!libDir) {
            throw new domain_errors/* OperationError */.OK(`--install-pg-client auto: libpq5 from ${source.description} holds no libpq.so.5`);
        }
        const installed = describeInstalled(staging, major, packageVersion, libDir);
        // A binary that cannot start here (a library the OS lacks) is found now, not mid-backup.
        const probe = await run((0,external_node_path_.join)(installed.binDir, "pg_dump"), ["--version"], {
            env: { ...env, ...installed.env },
            timeoutMs: 10_000,
        });
        if (probe.code !== 0) {
            throw new domain_errors/* OperationError */.OK(`--install-pg-client auto: the downloaded pg_dump ${major} does not run on this machine: ${aptError(probe)}`);
        }
        const marker = { major, packageVersion, libDir, entries: listEntries(staging) };
        await (0,external_node_fs_promises_.writeFile)((0,external_node_path_.join)(staging, MARKER), `${JSON.stringify(marker, null, 2)}\n`);
        if (readInstalled(dir, major)) {
            // Another run finished first: its copy is as good as ours.
            await (0,external_node_fs_promises_.rm)(staging, { recursive: true, force: true });
        }
        else {
            await (0,external_node_fs_promises_.rm)(dir, { recursive: true, force: true });
            await (0,external_node_fs_promises_.rename)(staging, dir);
        }
        const result = readInstalled(dir, major);
        if (!result)
            throw new domain_errors/* OperationError */.OK(`--install-pg-client auto: ${dir} is incomplete after the install`);
        log.info(`Installed ${pkg} ${result.packageVersion} into ${dir}`);
        return result;
    }
    catch (error) {
        if (staging)
            await (0,external_node_fs_promises_.rm)(staging, { recursive: true, force: true }).catch(() => undefined);
        if (error instanceof domain_errors/* InputError */.dz || error instanceof domain_errors/* OperationError */.OK)
            throw error;
        throw new domain_errors/* OperationError */.OK(`--install-pg-client auto: could not install ${tried}: ${(0,domain_errors/* describeError */.Uc)(error)}`, {
            cause: error,
        });
    }
    finally {
        await (0,external_node_fs_promises_.rm)(work, { recursive: true, force: true }).catch(() => undefined);
    }
}
/** The multiarch directory holding libpq.so.5, relative to `root` (usr/lib/x86_64-linux-gnu). */
function findLibDir(root) {
    const lib = (0,external_node_path_.join)(root, "usr", "lib");
    if (!(0,external_node_fs_.existsSync)(lib))
        return undefined;
    for (const name of (0,external_node_fs_.readdirSync)(lib)) {
        if ((0,external_node_fs_.existsSync)((0,external_node_path_.join)(lib, name, "libpq.so.5")))
            return (0,external_node_path_.join)("usr", "lib", name);
    }
    return (0,external_node_fs_.existsSync)((0,external_node_path_.join)(lib, "libpq.so.5")) ? (0,external_node_path_.join)("usr", "lib") : undefined;
}
/**
 * postgresql-client-<major> in the tool directory: already there, else restored from the cache,
 * else downloaded (and saved to the cache for the next run).
 */
async function ensurePgClient(options) {
    const { major, env, log, cache } = options;
    const dir = clientDir(toolRoot(env), major);
    const present = readInstalled(dir, major);
    if (present) {
        log.info(`Using postgresql-client-${major} ${present.packageVersion} from ${dir}`);
        return present;
    }
    const os = readOsRelease();
    const key = cacheKey(major, os);
    if (cache && (await cache.restore([dir], key))) {
        const restored = readInstalled(dir, major);
        if (restored) {
            log.info(`Restored postgresql-client-${major} ${restored.packageVersion} from the cache (${key}) into ${dir}`);
            return restored;
        }
        log.warn(`the cache entry ${key} restored an incomplete ${dir}; downloading instead`);
    }
    const installed = await installPgClient({
        major,
        dir,
        source: options.source ?? resolveAptSource(env, os),
        env,
        log,
    });
    if (cache)
        await cache.save([dir], key);
    return installed;
}

;// CONCATENATED MODULE: ./src/postgres/pg-dump-finder.ts
/**
 * Finds a pg_dump that can dump a server of a given major: pg_dump dumps servers of its own major
 * and older, and refuses newer ones ("aborting because of server version mismatch"). The same for
 * pg_restore and the archives of a pg_dump major. When nothing on the machine fits and
 * install-pg-client is auto, postgresql-client-<major> is fetched into the tool directory
 * (pg-install.ts) and its binaries are used by their versioned path.
 */






const pg_dump_finder_run = (0,external_node_util_.promisify)(external_node_child_process_.execFile);
/** The path and environment to spawn a tool with: `base` plus what the tool needs. */
function toolSpawn(tool, base) {
    if (typeof tool === "string")
        return { path: tool, env: base };
    const env = { ...base };
    for (const [name, value] of Object.entries(tool.env ?? {})) {
        // Our libraries first; whatever the environment had stays after them.
        env[name] = name === "LD_LIBRARY_PATH" && base[name] ? `${value}${external_node_path_.delimiter}${base[name]}` : value;
    }
    return { path: tool.path, env };
}
/** Where Debian and PGDG put each major's binaries; LIFEBOAT_PG_VERSIONED_ROOT overrides it (tests). */
const VERSIONED_ROOT_ENV = "LIFEBOAT_PG_VERSIONED_ROOT";
function parsePgToolVersion(text) {
    const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.\d+)?/.exec(text);
    if (!match)
        return undefined;
    const major = Number(match[1]);
    const version = match[2] === undefined ? match[1] : `${match[1]}.${match[2]}`;
    return { version, major };
}
/** The directories to look in, in order: versioned Debian/PGDG ones (newest first), then PATH. */
function candidateBinDirs(env, versionedRoot = env[VERSIONED_ROOT_ENV] || "/usr/lib/postgresql") {
    const dirs = [];
    if ((0,external_node_fs_.existsSync)(versionedRoot)) {
        const majors = (0,external_node_fs_.readdirSync)(versionedRoot)
            .filter((name) => /^\d+$/.test(name))
            .map(Number)
            .sort((a, b) => b - a);
        for (const major of majors)
            dirs.push((0,external_node_path_.join)(versionedRoot, String(major), "bin"));
    }
    for (const dir of (env.PATH ?? "").split(external_node_path_.delimiter))
        if (dir)
            dirs.push(dir);
    return [...new Set(dirs)];
}
async function probeTool(binDir, name, toolEnv) {
    const path = (0,external_node_path_.join)(binDir, name);
    if (!(0,external_node_fs_.existsSync)(path))
        return undefined;
    try {
        const spawnWith = toolSpawn({ path, env: toolEnv }, process.env);
        const { stdout } = await pg_dump_finder_run(path, ["--version"], { timeout: 10_000, env: spawnWith.env });
        const parsed = parsePgToolVersion(stdout);
        return parsed ? { path, binDir, ...parsed, ...(toolEnv ? { env: toolEnv } : {}) } : undefined;
    }
    catch {
        return undefined;
    }
}
/**
 * Picks the tool for a server major (or an archive's pg_dump major). auto: the same major when
 * there is one (its archives are readable by the most pg_restore versions), else the oldest newer
 * one. A pinned major: exactly that one.
 */
function chooseTool(tools, serverMajor, pgVersion = "auto") {
    if (pgVersion !== "auto")
        return pgVersion >= serverMajor ? tools.find((tool) => tool.major === pgVersion) : undefined;
    const able = tools.filter((tool) => tool.major >= serverMajor).sort((a, b) => a.major - b.major);
    return able[0];
}
/** The major to install when nothing on the machine fits: the pinned one, else the server's. */
function wantedMajor(serverMajor, pgVersion) {
    return pgVersion === "auto" ? serverMajor : pgVersion;
}
async function findPgTool(options) {
    const { name, serverMajor } = options;
    const pgVersion = options.pgVersion ?? "auto";
    const log = options.log ?? { info: () => undefined, warn: () => undefined };
    const job = options.target ?? `dump PostgreSQL ${options.serverVersion}`;
    if (pgVersion !== "auto" && pgVersion < serverMajor) {
        throw new domain_errors/* InputError */.dz(`--pg-version "${pgVersion}": ${name} ${pgVersion} cannot ${job}; use auto, or ${serverMajor} or newer`, { input: "pg-version" });
    }
    if (options.pgBinDir) {
        const tool = await probeTool(options.pgBinDir, name);
        if (!tool) {
            throw new domain_errors/* InputError */.dz(`--pg-bin-dir "${options.pgBinDir}": no working ${name} in that directory`, {
                input: "pg-bin-dir",
            });
        }
        if (tool.major < serverMajor) {
            throw new domain_errors/* InputError */.dz(`--pg-bin-dir "${options.pgBinDir}": ${name} ${tool.version} cannot ${job}; ${installHint(serverMajor)}`, { input: "pg-bin-dir" });
        }
        if (pgVersion !== "auto" && tool.major !== pgVersion) {
            throw new domain_errors/* InputError */.dz(`--pg-version "${pgVersion}": the ${name} in --pg-bin-dir "${options.pgBinDir}" is ${tool.version}; drop one of the two or make them agree`, { input: "pg-version" });
        }
        return tool;
    }
    const found = [];
    for (const dir of candidateBinDirs(options.env)) {
        const tool = await probeTool(dir, name);
        if (tool && !found.some((other) => other.path === tool.path))
            found.push(tool);
    }
    const chosen = chooseTool(found, serverMajor, pgVersion);
    if (chosen)
        return chosen;
    const major = wantedMajor(serverMajor, pgVersion);
    const seen = found.length
        ? `found ${found.map((tool) => `${name} ${tool.version} (${tool.path})`).join(", ")}`
        : `found no ${name}`;
    const need = pgVersion === "auto"
        ? `--pg-bin-dir: ${options.target ? `to ${options.target}, lifeboat` : `the server runs PostgreSQL ${options.serverVersion} and`} needs ${name} ${serverMajor} or newer`
        : `--pg-version "${pgVersion}": needs ${name} ${pgVersion}`;
    const input = pgVersion === "auto" ? "pg-bin-dir" : "pg-version";
    if (options.installPgClient === "auto") {
        const blocker = installBlocker(options.env);
        if (blocker) {
            throw new domain_errors/* InputError */.dz(`${need}; ${seen}; install-pg-client auto cannot download it: ${blocker}; ${installHint(major, false)}`, { input });
        }
        log.info(`No suitable ${name} on this machine (${seen}): getting postgresql-client-${major}`);
        const installed = await (options.install ??
            ((wanted) => ensurePgClient({ major: wanted, env: options.env, log, cache: options.cache })))(major);
        const tool = await probeTool(installed.binDir, name, installed.env);
        if (!tool) {
            throw new domain_errors/* OperationError */.OK(`--install-pg-client auto: postgresql-client-${major} in ${installed.dir} has no working ${name}`);
        }
        return tool;
    }
    throw new domain_errors/* InputError */.dz(`${need}; ${seen}; ${installHint(major, true)}`, { input });
}
function installHint(major, suggestAuto = true) {
    const manual = `install postgresql-client-${major} (on GitHub runners: sudo /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y && sudo apt-get install -y postgresql-client-${major}) and pass --pg-bin-dir /usr/lib/postgresql/${major}/bin`;
    return suggestAuto
        ? `${manual}, or let lifeboat download it into its tool directory with --install-pg-client auto (action input install-pg-client: auto)`
        : manual;
}
/**
 * The pg_dump that backs up this server, chosen by the client settings backup and doctor share:
 * the one place both look, so the doctor's verdict is the backup's.
 */
function findPgDumpFor(server, settings, deps) {
    return findPgTool({
        name: "pg_dump",
        serverMajor: server.major,
        serverVersion: server.version,
        pgBinDir: settings.pgBinDir,
        pgVersion: settings.pgVersion,
        installPgClient: settings.installPgClient,
        env: deps.env,
        ...(deps.cache ? { cache: deps.cache } : {}),
        ...(deps.log ? { log: deps.log } : {}),
    });
}

;// CONCATENATED MODULE: ./src/postgres/doctor.ts
/**
 * The connection doctor: `preflight` runs before any connection (backup, restore) and turns what
 * can be known from the URL and DNS into one-line exit-2 errors; `runDoctor` goes on through TCP,
 * TLS, authentication, the server, its session settings, privileges and pg_dump, and reports
 * every check (docs/connections.md).
 */










async function systemLookup(host) {
    const found = await (0,external_node_dns_promises_.lookup)(host, { all: true, verbatim: true });
    return found.map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }));
}
function systemHasIpv6Route() {
    return Object.values((0,external_node_os_.networkInterfaces)()).some((addresses) => (addresses ?? []).some((entry) => String(entry.family).endsWith("6") && !entry.internal && isGlobalIpv6(entry.address)));
}
/**
 * Before anything connects: the URL's own rules (a transaction pooler is refused), then DNS (a
 * host that is unknown, or reachable only over IPv6 from a machine without IPv6). Throws a
 * one-line InputError naming the part of the URL that is wrong.
 */
async function preflight(url, input = "database-url", deps = {}) {
    const rules = checkUrl(url, input);
    if (rules.error)
        throw rules.error;
    for (const warning of rules.warnings)
        deps.log?.warn(warning);
    const dns = await checkDns(url, input, deps);
    if (dns.error)
        throw dns.error;
}
const ok = (detail) => ({ status: "ok", detail });
const warn = (detail) => ({ status: "warn", detail });
const fail = (error) => ({ status: "fail", detail: error.message, error });
function checkUrl(url, input) {
    const findings = urlRules(url, input);
    const failure = findings.find((finding) => finding.level === "fail");
    const warnings = findings.filter((finding) => finding.level === "warn").map((finding) => finding.message);
    if (failure)
        return { ...fail(new domain_errors/* InputError */.dz(failure.message, { input })), warnings };
    const byDefault = resolveSslMode({}, url.host, input).mode === url.sslmode;
    const ssl = `sslmode=${url.sslmode}${byDefault ? ` (the default for ${isSocketPath(url.host) ? "a Unix socket" : isLocalHost(url.host) ? "a local host" : "a remote host"})` : ""}`;
    const summary = `${url.host}:${url.port}/${url.database} as ${url.user ?? "(default user)"}, ${ssl}`;
    if (warnings.length)
        return { ...warn(`${summary}; ${warnings.join("; ")}`), warnings };
    return { ...ok(summary), warnings };
}
function bareHost(host) {
    return host.replace(/^\[(.*)\]$/, "$1");
}
async function checkDns(url, input, deps) {
    if (isSocketPath(url.host))
        return { status: "skip", detail: `Unix socket in ${url.host}: no lookup` };
    const host = bareHost(url.host);
    const hasRoute = (deps.hasIpv6Route ?? systemHasIpv6Route)();
    let addresses;
    const family = (0,external_node_net_.isIP)(host);
    if (family !== 0) {
        addresses = [{ address: host, family: family === 6 ? 6 : 4 }];
    }
    else {
        try {
            addresses = await (deps.lookup ?? systemLookup)(host);
        }
        catch (error) {
            const code = error.code;
            if (code === "ENOTFOUND" || code === "ENODATA" || code === "EAI_NONAME") {
                return fail(new domain_errors/* InputError */.dz(unresolvedHostMessage(url, input), { input, cause: error }));
            }
            // A resolver that is down for a moment: let the connection try and report.
            return warn(`looking up ${host} failed (${code ?? (0,domain_errors/* describeError */.Uc)(error)}); the connection will try again`);
        }
        if (addresses.length === 0) {
            return fail(new domain_errors/* InputError */.dz(unresolvedHostMessage(url, input), { input }));
        }
    }
    const problem = addressFamilyProblem(url, addresses, hasRoute, input);
    if (problem)
        return fail(new domain_errors/* InputError */.dz(problem, { input }));
    const listed = addresses.map((entry) => `${entry.family === 6 ? "AAAA" : "A"} ${entry.address}`).join(", ");
    const v6Only = addresses.every((entry) => entry.family === 6);
    return ok(`${family !== 0 ? "an IP address" : listed}${v6Only && hasRoute ? " (IPv6 only; this machine has an IPv6 route)" : ""}`);
}
/** The first line of a connection from this machine: a TCP socket to the host and port. */
async function checkTcp(url, input) {
    const started = performance.now();
    try {
        const socket = await openSocket(url);
        socket.destroy();
    }
    catch (error) {
        return fail(connectionError(error, url, input));
    }
    const where = isSocketPath(url.host) ? socketPath(url) : `${url.host}:${url.port}`;
    return ok(`${where} accepts connections (${Math.round(performance.now() - started)} ms)`);
}
function socketPath(url) {
    return (0,external_node_path_.join)(url.host, `.s.PGSQL.${url.port}`);
}
function openSocket(url) {
    return new Promise((resolve, reject) => {
        const socket = isSocketPath(url.host)
            ? (0,external_node_net_.connect)({ path: socketPath(url) })
            : (0,external_node_net_.connect)({ host: bareHost(url.host), port: url.port });
        socket.setTimeout(10_000, () => socket.destroy(Object.assign(new Error("connection timed out"), { code: "ETIMEDOUT" })));
        socket.once("connect", () => {
            socket.setTimeout(0);
            resolve(socket);
        });
        socket.once("error", reject);
    });
}
/** PostgreSQL's SSLRequest: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
/**
 * Asks the server for TLS the way libpq does and completes the handshake with the URL's sslmode,
 * apart from authentication, so a certificate problem is told apart from a password problem.
 */
async function checkTls(url, input) {
    const mode = url.sslmode;
    if (mode === "disable") {
        return {
            status: "skip",
            detail: isSocketPath(url.host)
                ? "a Unix socket: no TLS"
                : "sslmode=disable: the connection is not encrypted",
        };
    }
    let socket;
    try {
        socket = await openSocket(url);
    }
    catch (error) {
        return fail(connectionError(error, url, input));
    }
    try {
        const answer = await new Promise((resolve, reject) => {
            socket.once("data", (data) => resolve(data.subarray(0, 1).toString("latin1")));
            socket.once("error", reject);
            socket.once("close", () => reject(new Error("the server closed the connection")));
            socket.write(SSL_REQUEST);
        });
        if (answer !== "S") {
            if (mode === "prefer" || mode === "allow") {
                const detail = `the server offers no TLS; sslmode=${mode} connects unencrypted`;
                return isLocalHost(url.host) ? ok(`${detail} (a local host)`) : warn(detail);
            }
            return fail(connectionError(new Error("The server does not support SSL connections"), url, input));
        }
        let options;
        try {
            options = tlsOptions(url, mode === "prefer" || mode === "allow" ? "require" : mode, input);
        }
        catch (error) {
            if (error instanceof domain_errors/* LifeboatError */.H3)
                return fail(error);
            throw error;
        }
        const host = bareHost(url.host);
        const secure = await new Promise((resolve, reject) => {
            const tls = (0,external_node_tls_.connect)({ ...options, socket, host, ...((0,external_node_net_.isIP)(host) ? {} : { servername: host }) });
            tls.once("secureConnect", () => {
                resolve({ protocol: tls.getProtocol(), verified: tls.authorized });
                tls.destroy();
            });
            tls.once("error", reject);
        }).catch((error) => {
            const problem = certificateProblemFor(error, url, input);
            if (problem)
                return problem;
            throw error;
        });
        if (secure instanceof domain_errors/* LifeboatError */.H3)
            return fail(secure);
        const what = mode === "verify-full"
            ? "certificate and host name verified"
            : mode === "verify-ca" || (mode === "require" && options.rejectUnauthorized)
                ? "certificate chain verified, host name not checked"
                : "encrypted, certificate not verified";
        return ok(`${secure.protocol ?? "TLS"}, ${what} (sslmode=${mode})`);
    }
    catch (error) {
        return fail(new domain_errors/* InputError */.dz(`--${input}: TLS with ${url.host}:${url.port} failed: ${(0,domain_errors/* describeError */.Uc)(error)}`, {
            input,
        }));
    }
    finally {
        socket.destroy();
    }
}
async function checkTimeouts(client) {
    const { rows } = await client.query("SELECT name, reset_val, setting, unit FROM pg_catalog.pg_settings WHERE name = ANY($1::text[]) ORDER BY name", [[...DUMP_TIMEOUTS]]);
    const set = rows.filter((row) => row.reset_val !== "0");
    const stillOn = rows.filter((row) => row.setting !== "0");
    if (stillOn.length) {
        return warn(`${stillOn.map((row) => `${row.name}=${row.setting}${row.unit ?? ""}`).join(", ")} could not be turned off in Lifeboat's session`);
    }
    if (set.length === 0)
        return ok(`none set (${rows.map((row) => row.name).join(", ")} are 0)`);
    return ok(`${set.map((row) => `${row.name}=${row.reset_val}${row.unit ?? ""}`).join(", ")} for this user or database: Lifeboat turns them off in its own sessions, and pg_dump in its own`);
}
/**
 * Tables and sequences pg_dump will read (user schemas, extension members left out) that this user
 * cannot: no USAGE on the schema, no SELECT, or row-level security that applies to it (pg_dump
 * runs with row_security off and stops at such a table).
 */
async function checkPrivileges(client, input, preset) {
    // Schema names as LIKE patterns: `_` literal, the preset's `*` wildcard as `%`.
    const excluded = (preset === "supabase" ? SUPABASE_PLATFORM_SCHEMAS : []).map((name) => name.replace(/[\\%_]/g, (char) => `\\${char}`).replace(/\*/g, "%"));
    const { rows } = await client.query(`SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name, c.relkind AS kind,
            pg_catalog.has_schema_privilege(n.oid, 'USAGE') AS usage,
            pg_catalog.has_table_privilege(c.oid, 'SELECT') AS select,
            (c.relrowsecurity AND NOT r.rolsuper AND NOT r.rolbypassrls
              AND (c.relforcerowsecurity OR NOT pg_catalog.pg_has_role(c.relowner, 'USAGE'))) AS rls
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_roles r ON r.rolname = current_user
      WHERE c.relkind IN ('r', 'p', 'S')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
        AND NOT (n.nspname LIKE ANY ($1::text[]))
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                         WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1`, [excluded]);
    const tables = rows.filter((row) => row.kind !== "S").length;
    const sequences = rows.length - tables;
    const blocked = rows
        .map((row) => {
        const why = !row.usage
            ? "no USAGE on its schema"
            : !row.select
                ? "no SELECT"
                : row.rls
                    ? "row-level security"
                    : "";
        return why ? `${row.name} (${why})` : "";
    })
        .filter(Boolean);
    if (blocked.length === 0) {
        return ok(`can read all ${tables} tables and ${sequences} sequences`);
    }
    const shown = blocked.slice(0, 5).join(", ") + (blocked.length > 5 ? `, and ${blocked.length - 5} more` : "");
    return fail(new domain_errors/* InputError */.dz(`--${input}: ${blocked.length} of ${rows.length} tables and sequences cannot be read by this user: ${shown}; grant SELECT (or BYPASSRLS), or leave them out with --exclude-table / --exclude-schema`, { input }));
}
async function runDoctor(settings, deps) {
    const input = "database-url";
    const url = settings.databaseUrl;
    const checks = [];
    const report = { ok: true, exitCode: 0, checks };
    let blocked = false;
    const record = (name, step) => {
        checks.push({ name, status: step.status, detail: step.detail });
        if (step.status === "fail") {
            blocked = true;
            report.ok = false;
            report.failure ??= step.error;
        }
    };
    const run = async (name, step) => {
        if (blocked) {
            checks.push({ name, status: "skip", detail: "not checked: an earlier check failed" });
            return;
        }
        try {
            record(name, await step());
        }
        catch (error) {
            record(name, fail(error instanceof domain_errors/* LifeboatError */.H3 ? error : new domain_errors/* LifeboatError */.H3((0,domain_errors/* describeError */.Uc)(error), { cause: error })));
        }
    };
    await run("url", () => Promise.resolve(checkUrl(url, input)));
    await run("dns", () => checkDns(url, input, deps));
    await run("tcp", () => checkTcp(url, input));
    await run("tls", () => checkTls(url, input));
    let client;
    await run("authentication", async () => {
        client = await connect(url, input);
        const who = await client.query("SELECT current_user AS user, current_database() AS database, (SELECT ssl FROM pg_catalog.pg_stat_ssl WHERE pid = pg_catalog.pg_backend_pid()) AS ssl");
        const row = who.rows[0];
        return ok(`connected as ${row.user} to database ${row.database}${row.ssl ? " over TLS" : row.ssl === false ? " without TLS" : ""}`);
    });
    let server;
    try {
        await run("server", async () => {
            server = await readServerInfo(client);
            report.server = { version: server.version, database: server.database, user: server.user };
            return ok(`PostgreSQL ${server.version}`);
        });
        await run("timeouts", () => checkTimeouts(client));
        await run("privileges", () => checkPrivileges(client, input, settings.preset));
    }
    finally {
        await client?.end().catch(() => undefined);
    }
    // Whether a pg_dump fits is worth knowing even when a privilege is missing.
    if (server !== undefined)
        blocked = false;
    await run("pg_dump", async () => {
        const tool = await findPgDumpFor(server, settings, deps);
        report.pgDump = { version: tool.version, path: tool.path };
        return ok(`pg_dump ${tool.version} (${tool.path}) can dump PostgreSQL ${server.version}`);
    });
    if (report.failure)
        report.exitCode = report.failure.exitCode;
    return report;
}

;// CONCATENATED MODULE: ./src/postgres/child-env.ts
/**
 * The environments child processes get: an allow-list of what each needs, nothing inherited by
 * default. Lifeboat runs with secrets in its environment (DATABASE_URL, LIFEBOAT_PASSPHRASE,
 * LIFEBOAT_IDENTITY, the action's INPUT_* values, AWS credentials, the runner's
 * ACTIONS_RUNTIME_TOKEN and OIDC request token, GITHUB_TOKEN), and a child sees all of it unless
 * told otherwise.
 *
 * PostgreSQL's tools (pg_dump, pg_dumpall, pg_restore, psql) get the connection from the URL on
 * their command line and the password from PGPASSWORD, and no inherited PG* variable at all: a
 * PGHOSTADDR, PGSERVICE, PGPASSFILE, PGSSLROOTCERT or PGOPTIONS in the outer environment would
 * make pg_dump connect differently from Lifeboat's own connection (the one that took the row
 * counts and checked TLS), possibly to another server. What the connection needs goes in the URL.
 *
 * The user's `--run` command (restore-test) is often a pull request's own code: it gets a working
 * shell (PATH, HOME, locale, the runner's non-secret context), the scratch database (DATABASE_URL
 * and PG*), and the names the user passes through explicitly, never a secret-bearing one.
 */


/** What any child needs to run at all: finding programs, a home, a temp dir, the time zone. */
const BASICS = ["PATH", "HOME", "TMPDIR", "TZ"];
/** Locale: LANG, LANGUAGE and LC_* (LC_ALL included). */
const LOCALE = /^(LANG|LANGUAGE|LC_[A-Z_]+)$/;
/**
 * The PostgreSQL tools, besides BASICS and the locale: the dynamic loader's path (a client
 * installed into the tool cache finds its libpq through it, added by toolSpawn), and OpenSSL's CA
 * store for `sslrootcert=system`.
 */
const PG_TOOL_NAMES = ["LD_LIBRARY_PATH", "SSL_CERT_FILE", "SSL_CERT_DIR"];
/**
 * The environment for pg_dump, pg_dumpall, pg_restore and psql: BASICS, the locale with messages
 * in English (Lifeboat reads their "error:" lines), what the tool needs to load, and the PG*
 * variables set here. Pass the result as `base` to toolSpawn, which adds the tool's own
 * LD_LIBRARY_PATH in front.
 */
function pgToolEnv(base, options = {}) {
    const env = pick(base, (name) => BASICS.includes(name) || PG_TOOL_NAMES.includes(name) || LOCALE.test(name));
    // A translated "error:" would hide pg_restore's errors from errorLines() and pg_dump's from the
    // failure message; LC_ALL would override LC_MESSAGES, so its value moves to LANG.
    if (env.LC_ALL !== undefined) {
        env.LANG = env.LC_ALL;
        delete env.LC_ALL;
    }
    env.LC_MESSAGES = "C";
    if (options.password !== undefined)
        env.PGPASSWORD = options.password;
    if (options.sslmode !== undefined)
        env.PGSSLMODE = options.sslmode;
    if (options.appName !== undefined)
        env.PGAPPNAME = options.appName;
    if (options.connectTimeoutSeconds !== undefined)
        env.PGCONNECT_TIMEOUT = String(options.connectTimeoutSeconds);
    return env;
}
/** The runner's context a command may read: which repository, commit, run; no token, no file commands. */
const RUNNER_CONTEXT = new Set([
    "CI",
    "GITHUB_ACTIONS",
    "GITHUB_ACTOR",
    "GITHUB_ACTOR_ID",
    "GITHUB_API_URL",
    "GITHUB_BASE_REF",
    "GITHUB_EVENT_NAME",
    "GITHUB_GRAPHQL_URL",
    "GITHUB_HEAD_REF",
    "GITHUB_JOB",
    "GITHUB_REF",
    "GITHUB_REF_NAME",
    "GITHUB_REF_PROTECTED",
    "GITHUB_REF_TYPE",
    "GITHUB_REPOSITORY",
    "GITHUB_REPOSITORY_ID",
    "GITHUB_REPOSITORY_OWNER",
    "GITHUB_REPOSITORY_OWNER_ID",
    "GITHUB_RETENTION_DAYS",
    "GITHUB_RUN_ATTEMPT",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_NUMBER",
    "GITHUB_SERVER_URL",
    "GITHUB_SHA",
    "GITHUB_TRIGGERING_ACTOR",
    "GITHUB_WORKFLOW",
    "GITHUB_WORKFLOW_REF",
    "GITHUB_WORKFLOW_SHA",
    "GITHUB_WORKSPACE",
    "RUNNER_ARCH",
    "RUNNER_DEBUG",
    "RUNNER_ENVIRONMENT",
    "RUNNER_NAME",
    "RUNNER_OS",
    "RUNNER_TEMP",
    "RUNNER_TOOL_CACHE",
]);
/** A working shell for the user's command. */
const SHELL_NAMES = ["USER", "LOGNAME", "SHELL", "TERM"];
/**
 * Names no child outside PostgreSQL's tools ever gets, even when passed through: credentials
 * (cloud, runner, GitHub), Lifeboat's own inputs and keys, and the connection variables that
 * Lifeboat sets to the scratch database (a passed-through PGHOST or PGSERVICE could point a
 * migration at production). GITHUB_ENV, GITHUB_PATH, GITHUB_OUTPUT, GITHUB_STATE and
 * GITHUB_STEP_SUMMARY are the runner's file commands: a command that writes to them changes the
 * job's later steps.
 */
const DENIED = [
    /^AWS_/,
    /^ACTIONS_/,
    /^GITHUB_TOKEN$/,
    /^GH_TOKEN$/,
    /^GITHUB_(ENV|PATH|OUTPUT|STATE|STEP_SUMMARY)$/,
    /^INPUT_/,
    /^LIFEBOAT_/,
    /^DATABASE_URL$/,
    /^PG/,
];
function isDeniedName(name) {
    return DENIED.some((pattern) => pattern.test(name));
}
const child_env_NAME = /^(?:[A-Za-z_][A-Za-z0-9_]*|(?:[A-Za-z_][A-Za-z0-9_]*)?\*)$/;
/**
 * The names (or `PREFIX_*` patterns) a user passes through to the `--run` command, checked:
 * InputError (exit 2) for a malformed or secret-bearing one, naming `input`.
 */
function parsePassThrough(names, input = "run-env") {
    const out = [];
    for (const raw of names.flatMap((entry) => entry.split(/[\s,]+/)).filter(Boolean)) {
        if (!child_env_NAME.test(raw)) {
            throw new InputError(`--${input}: "${raw}" is not a variable name (letters, digits, _; a trailing * for a prefix)`, {
                input,
            });
        }
        const prefix = raw.endsWith("*") ? raw.slice(0, -1) : undefined;
        // A pattern is refused when it could match a denied name: `AWS*`, `PG*`, `*`, `GITHUB_*`.
        const denied = prefix === undefined ? isDeniedName(raw) : coversDenied(prefix);
        if (denied) {
            throw new InputError(`--${input}: "${raw}" is not passed to the command (credentials, Lifeboat's inputs and the scratch database's connection never are)`, { input });
        }
        out.push(raw);
    }
    return out;
}
/** The denied names as literals: a whole name, or a prefix (AWS_...). */
const DENIED_LITERALS = [
    { text: "AWS_", prefix: true },
    { text: "ACTIONS_", prefix: true },
    { text: "INPUT_", prefix: true },
    { text: "LIFEBOAT_", prefix: true },
    { text: "PG", prefix: true },
    ...["GITHUB_TOKEN", "GH_TOKEN", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT", "GITHUB_STATE"]
        .concat(["GITHUB_STEP_SUMMARY", "DATABASE_URL"])
        .map((text) => ({ text, prefix: false })),
];
/** Whether some name starting with `prefix` is denied (`GITHUB_*` reaches GITHUB_TOKEN). */
function coversDenied(prefix) {
    return DENIED_LITERALS.some((denied) => denied.text.startsWith(prefix) || (denied.prefix && prefix.startsWith(denied.text)));
}
/**
 * The environment of restore-test's `--run` command: a working shell, the runner's non-secret
 * context, the names passed through (never a denied one, even if asked), and the scratch database
 * as DATABASE_URL and PGHOST/PGPORT/PGDATABASE/PGUSER/PGPASSWORD/PGSSLMODE, which win over
 * anything else.
 */
function userCommandEnv(base, options) {
    const exact = new Set();
    const prefixes = [];
    for (const name of options.passThrough ?? []) {
        if (name.endsWith("*"))
            prefixes.push(name.slice(0, -1));
        else
            exact.add(name);
    }
    const env = pick(base, (name) => {
        if (isDeniedName(name))
            return false;
        return (BASICS.includes(name) ||
            SHELL_NAMES.includes(name) ||
            LOCALE.test(name) ||
            RUNNER_CONTEXT.has(name) ||
            exact.has(name) ||
            prefixes.some((prefix) => name.startsWith(prefix)));
    });
    const url = options.databaseUrl;
    env.DATABASE_URL = connectionString(url);
    env.PGHOST = url.host;
    env.PGPORT = String(url.port);
    env.PGDATABASE = url.database;
    if (url.user !== undefined)
        env.PGUSER = url.user;
    if (url.password !== undefined)
        env.PGPASSWORD = url.password;
    env.PGSSLMODE = url.sslmode;
    return env;
}
function pick(base, keep) {
    const env = {};
    for (const [name, value] of Object.entries(base)) {
        if (value !== undefined && keep(name))
            env[name] = value;
    }
    return env;
}

;// CONCATENATED MODULE: ./src/postgres/pg-dump.ts
/**
 * Runs pg_dump with its output as a stream. The stream only ends cleanly once pg_dump has exited
 * with status 0 and what it wrote starts like a custom-format archive: an exit with an error, a
 * kill, or an empty output turns into a stream error, so a cut-short dump can never be stored as
 * a complete one.
 */






const ARCHIVE_MAGIC = Buffer.from("PGDMP");
const STDERR_KEEP = 64 * 1024;
const COALESCE_BYTES = 256 * 1024;
function startPgDump(options) {
    // An allow-listed environment: the password in PGPASSWORD (never on the command line), and
    // nothing of ours (identities, tokens, other PG* variables) that pg_dump has no use for.
    const { path, env } = toolSpawn(options.pgDump, pgToolEnv(options.env, {
        password: options.url.password,
        sslmode: options.url.sslmode,
        appName: "lifeboat pg_dump",
        connectTimeoutSeconds: 15,
    }));
    // Its own process group: a terminal's Ctrl-C reaches us, not pg_dump, and stopping it stops
    // anything it started (a wrapper script's children too).
    const child = (0,external_node_child_process_.spawn)(path, [...options.args, `--dbname=${options.url.withoutPassword}`], {
        env,
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
    });
    const running = () => child.exitCode === null && child.signalCode === null;
    const terminate = () => {
        if (!running() || child.pid === undefined)
            return;
        signalGroup(child.pid, "SIGTERM");
        // A pg_dump that ignores SIGTERM must not keep the backup (and the process) waiting.
        setTimeout(() => running() && signalGroup(child.pid, "SIGKILL"), KILL_AFTER_MS).unref();
    };
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (text) => {
        stderr = (stderr + text).slice(-STDERR_KEEP);
    });
    let killedFor;
    const exited = new Promise((resolve, reject) => {
        child.on("error", (error) => reject(new domain_errors/* OperationError */.OK(`pg_dump could not start: ${error.message}`)));
        child.on("close", (code, signal) => {
            if (code === 0)
                return resolve();
            const why = killedFor ?? (signal ? `killed by ${signal}` : `exited with status ${code}`);
            reject(new domain_errors/* OperationError */.OK(`pg_dump ${why}${lastError(stderr)}`));
        });
    });
    // Observed through the output stream; this keeps an early rejection from being "unhandled".
    exited.catch(() => undefined);
    let seen = 0;
    const head = [];
    // pg_dump writes in pieces of a few KiB; gathering them into larger chunks here saves every
    // stage after it (hashing, encryption, the store) most of its per-chunk cost.
    let pending = [];
    let pendingBytes = 0;
    const output = new external_node_stream_.Transform({
        transform(chunk, _encoding, callback) {
            if (seen < ARCHIVE_MAGIC.length)
                head.push(chunk);
            seen += chunk.length;
            pending.push(chunk);
            pendingBytes += chunk.length;
            if (pendingBytes < COALESCE_BYTES)
                return callback();
            const gathered = Buffer.concat(pending, pendingBytes);
            pending = [];
            pendingBytes = 0;
            callback(null, gathered);
        },
        flush(callback) {
            exited.then(() => {
                if (pendingBytes > 0)
                    this.push(Buffer.concat(pending, pendingBytes));
                const start = Buffer.concat(head).subarray(0, ARCHIVE_MAGIC.length);
                if (seen === 0)
                    return callback(new domain_errors/* OperationError */.OK("pg_dump exited 0 but wrote nothing"));
                if (!start.equals(ARCHIVE_MAGIC)) {
                    return callback(new domain_errors/* OperationError */.OK("pg_dump's output is not a custom-format archive"));
                }
                callback();
            }, (error) => callback(error));
        },
    });
    child.stdout.on("error", (error) => output.destroy(error));
    child.stdout.pipe(output);
    // The consumer went away (store failure, abort): pg_dump must not keep running.
    output.on("close", terminate);
    return {
        output,
        kill(reason) {
            killedFor ??= `was stopped: ${reason}`;
            terminate();
        },
    };
}
const KILL_AFTER_MS = 5_000;
function signalGroup(pid, signal) {
    try {
        process.kill(-pid, signal);
    }
    catch {
        // Already gone.
    }
}
/** The last "error:" line pg_dump printed, or its last line, as ": <text>". */
function lastError(stderr) {
    const lines = redactUrls(stderr)
        .split("\n")
        .map((line) => line.trim())
        .filter(Boolean);
    const error = [...lines].reverse().find((line) => /error:|FATAL:|fatal:/.test(line)) ?? lines.at(-1);
    return error ? `: ${error}` : "";
}

;// CONCATENATED MODULE: ./src/postgres/archive/errors.ts
/**
 * What can go wrong reading a pg_dump custom-format archive stream. All are OperationErrors (exit
 * 1): the archive came from our own pg_dump run, so a bad one means the dump failed, not the input.
 */

/** The bytes are not a well-formed custom-format archive (bad magic, bad length, unknown id). */
class ArchiveFormatError extends domain_errors/* OperationError */.OK {
}
/** The stream ended before the archive did; the message names what was cut off. */
class ArchiveTruncatedError extends ArchiveFormatError {
}
/**
 * A well-formed archive this reader cannot summarise: a version it does not know, or data it
 * cannot count (compressed inside the archive: row counts need `pg_dump -Z0`).
 */
class ArchiveUnsupportedError extends ArchiveFormatError {
}

;// CONCATENATED MODULE: ./src/postgres/archive/digests.ts
/**
 * What a data block's bytes add up to: rows, bytes and a sha256 per table, and a count and digest
 * of the large objects. Fed the payload of each length-prefixed chunk as it passes.
 */

const NEWLINE = 10;
const BACKSLASH = 92;
const DOT = 46;
/**
 * pg_dump (15 and earlier at least) ends each table's COPY data with "\\.\n\n\n"; the COPY end
 * marker is not table content, so it is held back from the digest until the table's end shows
 * whether the last bytes are the marker. Five bytes is the longest form.
 */
const HOLD_BACK = 5;
/** Chunks up to this size are copied by hand rather than with Buffer.copy. */
const SHORT_COPY = 512;
/**
 * One table's data. Chunks are copied into a staging buffer and hashed and scanned a buffer at a
 * time: with -Z0 pg_dump 15 writes one chunk per row, and a hash update per ~100-byte row would cost
 * more than the hashing itself.
 */
class TableDigester {
    stage;
    format;
    hash = (0,external_node_crypto_.createHash)("sha256");
    fill = 0;
    processed = 0;
    newlines = 0;
    /** The last byte already hashed, -1 before any: tells whether the marker starts a line. */
    lastProcessedByte = -1;
    lexer;
    stageView;
    constructor(stage, format) {
        this.stage = stage;
        this.format = format;
        this.lexer = format === "inserts" ? new InsertLexer() : null;
        this.stageView = new DataView(stage.buffer, stage.byteOffset, stage.length);
    }
    /** `view` is a DataView over `source`: short copies go four bytes at a time through it. */
    write(source, view, start, end) {
        let fill = this.fill;
        if (end - start <= SHORT_COPY && end - start <= this.stage.length - fill) {
            // Buffer.copy's call overhead outweighs a short copy, and most rows are short.
            const stageView = this.stageView;
            const words = end - 3;
            while (start < words) {
                stageView.setUint32(fill, view.getUint32(start));
                start += 4;
                fill += 4;
            }
            const stage = this.stage;
            while (start < end)
                stage[fill++] = source[start++];
            this.fill = fill;
            return;
        }
        while (start < end) {
            let room = this.stage.length - this.fill;
            if (room === 0) {
                this.process(this.fill - HOLD_BACK);
                room = this.stage.length - this.fill;
            }
            const length = end - start < room ? end - start : room;
            source.copy(this.stage, this.fill, start, start + length);
            this.fill += length;
            start += length;
        }
    }
    finish() {
        const endMarker = this.format === "copy" ? this.markerLength() : 0;
        this.process(this.fill - endMarker);
        let rows;
        if (this.lexer) {
            rows = this.lexer.finish();
        }
        else {
            // COPY text ends every row with a newline (a newline inside a value is the escape "\n"); a
            // last line without one is still a row.
            rows = this.newlines + (this.processed > 0 && this.lastProcessedByte !== NEWLINE ? 1 : 0);
        }
        return {
            rows,
            bytes: this.processed,
            sha256: this.hash.digest("hex"),
            statements: this.lexer ? this.lexer.statements : null,
            endMarker: endMarker > 0,
        };
    }
    /** Hashes and scans stage[0, upTo), then moves the rest to the front. */
    process(upTo) {
        if (upTo <= 0)
            return;
        const view = this.stage.subarray(0, upTo);
        this.hash.update(view);
        if (this.lexer) {
            this.lexer.scan(view);
        }
        else {
            let count = 0;
            let at = view.indexOf(NEWLINE);
            while (at !== -1) {
                count++;
                at = view.indexOf(NEWLINE, at + 1);
            }
            this.newlines += count;
        }
        this.lastProcessedByte = view[upTo - 1];
        this.processed += upTo;
        this.stage.copyWithin(0, upTo, this.fill);
        this.fill -= upTo;
    }
    /** 5 for "\\.\n\n\n", 3 for "\\.\n", when that line starts a line; else 0. */
    markerLength() {
        const stage = this.stage;
        const fill = this.fill;
        const lineStartsAt = (index) => {
            const before = index > 0 ? stage[index - 1] : this.lastProcessedByte;
            return before === -1 || before === NEWLINE;
        };
        const endsWith = (bytes) => fill >= bytes.length && bytes.every((byte, i) => stage[fill - bytes.length + i] === byte);
        if (endsWith([BACKSLASH, DOT, NEWLINE, NEWLINE, NEWLINE]) && lineStartsAt(fill - 5))
            return 5;
        if (endsWith([BACKSLASH, DOT, NEWLINE]) && lineStartsAt(fill - 3))
            return 3;
        return 0;
    }
}
const QUOTE = 39;
const DOUBLE_QUOTE = 34;
const OPEN = 40;
const CLOSE = 41;
const SEMICOLON = 59;
var Lex;
(function (Lex) {
    Lex[Lex["Code"] = 0] = "Code";
    Lex[Lex["String"] = 1] = "String";
    Lex[Lex["EscapeString"] = 2] = "EscapeString";
    Lex[Lex["StringMaybeEnd"] = 3] = "StringMaybeEnd";
    Lex[Lex["Identifier"] = 4] = "Identifier";
    Lex[Lex["IdentifierMaybeEnd"] = 5] = "IdentifierMaybeEnd";
})(Lex || (Lex = {}));
/**
 * Counts rows in the INSERT statements of --inserts / --column-inserts / --rows-per-insert data:
 * each top-level parenthesised group of a statement is a row, except the column list that comes
 * before VALUES; a statement without any (DEFAULT VALUES, a table without columns) is one row.
 * Quotes are tracked so parentheses and semicolons inside values do not count.
 */
class InsertLexer {
    statements = 0;
    rows = 0;
    state = Lex.Code;
    depth = 0;
    groups = 0;
    firstGroupIsColumns = false;
    word = "";
    lastWord = "";
    previous = 0;
    beforePrevious = 0;
    afterBackslash = false;
    escapes = false;
    scan(bytes) {
        for (let i = 0; i < bytes.length; i++) {
            const byte = bytes[i];
            switch (this.state) {
                case Lex.String:
                    if (byte === QUOTE)
                        this.state = Lex.StringMaybeEnd;
                    break;
                case Lex.EscapeString:
                    if (this.afterBackslash)
                        this.afterBackslash = false;
                    else if (byte === BACKSLASH)
                        this.afterBackslash = true;
                    else if (byte === QUOTE)
                        this.state = Lex.StringMaybeEnd;
                    break;
                case Lex.Identifier:
                    if (byte === DOUBLE_QUOTE)
                        this.state = Lex.IdentifierMaybeEnd;
                    break;
                case Lex.StringMaybeEnd:
                    // '' inside a string is a quote, in E'' strings too.
                    if (byte === QUOTE)
                        this.state = this.escapes ? Lex.EscapeString : Lex.String;
                    else
                        this.code(byte);
                    break;
                case Lex.IdentifierMaybeEnd:
                    if (byte === DOUBLE_QUOTE)
                        this.state = Lex.Identifier;
                    else
                        this.code(byte);
                    break;
                default:
                    this.code(byte);
            }
            this.beforePrevious = this.previous;
            this.previous = byte;
        }
    }
    finish() {
        if (this.groups > 0 || this.word !== "" || this.lastWord !== "")
            this.endStatement();
        return this.rows;
    }
    code(byte) {
        this.state = Lex.Code;
        const isWordByte = (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) || byte === 95;
        if (this.depth === 0 && isWordByte) {
            if (this.word.length < 16)
                this.word += String.fromCharCode(byte & ~32);
            return;
        }
        if (this.word !== "") {
            this.lastWord = this.word;
            this.word = "";
        }
        switch (byte) {
            case QUOTE: {
                const prefixedE = (this.previous === 69 || this.previous === 101) &&
                    !((this.beforePrevious >= 65 && this.beforePrevious <= 90) ||
                        (this.beforePrevious >= 97 && this.beforePrevious <= 122) ||
                        (this.beforePrevious >= 48 && this.beforePrevious <= 57) ||
                        this.beforePrevious === 95);
                this.escapes = prefixedE;
                this.state = prefixedE ? Lex.EscapeString : Lex.String;
                this.afterBackslash = false;
                break;
            }
            case DOUBLE_QUOTE:
                this.state = Lex.Identifier;
                if (this.depth === 0)
                    this.lastWord = '"';
                break;
            case OPEN:
                if (this.depth === 0) {
                    if (this.groups === 0)
                        this.firstGroupIsColumns = this.lastWord !== "VALUES";
                    this.groups++;
                }
                this.depth++;
                break;
            case CLOSE:
                if (this.depth > 0)
                    this.depth--;
                break;
            case SEMICOLON:
                if (this.depth === 0)
                    this.endStatement();
                break;
        }
    }
    endStatement() {
        this.statements++;
        if (this.groups === 0)
            this.rows += 1;
        else
            this.rows += this.groups - (this.firstGroupIsColumns ? 1 : 0);
        this.groups = 0;
        this.firstGroupIsColumns = false;
        this.word = "";
        this.lastWord = "";
    }
}
/** The large objects of every BLOBS block (1.16 archives may have several). */
class LargeObjectDigester {
    summary = (0,external_node_crypto_.createHash)("sha256");
    count = 0;
    bytes = 0;
    current = null;
    currentOid = 0;
    currentBytes = 0;
    start(oid) {
        this.current = (0,external_node_crypto_.createHash)("sha256");
        this.currentOid = oid;
        this.currentBytes = 0;
    }
    write(source, start, end) {
        this.current.update(source.subarray(start, end));
        this.currentBytes += end - start;
    }
    end() {
        const digest = this.current.digest("hex");
        this.summary.update(`${this.currentOid} ${this.currentBytes} ${digest}\n`);
        this.count++;
        this.bytes += this.currentBytes;
        this.current = null;
    }
    get oid() {
        return this.currentOid;
    }
    finish() {
        return { count: this.count, bytes: this.bytes, sha256: this.summary.digest("hex") };
    }
}

;// CONCATENATED MODULE: ./src/postgres/archive/format.ts
/**
 * The header and table of contents of a pg_dump custom-format archive, read from the front of the
 * stream. Layout as PostgreSQL's src/bin/pg_dump/pg_backup_archiver.c writes it (WriteHead,
 * WriteToc, WriteInt, WriteStr, WriteOffset) and pg_backup_custom.c (_WriteExtraToc); the version
 * gates are the ones ReadHead and ReadToc apply. README.md in this folder has the summary.
 */

/** MAKE_ARCHIVE_VERSION in pg_backup_archiver.h. */
function archiveVersion(major, minor, revision = 0) {
    return (major * 256 + minor) * 256 + revision;
}
const K_VERS_1_3 = archiveVersion(1, 3); // copyStmt in TOC entries
const K_VERS_1_5 = archiveVersion(1, 5); // dependencies
const K_VERS_1_6 = archiveVersion(1, 6); // namespace
const K_VERS_1_7 = archiveVersion(1, 7); // offSize in the header, offsets with a flag byte
const K_VERS_1_8 = archiveVersion(1, 8); // catalog tableoid
const K_VERS_1_9 = archiveVersion(1, 9); // with-oids flag
const K_VERS_1_10 = archiveVersion(1, 10); // tablespace; server and pg_dump versions in the header
const K_VERS_1_11 = archiveVersion(1, 11); // section
const K_VERS_1_14 = archiveVersion(1, 14); // table access method
const K_VERS_1_15 = archiveVersion(1, 15); // compression algorithm byte instead of a level
const K_VERS_1_16 = archiveVersion(1, 16); // relkind; BLOB METADATA and several BLOBS entries
/** Oldest and newest versions this reader accepts: PostgreSQL 8.0's pg_dump to 17/18's. */
const OLDEST_READABLE = K_VERS_1_10;
const NEWEST_READABLE = archiveVersion(1, 16, 255);
/** Data block types (pg_backup_archiver.h); BLK_BLOB (2) was never written by a custom archive since 7.x. */
const BLK_DATA = 1;
const BLK_BLOBS = 3;
/** ArchiveFormat in pg_backup.h: archCustom. The directory format's toc.dat carries 5. */
const FORMAT_CUSTOM = 1;
const DATA_STATES = { 1: "not-set", 2: "set", 3: "none" };
const SECTIONS = { 1: "none", 2: "pre-data", 3: "data", 4: "post-data" };
const ALGORITHMS = ["none", "gzip", "lz4", "zstd"];
/** Thrown by the cursor when the bytes so far end mid-field; the caller retries with more. */
class NeedMoreBytes extends Error {
    where;
    constructor(where) {
        super(`need more bytes: ${where}`);
        this.where = where;
    }
}
/** Strings longer than this in a header or TOC are taken as corruption rather than buffered. */
const MAX_TOC_STRING = 256 * 1024 * 1024;
const MAX_TOC_ENTRIES = 50_000_000;
/** Reads the archive's integer and string encodings from one buffer, front to back. */
class ArchiveCursor {
    bytes;
    offset = 0;
    where = "the header";
    versionNumber = 0;
    intSize = 4;
    offSize = 8;
    constructor(bytes) {
        this.bytes = bytes;
    }
    byte() {
        if (this.offset >= this.bytes.length)
            throw new NeedMoreBytes(this.where);
        return this.bytes[this.offset++];
    }
    take(length) {
        if (this.offset + length > this.bytes.length)
            throw new NeedMoreBytes(this.where);
        const slice = this.bytes.subarray(this.offset, this.offset + length);
        this.offset += length;
        return slice;
    }
    /** WriteInt: a sign byte (from 1.1 on), then intSize bytes, least significant first. */
    int() {
        const sign = this.versionNumber > archiveVersion(1, 0) ? this.byte() : 0;
        let value = 0;
        let scale = 1;
        for (let i = 0; i < this.intSize; i++) {
            value += this.byte() * scale;
            scale *= 256;
        }
        if (sign > 1)
            throw new ArchiveFormatError(`pg_dump archive: bad integer sign byte ${sign} in ${this.where}`);
        return sign === 1 ? -value : value;
    }
    /** WriteStr: an int length, -1 for NULL, then the bytes (no terminator). */
    string() {
        const length = this.int();
        if (length < 0)
            return null;
        if (length > MAX_TOC_STRING) {
            throw new ArchiveFormatError(`pg_dump archive: implausible string length ${length} in ${this.where}`);
        }
        return this.take(length).toString("utf8");
    }
    /** Like string() for fields we do not keep (definitions can be large): skips the bytes. */
    skipString() {
        const length = this.int();
        if (length > MAX_TOC_STRING) {
            throw new ArchiveFormatError(`pg_dump archive: implausible string length ${length} in ${this.where}`);
        }
        if (length > 0)
            this.take(length);
    }
    /** WriteOffset: from 1.7 a flag byte then offSize bytes; before, an int (-1 unset, 0 no data). */
    dataPosition() {
        if (this.versionNumber < K_VERS_1_7) {
            const value = this.int();
            if (value < 0)
                return { state: "not-set", offset: null };
            if (value === 0)
                return { state: "none", offset: null };
            return { state: "set", offset: value };
        }
        const flag = this.byte();
        const state = DATA_STATES[flag];
        if (!state)
            throw new ArchiveFormatError(`pg_dump archive: unexpected data offset flag ${flag} in ${this.where}`);
        let offset = 0;
        let scale = 1;
        for (let i = 0; i < this.offSize; i++) {
            offset += this.byte() * scale;
            scale *= 256;
        }
        return { state, offset: state === "set" ? offset : null };
    }
}
/** ReadHead. The cursor learns the version and integer sizes it needs for everything after. */
function readHeader(cursor) {
    cursor.where = "the header";
    const magic = cursor.take(5).toString("latin1");
    if (magic !== "PGDMP") {
        throw new ArchiveFormatError("pg_dump archive: no PGDMP magic at the start: not a custom-format archive (pg_dump -Fc)");
    }
    const major = cursor.byte();
    const minor = cursor.byte();
    const revision = major > 1 || (major === 1 && minor > 0) ? cursor.byte() : 0;
    const versionNumber = archiveVersion(major, minor, revision);
    const version = `${major}.${minor}.${revision}`;
    if (versionNumber < OLDEST_READABLE) {
        throw new ArchiveUnsupportedError(`pg_dump archive version ${version} is older than this reader supports (1.10, PostgreSQL 8.0)`);
    }
    if (versionNumber > NEWEST_READABLE) {
        throw new ArchiveUnsupportedError(`pg_dump archive version ${version} is newer than this reader knows (up to 1.16, PostgreSQL 17 and 18)`);
    }
    cursor.versionNumber = versionNumber;
    const intSize = cursor.byte();
    // Our integer reader is exact up to 6 bytes and pg_dump has only ever used sizeof(int) = 4.
    if (intSize < 1 || intSize > 6) {
        throw new ArchiveUnsupportedError(`pg_dump archive: integer size ${intSize} is not supported (expected 4)`);
    }
    cursor.intSize = intSize;
    const offSize = versionNumber >= K_VERS_1_7 ? cursor.byte() : intSize;
    if (offSize < 1 || offSize > 16) {
        throw new ArchiveFormatError(`pg_dump archive: offset size ${offSize} is out of range`);
    }
    cursor.offSize = offSize;
    const format = cursor.byte();
    if (format !== FORMAT_CUSTOM) {
        throw new ArchiveUnsupportedError(`pg_dump archive format byte is ${format}, expected ${FORMAT_CUSTOM} (custom, pg_dump -Fc)`);
    }
    let compression;
    if (versionNumber >= K_VERS_1_15) {
        const code = cursor.byte();
        const algorithm = ALGORITHMS[code];
        if (!algorithm)
            throw new ArchiveUnsupportedError(`pg_dump archive: unknown compression algorithm ${code}`);
        compression = { algorithm, level: null };
    }
    else {
        // 1.10 to 1.14 store a zlib level (-1 is zlib's default); any nonzero level means gzip.
        const level = cursor.int();
        compression = { algorithm: level === 0 ? "none" : "gzip", level };
    }
    const parts = [0, 0, 0, 0, 0, 0, 0].map(() => cursor.int());
    const [sec, min, hour, mday, mon, year] = parts;
    const pad = (value) => String(value).padStart(2, "0");
    const created = `${1900 + year}-${pad(mon + 1)}-${pad(mday)} ${pad(hour)}:${pad(min)}:${pad(sec)}`;
    const database = cursor.string();
    const serverVersion = cursor.string();
    const pgDumpVersion = cursor.string();
    return {
        version,
        versionNumber,
        intSize,
        offSize,
        compression,
        created,
        database,
        serverVersion,
        pgDumpVersion,
    };
}
/** ReadToc plus the custom format's per-entry data position (_ReadExtraToc). */
function readToc(cursor) {
    const version = cursor.versionNumber;
    cursor.where = "the TOC entry count";
    const count = cursor.int();
    if (count < 0 || count > MAX_TOC_ENTRIES) {
        throw new ArchiveFormatError(`pg_dump archive: implausible TOC entry count ${count}`);
    }
    const entries = [];
    for (let index = 0; index < count; index++) {
        cursor.where = `TOC entry ${index + 1} of ${count}`;
        const dumpId = cursor.int();
        if (dumpId <= 0)
            throw new ArchiveFormatError(`pg_dump archive: dump id ${dumpId} in ${cursor.where}`);
        const hadDumper = cursor.int() !== 0;
        const tableOid = version >= K_VERS_1_8 ? Number(cursor.string() ?? "0") : 0;
        const oid = Number(cursor.string() ?? "0");
        const tag = cursor.string();
        const desc = cursor.string();
        const section = version >= K_VERS_1_11 ? SECTIONS[cursor.int()] : inferSection(desc);
        if (!section)
            throw new ArchiveFormatError(`pg_dump archive: unknown section in ${cursor.where}`);
        cursor.skipString(); // defn
        cursor.skipString(); // dropStmt
        const copyStatement = version >= K_VERS_1_3 ? cursor.string() : null;
        const namespace = version >= K_VERS_1_6 ? cursor.string() : null;
        const tablespace = version >= K_VERS_1_10 ? cursor.string() : null;
        const tableAccessMethod = version >= K_VERS_1_14 ? cursor.string() : null;
        const relkind = version >= K_VERS_1_16 ? cursor.int() : null;
        const owner = cursor.string();
        if (version >= K_VERS_1_9)
            cursor.skipString(); // "true" once meant WITH OIDS
        const dependencies = [];
        if (version >= K_VERS_1_5) {
            for (;;) {
                const dependency = cursor.string();
                if (dependency === null)
                    break;
                dependencies.push(Number(dependency));
            }
        }
        const position = cursor.dataPosition();
        entries.push({
            dumpId,
            hadDumper,
            tableOid,
            oid,
            tag,
            desc,
            section,
            namespace,
            tablespace,
            tableAccessMethod,
            relkind,
            owner,
            copyStatement: copyStatement === "" ? null : copyStatement,
            dependencies,
            dataState: position.state,
            dataOffset: position.offset,
        });
    }
    return entries;
}
/** Archives before 1.11 (PostgreSQL 8.4) carry no section; ReadToc infers it from the type. */
function inferSection(desc) {
    switch (desc) {
        case "COMMENT":
        case "ACL":
        case "ACL LANGUAGE":
            return "none";
        case "TABLE DATA":
        case "BLOBS":
        case "BLOB COMMENTS":
            return "data";
        case "CONSTRAINT":
        case "CHECK CONSTRAINT":
        case "FK CONSTRAINT":
        case "INDEX":
        case "RULE":
        case "TRIGGER":
            return "post-data";
        default:
            return "pre-data";
    }
}

;// CONCATENATED MODULE: ./src/postgres/archive/parser.ts
/**
 * A streaming reader of pg_dump's custom-format archive: write() it the bytes as they come, end()
 * returns what the archive holds (TOC, per-table rows, bytes and sha256, large objects).
 *
 * On a pipe pg_dump writes the header and the whole TOC first, then one data block per TABLE DATA
 * or BLOBS entry, and nothing after the last block (pg_backup_custom.c _CloseArchive rewrites the
 * TOC only when it can seek). A data block (_StartData / _StartLOs, _EndData / _EndLOs) is
 *   BLK_DATA  (1 byte) dumpId (int)  { length (int) bytes }*  0 (int)
 *   BLK_BLOBS (1 byte) dumpId (int)  { oid (int) { length (int) bytes }* 0 (int) }*  0 (int)
 * where with compression "none" the bytes are the dump's own (COPY text, INSERT statements, large
 * object contents); otherwise they are a compressed stream this reader does not open.
 *
 * Only the header and TOC are buffered (until they parse); after that the state is the current
 * block's, and each table's bytes are hashed as they pass.
 */



var Phase;
(function (Phase) {
    Phase[Phase["Head"] = 0] = "Head";
    Phase[Phase["Data"] = 1] = "Data";
    Phase[Phase["Skip"] = 2] = "Skip";
    Phase[Phase["Done"] = 3] = "Done";
})(Phase || (Phase = {}));
var Step;
(function (Step) {
    Step[Step["BlockType"] = 0] = "BlockType";
    Step[Step["Int"] = 1] = "Int";
    Step[Step["Body"] = 2] = "Body";
})(Step || (Step = {}));
var IntFor;
(function (IntFor) {
    IntFor[IntFor["BlockId"] = 0] = "BlockId";
    IntFor[IntFor["ChunkLength"] = 1] = "ChunkLength";
    IntFor[IntFor["LargeObjectOid"] = 2] = "LargeObjectOid";
})(IntFor || (IntFor = {}));
const FIRST_ATTEMPT_BYTES = 64 * 1024;
class ArchiveParser {
    phase = Phase.Head;
    options;
    total = 0;
    // Header and TOC, until they parse.
    pending = [];
    pendingBytes = 0;
    nextAttemptAt = FIRST_ATTEMPT_BYTES;
    header = null;
    toc = [];
    byId = new Map();
    // Data blocks.
    stage = null;
    intWidth = 5;
    step = Step.BlockType;
    intFor = IntFor.BlockId;
    intBytes = [];
    remaining = 0;
    chunkLength = 0;
    blockType = 0;
    blockStart = 0;
    entry = null;
    table = null;
    largeObjects = new LargeObjectDigester();
    largeObjectBlocks = 0;
    inLargeObject = false;
    seen = new Set();
    tables = [];
    viewBuffer = null;
    view = null;
    /** Archive offset of the first byte of the buffer being scanned. */
    base = 0;
    constructor(options = {}) {
        this.options = {
            compressed: options.compressed ?? "reject",
            stageBytes: options.stageBytes ?? 256 * 1024,
        };
    }
    write(chunk) {
        if (chunk.length === 0)
            return;
        this.total += chunk.length;
        switch (this.phase) {
            case Phase.Head:
                this.pending.push(chunk);
                this.pendingBytes += chunk.length;
                if (this.pendingBytes >= this.nextAttemptAt)
                    this.tryHead(false);
                return;
            case Phase.Data:
                this.scan(chunk, 0);
                return;
            case Phase.Skip:
                return;
            case Phase.Done:
                throw new ArchiveFormatError("pg_dump archive: bytes written after end()");
        }
    }
    end() {
        if (this.phase === Phase.Done)
            throw new ArchiveFormatError("pg_dump archive: end() called twice");
        if (this.phase === Phase.Head)
            this.tryHead(true);
        if (this.phase === Phase.Data)
            this.checkComplete();
        this.phase = Phase.Done;
        const header = this.header;
        return {
            archiveVersion: header.version,
            header,
            toc: this.toc,
            tables: this.tables,
            largeObjects: { ...this.largeObjects.finish(), blocks: this.largeObjectBlocks },
            dataScanned: this.stage !== null,
            archiveBytes: this.total,
        };
    }
    /** Parses header and TOC from what has arrived; when they are complete, moves on to the data. */
    tryHead(final) {
        const bytes = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
        this.pending = [bytes];
        const cursor = new ArchiveCursor(bytes);
        let tocStart = 0;
        try {
            const header = readHeader(cursor);
            if (header.compression.algorithm !== "none" && this.options.compressed === "reject") {
                const level = header.compression.level === null ? "" : `, level ${header.compression.level}`;
                throw new ArchiveUnsupportedError(`pg_dump archive data is compressed inside the archive (${header.compression.algorithm}${level}): ` +
                    "row counts and table digests need an uncompressed archive (pg_dump -Z0)");
            }
            tocStart = cursor.offset;
            const toc = readToc(cursor);
            this.header = header;
            this.toc = toc;
        }
        catch (error) {
            if (!(error instanceof NeedMoreBytes))
                throw error;
            if (final) {
                const what = bytes.length === 0
                    ? "before the header (empty stream)"
                    : `inside ${error.where}, after ${bytes.length} bytes` +
                        (tocStart > 0 ? ` (the TOC starts at byte ${tocStart})` : "");
                throw new ArchiveTruncatedError(`pg_dump archive truncated: the stream ended ${what}`);
            }
            // Retry when the buffered bytes have doubled: linear work overall, however large the TOC.
            this.nextAttemptAt = this.pendingBytes * 2;
            return;
        }
        for (const entry of this.toc) {
            if (this.byId.has(entry.dumpId)) {
                throw new ArchiveFormatError(`pg_dump archive: dump id ${entry.dumpId} appears twice in the TOC`);
            }
            this.byId.set(entry.dumpId, entry);
        }
        this.pending = [];
        if (this.header.compression.algorithm !== "none") {
            this.phase = Phase.Skip;
            return;
        }
        this.phase = Phase.Data;
        this.stage = Buffer.allocUnsafe(this.options.stageBytes);
        this.intWidth = 1 + this.header.intSize;
        // The data may start inside the buffer the TOC ended in; offsets count from the archive start.
        this.base = 0;
        this.scan(bytes, cursor.offset);
    }
    /** The data-block state machine over one buffer, from `from`. */
    scan(buffer, from) {
        const length = buffer.length;
        const intWidth = this.intWidth;
        let i = from;
        while (i < length) {
            switch (this.step) {
                case Step.Body: {
                    const available = length - i;
                    const take = this.remaining < available ? this.remaining : available;
                    if (this.blockType === BLK_DATA)
                        this.table.write(buffer, this.viewOf(buffer), i, i + take);
                    else
                        this.largeObjects.write(buffer, i, i + take);
                    i += take;
                    this.remaining -= take;
                    if (this.remaining === 0) {
                        this.step = Step.Int;
                        this.intFor = IntFor.ChunkLength;
                    }
                    break;
                }
                case Step.Int: {
                    if (this.intFor === IntFor.ChunkLength &&
                        this.blockType === BLK_DATA &&
                        this.intBytes.length === 0 &&
                        length - i >= intWidth) {
                        i = this.scanChunks(buffer, i);
                        break;
                    }
                    let value;
                    if (this.intBytes.length === 0 && length - i >= intWidth) {
                        value = this.decodeInt(buffer, i, i + this.header.intSize + 1);
                        i += intWidth;
                    }
                    else {
                        this.intBytes.push(buffer[i++]);
                        if (this.intBytes.length < intWidth)
                            break;
                        value = this.decodeInt(Buffer.from(this.intBytes), 0, intWidth);
                        this.intBytes = [];
                    }
                    this.onInt(value);
                    break;
                }
                default: {
                    this.blockStart = this.base + i;
                    const type = buffer[i++];
                    if (type !== BLK_DATA && type !== BLK_BLOBS) {
                        throw new ArchiveFormatError(`pg_dump archive: unknown data block type ${type} at byte ${this.blockStart}: the archive is corrupt`);
                    }
                    this.blockType = type;
                    this.step = Step.Int;
                    this.intFor = IntFor.BlockId;
                }
            }
        }
        this.base += length;
    }
    /**
     * The hot path: a table's chunks back to back in one buffer (pg_dump 15 -Z0 writes one chunk per
     * row). Returns where it stopped: the table's end, a chunk running past the buffer, or fewer
     * bytes left than an int takes (the general path collects those).
     */
    scanChunks(buffer, i) {
        const length = buffer.length;
        const intWidth = this.intWidth;
        const table = this.table;
        const view = this.viewOf(buffer);
        while (length - i >= intWidth) {
            if (buffer[i] !== 0)
                this.decodeInt(buffer, i, i + intWidth); // throws: a length is never negative
            let value;
            if (intWidth === 5) {
                value = view.getUint32(i + 1, true);
            }
            else {
                value = 0;
                let scale = 1;
                for (let k = i + 1; k < i + intWidth; k++) {
                    value += buffer[k] * scale;
                    scale *= 256;
                }
            }
            i += intWidth;
            if (value === 0) {
                this.finishTable();
                this.step = Step.BlockType;
                return i;
            }
            if (length - i >= value) {
                table.write(buffer, view, i, i + value);
                i += value;
            }
            else {
                table.write(buffer, view, i, length);
                this.chunkLength = value;
                this.remaining = value - (length - i);
                this.step = Step.Body;
                return length;
            }
        }
        return i;
    }
    viewOf(buffer) {
        if (this.viewBuffer !== buffer) {
            this.viewBuffer = buffer;
            this.view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length);
        }
        return this.view;
    }
    /** ReadInt. Every int in a data block (ids, lengths, oids) is non-negative: sign byte 0. */
    decodeInt(buffer, start, end) {
        const sign = buffer[start];
        if (sign !== 0) {
            throw new ArchiveFormatError(`pg_dump archive: bad ${this.intName()} (sign byte ${sign}) ${this.locate()}: the archive is corrupt`);
        }
        let value = 0;
        let scale = 1;
        for (let i = start + 1; i < end; i++) {
            value += buffer[i] * scale;
            scale *= 256;
        }
        return value;
    }
    onInt(value) {
        switch (this.intFor) {
            case IntFor.BlockId: {
                const entry = this.byId.get(value);
                const kind = this.blockType === BLK_DATA ? "data" : "large-object";
                if (!entry) {
                    throw new ArchiveFormatError(`pg_dump archive: ${kind} block at byte ${this.blockStart} is for dump id ${value}, which the TOC does not list`);
                }
                if (this.seen.has(value)) {
                    throw new ArchiveFormatError(`pg_dump archive: a second data block for ${describe(entry)}`);
                }
                if (entry.dataState === "none") {
                    throw new ArchiveFormatError(`pg_dump archive: data block for ${describe(entry)}, which the TOC says has no data`);
                }
                this.seen.add(value);
                this.entry = entry;
                if (this.blockType === BLK_DATA) {
                    this.table = new TableDigester(this.stage, entry.copyStatement ? "copy" : "inserts");
                    this.intFor = IntFor.ChunkLength;
                }
                else {
                    this.largeObjectBlocks++;
                    this.intFor = IntFor.LargeObjectOid;
                }
                return;
            }
            case IntFor.ChunkLength:
                if (value > 0) {
                    this.chunkLength = value;
                    this.remaining = value;
                    this.step = Step.Body;
                    return;
                }
                if (this.blockType === BLK_DATA) {
                    this.finishTable();
                    this.step = Step.BlockType;
                }
                else {
                    this.largeObjects.end();
                    this.inLargeObject = false;
                    this.intFor = IntFor.LargeObjectOid;
                }
                return;
            case IntFor.LargeObjectOid:
                if (value === 0) {
                    this.entry = null;
                    this.step = Step.BlockType;
                    return;
                }
                this.largeObjects.start(value);
                this.inLargeObject = true;
                this.intFor = IntFor.ChunkLength;
                return;
        }
    }
    finishTable() {
        const entry = this.entry;
        const digest = this.table.finish();
        this.tables.push({
            dumpId: entry.dumpId,
            schema: entry.namespace,
            table: entry.tag,
            format: this.table.format,
            copyStatement: entry.copyStatement,
            ...digest,
        });
        this.table = null;
        this.entry = null;
    }
    /** At the end of the stream: between blocks, and no entry that has data left without its block. */
    checkComplete() {
        if (this.step !== Step.BlockType) {
            throw new ArchiveTruncatedError(`pg_dump archive truncated: the stream ended ${this.locate()}`);
        }
        const missing = this.toc.filter((entry) => entry.dataState !== "none" && !this.seen.has(entry.dumpId));
        if (missing.length > 0) {
            throw new ArchiveTruncatedError(`pg_dump archive truncated: the stream ended before the data of ${missing.length} TOC ` +
                `${missing.length === 1 ? "entry" : "entries"} (first: ${describe(missing[0])})`);
        }
    }
    intName() {
        switch (this.intFor) {
            case IntFor.BlockId:
                return "block dump id";
            case IntFor.ChunkLength:
                return "chunk length";
            case IntFor.LargeObjectOid:
                return "large object oid";
        }
    }
    /** Where the reader is, for messages: which entry, which part of its block. */
    locate() {
        if (this.step === Step.Int && this.intFor === IntFor.BlockId) {
            return `in the header of the data block at byte ${this.blockStart}`;
        }
        const entry = this.entry ? describe(this.entry) : "an unknown entry";
        if (this.step === Step.Body) {
            const read = this.chunkLength - this.remaining;
            const object = this.inLargeObject ? ` (large object ${this.largeObjects.oid})` : "";
            return `inside the data of ${entry}${object}, ${read} of a ${this.chunkLength}-byte chunk read`;
        }
        if (this.intFor === IntFor.LargeObjectOid)
            return `inside the large-object block of ${entry}, at a large object oid`;
        const object = this.inLargeObject ? ` (large object ${this.largeObjects.oid})` : "";
        return `inside the data of ${entry}${object}, at a chunk length`;
    }
}
function describe(entry) {
    const name = entry.namespace ? `${entry.namespace}.${entry.tag}` : (entry.tag ?? "");
    return `${entry.desc ?? "entry"} ${name} (dump id ${entry.dumpId})`.replace(/\s+/g, " ");
}

;// CONCATENATED MODULE: ./src/postgres/archive/tap.ts
/**
 * The archive tap: a Transform to put between pg_dump's stdout and the compressor. Bytes pass
 * through unchanged (the same Buffer objects); the parser reads them on the way and `summary`
 * settles when the stream ends: the archive's TOC, per-table rows and digests, large objects.
 *
 * A malformed or truncated archive fails the stream as well as `summary`: a dump whose contents
 * cannot be accounted for is not one to store as good.
 */



function createArchiveTap(options = {}) {
    const parser = new ArchiveParser(options);
    let resolve;
    let reject;
    let settled = false;
    const summary = new Promise((ok, fail) => {
        resolve = ok;
        reject = fail;
    });
    // Callers that only watch the stream's own error must not get an unhandled rejection too.
    summary.catch(() => undefined);
    const fail = (error) => {
        if (!settled)
            reject(error);
        settled = true;
    };
    const stream = new external_node_stream_.Transform({
        transform(chunk, _encoding, callback) {
            try {
                parser.write(chunk);
            }
            catch (error) {
                fail(error);
                callback(error);
                return;
            }
            callback(null, chunk);
        },
        flush(callback) {
            try {
                const result = parser.end();
                settled = true;
                resolve(result);
                callback();
            }
            catch (error) {
                fail(error);
                callback(error);
            }
        },
    });
    stream.on("close", () => fail(new ArchiveTruncatedError("pg_dump archive: the stream was closed before the archive ended")));
    return { stream, summary };
}

;// CONCATENATED MODULE: ./src/postgres/archive/index.ts
/** Reading pg_dump custom-format archives as they stream: see parser.ts and tap.ts. */




;// CONCATENATED MODULE: ./src/postgres/extensions.ts
async function listExtensions(client) {
    const { rows } = await client.query(`SELECT e.extname AS name, n.nspname AS schema
       FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      ORDER BY e.extname COLLATE "C"`);
    return rows;
}

;// CONCATENATED MODULE: ./src/domain/roles-sql.ts
/**
 * The roles object's SQL, pure: `pg_dumpall --roles-only --no-role-passwords` output with the
 * reserved roles' statements left out, and the same statements classified again when they are
 * applied. Works statement by statement (not line by line), so a comment spanning lines or a
 * quoted name stays whole.
 */


const roles_sql_NAME = String.raw `(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
function unquote(name) {
    return name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name.toLowerCase();
}
function quoteRole(name) {
    return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}
/** Drops the comment lines and psql meta-commands (\restrict, \unrestrict) before a statement. */
function stripLeading(statement) {
    const lines = statement.split("\n");
    while (lines.length > 0 && /^\s*($|--|\\)/.test(lines[0]))
        lines.shift();
    return lines.join("\n").trim();
}
function classifyRoleStatement(sql) {
    let match = new RegExp(`^(CREATE|ALTER|COMMENT ON) ROLE (${roles_sql_NAME})`, "i").exec(sql);
    if (match) {
        const verb = match[1].toUpperCase();
        const kind = verb === "CREATE" ? "create" : verb === "ALTER" ? "alter" : "comment";
        return { kind, role: unquote(match[2]), sql };
    }
    match = new RegExp(`^GRANT (${roles_sql_NAME}) TO (${roles_sql_NAME})(.*?)(?: GRANTED BY (${roles_sql_NAME}))?$`, "is").exec(sql);
    if (match) {
        return {
            kind: "grant",
            role: unquote(match[1]),
            member: unquote(match[2]),
            grantor: match[4] === undefined ? undefined : unquote(match[4]),
            sql,
        };
    }
    if (/^(SET|RESET) /i.test(sql))
        return { kind: "session", sql };
    return { kind: "other", sql };
}
/** The statements of a roles SQL text, comments and psql meta-commands left out. */
function roleStatements(text) {
    const split = splitSqlStatements(text);
    if (split.problem)
        throw new domain_errors/* OperationError */.OK(`the roles SQL does not parse: ${split.problem}`);
    return split.statements
        .map(stripLeading)
        .filter((sql) => sql !== "")
        .map(classifyRoleStatement);
}
/**
 * Attributes that are CREATE ROLE's defaults but that only a superuser may state: dropping them
 * changes nothing for a role the script has just created, and lets a non-superuser (a Supabase
 * project's postgres, the supabase/postgres image) apply the script.
 */
const SUPERUSER_DEFAULTS = /\s+(NOSUPERUSER|NOREPLICATION|NOBYPASSRLS)\b/gi;
function rewriteAlter(sql) {
    const withAttributes = new RegExp(`^(ALTER ROLE ${roles_sql_NAME} WITH)(.*)$`, "is").exec(sql);
    if (!withAttributes)
        return sql;
    const quote = withAttributes[2].indexOf("'");
    const head = quote < 0 ? withAttributes[2] : withAttributes[2].slice(0, quote);
    const tail = quote < 0 ? "" : withAttributes[2].slice(quote);
    // Never a password, whatever produced the text.
    const cleaned = `${head.replace(SUPERUSER_DEFAULTS, "")}${tail}`.replace(/\s+PASSWORD\s+('(?:[^']|'')*'|NULL)/gi, "");
    return cleaned.trim() === "" ? "" : `${withAttributes[1]}${cleaned}`;
}
/**
 * Keeps the statements of the roles that are not reserved: CREATE / ALTER / COMMENT ON ROLE of a
 * reserved role go, a GRANT goes when the granted role or the member is reserved, and a GRANTED BY
 * naming a reserved role is dropped (the grant is then made by whoever applies the script).
 */
function filterRolesSql(text, isReserved, header) {
    const kept = [];
    const roles = [];
    const left = new Set();
    for (const statement of roleStatements(text)) {
        switch (statement.kind) {
            case "create":
            case "alter":
            case "comment": {
                if (isReserved(statement.role)) {
                    left.add(statement.role);
                    continue;
                }
                if (statement.kind === "create")
                    roles.push(statement.role);
                const sql = statement.kind === "alter" ? rewriteAlter(statement.sql) : statement.sql;
                if (sql !== "")
                    kept.push(sql);
                break;
            }
            case "grant": {
                if (isReserved(statement.role) || isReserved(statement.member))
                    continue;
                const sql = statement.grantor !== undefined && isReserved(statement.grantor)
                    ? statement.sql.replace(/\s+GRANTED BY\s+\S+$/i, "")
                    : statement.sql;
                kept.push(sql);
                break;
            }
            default:
                kept.push(statement.sql);
        }
    }
    const body = kept.map((sql) => `${sql};`).join("\n");
    const comment = header
        .split("\n")
        .map((line) => `-- ${line}`.trimEnd())
        .join("\n");
    return { sql: `${comment}\n\n${body}\n`, roles, left: [...left].sort() };
}

;// CONCATENATED MODULE: ./src/postgres/roles.ts
/**
 * Roles are cluster-wide, so pg_dump leaves them out: `pg_dumpall --roles-only
 * --no-role-passwords` reads them (from pg_roles, which a non-superuser such as a Supabase
 * project's postgres may read), the reserved ones are filtered out (src/domain/roles-sql.ts), and
 * a restore applies the rest before pg_restore.
 */







const MAX_OUTPUT = 64 * 1024 * 1024;
/** Runs pg_dumpall from `binDir` (the chosen pg_dump's) and returns the filtered roles SQL. */
async function dumpRoles(options) {
    const { path, env } = toolSpawn({ path: (0,external_node_path_.join)(options.pgDump.binDir, "pg_dumpall"), env: options.pgDump.env }, pgToolEnv(options.env, {
        password: options.url.password,
        sslmode: options.url.sslmode,
        appName: "lifeboat pg_dumpall",
        connectTimeoutSeconds: 15,
    }));
    const args = [
        "--roles-only",
        "--no-role-passwords",
        "--no-password",
        `--dbname=${options.url.withoutPassword}`,
    ];
    const stdout = await new Promise((resolve, reject) => {
        (0,external_node_child_process_.execFile)(path, args, { env, maxBuffer: MAX_OUTPUT, encoding: "utf8", timeout: 300_000 }, (error, out, err) => {
            if (!error)
                return resolve(out);
            const line = redactUrls(err)
                .split("\n")
                .map((text) => text.trim())
                .filter(Boolean)
                .find((text) => /error:|FATAL:/.test(text)) ?? (0,domain_errors/* describeError */.Uc)(error);
            reject(new domain_errors/* OperationError */.OK(`pg_dumpall --roles-only failed: ${line}`));
        });
    });
    if (!/CREATE ROLE|Roles/.test(stdout)) {
        throw new domain_errors/* OperationError */.OK("pg_dumpall --roles-only wrote no roles section");
    }
    return filterRolesSql(stdout, options.isReserved, options.header);
}
/**
 * Applies a roles script statement by statement and idempotently: a role the server already has is
 * neither created nor altered, and no grant changes it; only roles created here get their
 * attributes, settings, comments and memberships. Nothing is ever dropped afterwards: roles are
 * cluster-wide, and other databases may use them.
 */
async function applyRoles(client, sql) {
    const { rows } = await client.query("SELECT rolname FROM pg_catalog.pg_roles");
    const before = new Set(rows.map((row) => row.rolname));
    const created = new Set();
    const existing = new Set();
    const errors = [];
    const run = async (text) => {
        try {
            await client.query(text);
            return true;
        }
        catch (error) {
            // Created meanwhile by someone else: the role is there, which is what was asked.
            if (error.code === "42710")
                return false;
            errors.push(`${(0,domain_errors/* describeError */.Uc)(error)} (${roles_oneLine(text)})`);
            return false;
        }
    };
    for (const statement of roleStatements(sql)) {
        switch (statement.kind) {
            case "create":
                if (before.has(statement.role))
                    existing.add(statement.role);
                else if (await run(statement.sql))
                    created.add(statement.role);
                break;
            case "alter":
            case "comment":
                if (created.has(statement.role))
                    await run(statement.sql);
                break;
            case "grant":
                if (created.has(statement.member))
                    await run(statement.sql);
                break;
            case "session":
                // Session settings of the script (client_encoding, ...) would only change this connection.
                break;
            default:
                await run(statement.sql);
        }
    }
    return { created: [...created], existing: [...existing], errors };
}
function roles_oneLine(text) {
    const line = text.replace(/\s+/g, " ").trim();
    return line.length > 100 ? `${line.slice(0, 97)}...` : line;
}

;// CONCATENATED MODULE: ./src/streams/hash-tap.ts

/** Size and sha256 of the bytes seen, with the size readable while they flow. */
class DigestObserver {
    hash = (0,external_node_crypto_.createHash)("sha256");
    bytes = 0;
    update(chunk) {
        this.hash.update(chunk);
        this.bytes += chunk.length;
    }
    finish() {
        return { bytes: this.bytes, sha256: this.hash.digest("hex") };
    }
}

;// CONCATENATED MODULE: ./src/streams/tap.ts

/**
 * Passes bytes through unchanged and shows each chunk to an observer (a digest, a byte count, an
 * archive parser counting rows). An observer that throws fails the stream.
 */
class Tap extends external_node_stream_.Transform {
    observer;
    outcome;
    constructor(observer) {
        super();
        this.observer = observer;
    }
    _transform(chunk, _encoding, callback) {
        try {
            this.observer.update(chunk);
        }
        catch (error) {
            callback(error);
            return;
        }
        callback(null, chunk);
    }
    _flush(callback) {
        try {
            this.outcome = { value: this.observer.finish() };
        }
        catch (error) {
            callback(error);
            return;
        }
        callback();
    }
    /** True once the whole stream has passed and the observer finished. */
    get finished() {
        return this.outcome !== undefined;
    }
    /** The observer's result; throws when read before the stream ended. */
    get result() {
        if (!this.outcome)
            throw new Error("tap: result read before the stream ended");
        return this.outcome.value;
    }
}

;// CONCATENATED MODULE: ./src/pipeline/stage.ts


/** A pass-through stage that shows every chunk to `observer` and yields its `finish()`. */
function tapStage(name, observer) {
    const tap = new Tap(observer);
    return { name, kind: "tap", stream: tap, result: () => tap.result };
}
/** Size and sha256 of the bytes at this point of the pipeline; `bytes` is live (for progress). */
function digestStage(name) {
    const observer = new DigestObserver();
    const stage = tapStage(name, observer);
    return {
        ...stage,
        get bytesSoFar() {
            return observer.bytes;
        },
    };
}
/** A stage that changes the bytes (encryption, compression); its result is undefined. */
function transformStage(name, stream) {
    return { name, kind: "transform", stream, result: () => undefined };
}

;// CONCATENATED MODULE: ./src/pipeline/artifact-stages.ts
/**
 * The stages an artifact's bytes go through, in one place for every writer and reader:
 *
 *   write: plaintext digest -> compress -> encrypt -> stored digest -> store
 *   read:  store -> stored digest -> decrypt -> decompress -> plaintext digest -> consumer
 *
 * Compression is Lifeboat's own (src/compress), keyed by the artifact's `compression` ("zstd:1",
 * "gzip:6", "none"): no stage for "none". Taps that observe the plaintext (an archive parser counting rows per table) are passed in as
 * `plaintextTaps` and sit right after the plaintext digest.
 */



/** Stage names whose results every artifact pipeline has. */
const PLAINTEXT = "plaintext";
const STORED = "stored";
/** The compression method names this code can write and read. */
const COMPRESSION_METHODS = (/* unused pure expression or super */ null && (["zstd", "gzip", "none"]));
/** `compression` is the manifest's text ("zstd:1"); a bad one is the user's input (--compression). */
function compressStages(compression) {
    const spec = parseCompression(compression);
    if (spec.method === "none")
        return [];
    return [transformStage("compress", createCompressor(spec))];
}
/** The level does not matter to reading: any zstd or gzip stream decompresses alike. */
function decompressStages(compression) {
    const method = compression.split(":", 1)[0] ?? "";
    if (method === "none")
        return [];
    if (method === "zstd" || method === "gzip") {
        return [transformStage("decompress", createDecompressor(method))];
    }
    throw new Error(`artifact compression "${compression}" is not one this Lifeboat reads (made by a newer one?)`);
}
/** Recipients to encrypt to, or an empty list for an unencrypted backup (the explicit opt-out). */
function writeStages(options) {
    return [
        digestStage(PLAINTEXT),
        ...(options.plaintextTaps ?? []),
        ...compressStages(options.compression),
        ...(options.recipients.length > 0
            ? [transformStage("encrypt", createEncryptStream(options.recipients))]
            : []),
        digestStage(STORED),
    ];
}
/**
 * `identities` undefined reads the stored bytes only (a shallow check); otherwise the pipeline ends
 * in the plaintext (decrypted with them, or as stored when the artifact is not encrypted).
 */
function readStages(artifact, identities, options = {}) {
    const stored = digestStage(STORED);
    if (identities === undefined)
        return [stored];
    return [
        stored,
        ...(artifact.encryption === "age-v1" ? [transformStage("decrypt", createDecryptStream(identities))] : []),
        ...decompressStages(artifact.compression),
        digestStage(PLAINTEXT),
        ...(options.plaintextTaps ?? []),
    ];
}

;// CONCATENATED MODULE: ./src/pipeline/pipeline.ts
/**
 * One place where byte pipelines are put together: a source, a list of stages, and a sink (a
 * Writable, or a consumer such as a store's put that takes the last stage's output as a Readable).
 * Built on stream/promises pipeline(), which keeps backpressure (FIELD-NOTES: Web-stream adapters
 * buffer without limit) and destroys every stream when one fails.
 */


/** The named results of a pipeline's stages, read after it ran. */
class StageResults {
    stages;
    constructor(stages) {
        this.stages = stages;
    }
    /** The result of the stage called `name`; throws for a name no stage has. */
    get(name) {
        const stage = this.stages.find((candidate) => candidate.name === name);
        if (!stage)
            throw new Error(`pipeline: no stage named ${name}`);
        return stage.result();
    }
    /** Whether a stage of that name exists (optional stages: decryption, compression). */
    has(name) {
        return this.stages.some((stage) => stage.name === name);
    }
}
function compose(stages) {
    const names = new Set();
    for (const stage of stages) {
        if (names.has(stage.name))
            throw new Error(`pipeline: two stages named ${stage.name}`);
        names.add(stage.name);
    }
    const streams = stages.length > 0 ? stages.map((stage) => stage.stream) : [new external_node_stream_.PassThrough()];
    return { streams, output: streams.at(-1), results: new StageResults(stages) };
}
/** source -> stages -> sink. Resolves with the stages' results once the sink finished. */
async function runPipeline(source, stages, sink, options = {}) {
    const composed = compose(stages);
    await pipeline([source, ...composed.streams, sink], options.signal ? { signal: options.signal } : {});
    return composed.results;
}
/**
 * source -> stages -> `consume(output)`, where the consumer reads the last stage's output (a
 * store's put). The first failure on either side stops the other: a failing consumer destroys the
 * chain, a failing chain errors the output the consumer reads.
 */
async function runIntoConsumer(source, stages, consume) {
    const composed = compose(stages);
    const chain = (0,promises_.pipeline)([source, ...composed.streams]);
    const consuming = consume(composed.output).catch((error) => {
        const reason = error instanceof Error ? error : new Error(String(error));
        source.destroy(reason);
        for (const stream of composed.streams)
            stream.destroy(reason);
        throw error;
    });
    const [piped, consumed] = await Promise.allSettled([chain, consuming]);
    if (consumed.status === "rejected")
        throw consumed.reason;
    if (piped.status === "rejected")
        throw piped.reason;
    return { value: consumed.value, results: composed.results };
}

;// CONCATENATED MODULE: ./src/repository/read-artifact.ts
/**
 * Reading an artifact back, checked against the manifest: the stored bytes' size and sha256
 * always, and with identities (an empty list for an unencrypted backup) the plaintext's too. Every
 * command that reads an artifact goes through here, so none can skip the check.
 */





/** The differences between what a read found and what the manifest says, one sentence each. */
function digestProblems(artifact, stored, plaintext) {
    if (stored.bytes !== artifact.stored.bytes) {
        return [`read ${stored.bytes} bytes of ${artifact.name}; the manifest says ${artifact.stored.bytes}`];
    }
    if (stored.sha256 !== artifact.stored.sha256) {
        return [
            `the sha256 of ${artifact.name} is ${stored.sha256}; the manifest says ${artifact.stored.sha256}`,
        ];
    }
    if (plaintext &&
        (plaintext.bytes !== artifact.plaintext.bytes || plaintext.sha256 !== artifact.plaintext.sha256)) {
        return [
            `the plaintext of ${artifact.name} (${plaintext.bytes} bytes, sha256 ${plaintext.sha256}) differs from the manifest's (${artifact.plaintext.bytes} bytes, sha256 ${artifact.plaintext.sha256})`,
        ];
    }
    return [];
}
/** The digests a finished read pipeline measured (plaintext only when it decrypted). */
function readDigests(results) {
    return {
        stored: results.get(STORED),
        plaintext: results.has(PLAINTEXT) ? results.get(PLAINTEXT) : undefined,
    };
}
/**
 * The read pipeline of an artifact, ready to run: the store's stream and the stages, for callers
 * that hand the streams to a consumer of their own (pg_restore's stdin). After the run, `check()`
 * compares what passed with the manifest.
 */
async function openArtifactRead(repository, manifest, artifact, identities, options = {}) {
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
 * a read that fails (a missing object, a decryption error) is a problem in the result.
 */
async function readArtifact(repository, manifest, artifact, identities, options = {}) {
    let opened;
    try {
        opened = await openArtifactRead(repository, manifest, artifact, identities, options);
        await (0,promises_.pipeline)([...opened.streams, options.sink ?? discard()]);
    }
    catch (error) {
        return {
            artifact,
            stored: undefined,
            plaintext: undefined,
            problems: [`reading ${artifact.name} failed: ${(0,domain_errors/* describeError */.Uc)(error)}`],
        };
    }
    const { stored, plaintext } = readDigests(opened.results);
    return { artifact, stored, plaintext, problems: digestProblems(artifact, stored, plaintext) };
}
function discard() {
    return new external_node_stream_.Writable({ write: (_chunk, _encoding, callback) => callback() });
}

;// CONCATENATED MODULE: ./src/commands/roles-object.ts
/**
 * The roles object beside a dump (`roles.sql.age`, or `roles.sql` unencrypted): written by backup
 * before the manifest, checked by verify, decrypted and applied by restore-test. It is small (a
 * few KiB), so its SQL is held in memory once read.
 */







/** Encrypts the roles SQL to `recipients` (none: unencrypted) and writes it as the backup's artifact `name`. */
async function putRolesObject(options) {
    const body = Buffer.from(options.sql, "utf8");
    const { results } = await runIntoConsumer(external_node_stream_.Readable.from([body]), writeStages({ recipients: options.recipients, compression: "none" }), (output) => options.writer.putArtifact(options.name, output, {
        // age adds a header of a few hundred bytes per recipient and 16 bytes per 64 KiB.
        sizeHint: body.length + 1024 * (options.recipients.length + 1),
        ...(options.signal ? { signal: options.signal } : {}),
    }));
    return {
        name: options.name,
        kind: "roles",
        stored: results.get(STORED),
        plaintext: results.get(PLAINTEXT),
        compression: "none",
        encryption: options.recipients.length > 0 ? "age-v1" : "none",
        count: options.count,
    };
}
/**
 * Reads the roles object and checks it against the manifest: the stored bytes' size and sha256,
 * and with `identities` (an empty list for an unencrypted backup) the plaintext's too.
 */
async function readRolesObject(repository, manifest, identities) {
    const roles = rolesArtifact(manifest);
    if (!roles)
        return { problems: [], sql: undefined };
    const chunks = [];
    const sink = new external_node_stream_.Writable({
        write(chunk, _encoding, callback) {
            chunks.push(chunk);
            callback();
        },
    });
    const read = await readArtifact(repository, manifest, roles, identities, { sink });
    if (read.problems.length > 0 || identities === undefined)
        return { problems: read.problems, sql: undefined };
    return { problems: [], sql: Buffer.concat(chunks).toString("utf8") };
}
/** Reads, checks and applies the backup's roles object to a server (restore-test's scratch server). */
async function applyRolesObject(client, repository, manifest, identities) {
    const read = await readRolesObject(repository, manifest, identities);
    if (read.sql === undefined) {
        throw new domain_errors/* OperationError */.OK(read.problems[0] ?? `${rolesArtifact(manifest)?.name ?? "the roles object"} could not be read`);
    }
    return applyRoles(client, read.sql);
}

;// CONCATENATED MODULE: ./src/repository/check-record.ts

const CHECK_RECORD_SCHEMA_VERSION = 2;
/** Parses a record's text; undefined when it is not a check record (damaged, foreign). */
function parseCheckRecord(text) {
    try {
        const value = JSON.parse(text);
        if (typeof value !== "object" || value === null || typeof value.passed !== "boolean")
            return undefined;
        if (typeof value.kind !== "string" || typeof value.backupId !== "string")
            return undefined;
        return value;
    }
    catch {
        return undefined;
    }
}
/**
 * Whether the record checked the bytes the manifest describes: every artifact it names has the
 * manifest's size and sha256, and it names the dump. A schema-1 record names no artifacts; a
 * verify record of schema 1 carries the dump's digest in its details, which then decides. Any other
 * schema-1 record (restore-test) cannot say what it read, so it does not count.
 */
function recordMatches(record, manifest) {
    if (record.backupId !== manifest.backupId)
        return false;
    const dump = dumpArtifact(manifest);
    if (record.artifacts) {
        if (!record.artifacts.some((checked) => checked.name === dump.name))
            return false;
        return record.artifacts.every((checked) => {
            const artifact = manifest.artifacts.find((candidate) => candidate.name === checked.name);
            return artifact?.stored.bytes === checked.bytes && artifact.stored.sha256 === checked.sha256;
        });
    }
    const details = record.details ?? {};
    return details.storedBytes === dump.stored.bytes && details.storedSha256 === dump.stored.sha256;
}

;// CONCATENATED MODULE: ./src/repository/backup-repository.ts
/**
 * A backup repository: the label folders of one store, read and written the way the storage
 * format says (docs/format.md). Commands use this, never the Store's methods: listing, resolving
 * `latest`, reading manifests and check records, the commit-last write of a new backup, check
 * records, deletes and leftovers all live here. The pure key layout is src/domain/layout.ts.
 *
 * Several destinations (issue 15) are a list of repositories: the backup side talks to a
 * `BackupTarget` (check, then begin a `BackupWriter`), which one repository implements and a
 * fan-out over several can implement the same way; readers (verify, prune, list) act on one
 * repository each.
 */







/** Keys per deleteMany call: S3's DeleteObjects limit. */
const DELETE_BATCH_KEYS = 1000;
/** How old a killed writer's leftovers must be before a backup or prune removes them: older than any backup still running. */
const LEFTOVER_SAFE_AGE_MS = 24 * 3_600_000;
/** Manifests and check records read at once when a whole label is inspected. */
const READS_IN_PARALLEL = 8;
class BackupRepository {
    store;
    constructor(store) {
        this.store = store;
    }
    /** The store's location without credentials. */
    get url() {
        return this.store.url;
    }
    /** Whether the store can hold object locks (S3). */
    get canLock() {
        return this.store.objectLocks !== undefined;
    }
    check(access) {
        return this.store.check(access);
    }
    /** Every folder under the label, newest first, from one listing of `<label>/`. */
    async folders(label) {
        const objects = [];
        for await (const object of this.store.list(`${label}/`))
            objects.push(object);
        return groupBackupFolders(label, objects);
    }
    /** Folders under the label without a manifest: backups in flight, or failed ones. */
    async incompleteFolders(label) {
        return (await this.folders(label)).filter((folder) => !folder.committed);
    }
    /**
     * Deletes one backup folder: the manifest first (from then on it is no backup), then the rest.
     * When the manifest cannot be deleted, nothing else is touched and the backup stays whole.
     */
    async deleteBackup(label, folder) {
        const manifest = manifestKey(label, folder.backupId);
        const keys = folder.objects.map((object) => object.key);
        const first = folder.committed ? await this.deleteKeys(label, [manifest]) : { deleted: [], failed: [] };
        if (first.failed.length > 0)
            return first;
        const rest = await this.deleteKeys(label, keys.filter((key) => key !== manifest));
        return { deleted: [...first.deleted, ...rest.deleted], failed: rest.failed };
    }
    async readText(key) {
        const chunks = [];
        for await (const chunk of await this.store.get(key))
            chunks.push(Buffer.from(chunk));
        return Buffer.concat(chunks).toString("utf8");
    }
    /** The manifest of a backup; a damaged one is an OperationError (a failed backup, not bad input). */
    async readManifest(label, backupId) {
        const key = manifestKey(label, backupId);
        let text;
        try {
            text = await this.readText(key);
        }
        catch (error) {
            if (error instanceof domain_errors/* NotFoundError */.m_)
                throw error;
            throw new domain_errors/* OperationError */.OK(`reading ${this.url}/${key} failed: ${(0,domain_errors/* describeError */.Uc)(error)}`, {
                cause: error,
            });
        }
        try {
            const manifest = parseManifest(text, `${this.url}/${key}`);
            if (manifest.backupId !== backupId || manifest.label !== label) {
                throw new domain_errors/* OperationError */.OK(`${this.url}/${key} names backup ${manifest.label}/${manifest.backupId}, not ${label}/${backupId}: the manifest does not belong to its folder`);
            }
            return manifest;
        }
        catch (error) {
            if (error instanceof domain_errors/* InputError */.dz)
                throw new domain_errors/* OperationError */.OK(error.message, { cause: error });
            throw error;
        }
    }
    /** A check record, or undefined when it cannot be read or parsed. */
    async readCheckRecord(ref) {
        const text = await this.readText(ref.key).catch(() => undefined);
        return text === undefined ? undefined : parseCheckRecord(text);
    }
    /** A folder's manifest (when committed) and what is wrong with it, without reading check records. */
    async inspectFolder(label, folder) {
        if (!folder.committed)
            return { folder, manifest: undefined, problems: [] };
        try {
            const manifest = await this.readManifest(label, folder.backupId);
            return { folder, manifest, problems: folderProblems(folder, manifest) };
        }
        catch (error) {
            return { folder, manifest: undefined, problems: [`manifest.json: ${(0,domain_errors/* describeError */.Uc)(error)}`] };
        }
    }
    /**
     * Every folder under the label with its manifest and integrity, newest first; with
     * `checkRecords`, also which of its check records checked the bytes its manifest describes (only
     * the latest record of each kind and outcome is read: those are all that decide).
     */
    async inspect(label, options) {
        const folders = await this.folders(label);
        return mapBounded(folders, READS_IN_PARALLEL, async (folder) => {
            const inspected = await this.inspectFolder(label, folder);
            const { manifest } = inspected;
            if (!options.checkRecords || !manifest || inspected.problems.length > 0) {
                return { ...inspected, matchingChecks: [] };
            }
            const deciding = latestOfEachKind(folder.checks);
            const matching = [];
            for (const ref of deciding) {
                const record = await this.readCheckRecord(ref);
                // A failure counts whatever it read: a failed check withdraws trust either way.
                if (!ref.passed || (record && recordMatches(record, manifest)))
                    matching.push(ref);
            }
            return { ...inspected, matchingChecks: matching };
        });
    }
    /**
     * The backup `selector` names under the label: `latest` (the newest intact committed one: a
     * broken newer one is passed over and named in `skipped`), a backup id, or `before:<time>` (the
     * newest intact one started at or before it). With `includeBroken` (verify, whose job is to find
     * the damage), `latest` is the newest committed one, intact or not. An unknown id, a folder
     * without a manifest or an empty label is bad input (exit 2).
     */
    async resolve(label, selector, options = {}) {
        const folders = await this.folders(label);
        const committed = folders.filter((folder) => folder.committed);
        const skipped = [];
        const newestIntact = async (candidates) => {
            for (const folder of candidates) {
                const inspected = await this.inspectFolder(label, folder);
                if (inspected.manifest && inspected.problems.length === 0)
                    return { folder, manifest: inspected.manifest };
                skipped.push({ backupId: folder.backupId, problems: inspected.problems });
            }
            return undefined;
        };
        if (selector === "latest" && options.includeBroken && committed[0])
            selector = committed[0].backupId;
        if (selector === "latest") {
            const found = await newestIntact(committed);
            if (!found) {
                const broken = skipped.length > 0 ? ` (${skipped.length} broken: ${describeSkipped(skipped)})` : "";
                throw new domain_errors/* InputError */.dz(`--label "${label}": no backups under ${this.url}/${label}/${broken}`, {
                    input: "label",
                });
            }
            return { ...found, committed, skipped, problems: [] };
        }
        if (selector.startsWith("before:")) {
            const time = parseBeforeTime(selector.slice("before:".length));
            const found = await newestIntact(committed.filter((folder) => folder.startedAt.getTime() <= time.getTime()));
            if (!found) {
                throw new domain_errors/* InputError */.dz(`--backup "${selector}": no backup under ${this.url}/${label}/ started at or before ${time.toISOString()}`, { input: "backup" });
            }
            return { ...found, committed, skipped, problems: [] };
        }
        if (!isBackupId(selector)) {
            throw new domain_errors/* InputError */.dz(`--backup "${selector}": expected latest or a backup id such as 20261122T010500Z-abc123`, {
                input: "backup",
            });
        }
        const folder = folders.find((candidate) => candidate.backupId === selector);
        if (!folder) {
            throw new domain_errors/* InputError */.dz(`--backup "${selector}": no such backup under ${this.url}/${label}/`, {
                input: "backup",
            });
        }
        if (!folder.committed) {
            throw new domain_errors/* InputError */.dz(`--backup "${selector}": the folder has no manifest, so it is not a backup (in flight, or failed)`, { input: "backup" });
        }
        const manifest = await this.readManifest(label, folder.backupId);
        return { folder, manifest, committed, skipped, problems: folderProblems(folder, manifest) };
    }
    artifactKey(manifest, artifact) {
        return artifactKey(manifest.label, manifest.backupId, artifact.name);
    }
    /** The stored bytes of an artifact, as they come from the store (check them: src/pipeline). */
    openArtifact(manifest, artifact) {
        return this.store.get(this.artifactKey(manifest, artifact));
    }
    async writeCheckRecord(record, at) {
        const full = {
            schemaVersion: CHECK_RECORD_SCHEMA_VERSION,
            kind: record.kind,
            label: record.label,
            backupId: record.backupId,
            passed: record.passed,
            at: at.toISOString(),
            tool: { name: "lifeboat", version: LIFEBOAT_VERSION },
            ...(record.artifacts ? { artifacts: record.artifacts } : {}),
            failures: record.failures,
            warnings: record.warnings,
            details: record.details,
        };
        const key = checkKey(record.label, record.backupId, at, record.kind, record.passed);
        await this.store.put(key, external_node_stream_.Readable.from([Buffer.from(JSON.stringify(full, null, 2) + "\n")]), {
            contentType: "application/json",
        });
        return key;
    }
    beginBackup(label, backupId, options = {}) {
        return new FolderWriter(this.store, label, backupId, options.retention);
    }
    /** The object locks on these keys; an empty map for stores that cannot lock. */
    async objectLocks(keys) {
        return this.store.objectLocks ? this.store.objectLocks(keys) : new Map();
    }
    /**
     * Deletes keys in batches of DELETE_BATCH_KEYS; a batch that throws counts as failed for each of
     * its keys. Every key must lie inside `<label>/`: nothing outside a label's prefix is ever deleted.
     */
    async deleteKeys(label, keys, onBatch) {
        for (const key of keys) {
            if (!key.startsWith(`${label}/`)) {
                throw new domain_errors/* OperationError */.OK(`refusing to delete "${key}": it is not inside ${label}/`);
            }
        }
        const result = { deleted: [], failed: [] };
        for (let start = 0; start < keys.length; start += DELETE_BATCH_KEYS) {
            const batch = keys.slice(start, start + DELETE_BATCH_KEYS);
            try {
                const outcome = await this.store.deleteMany(batch);
                result.deleted.push(...outcome.deleted);
                result.failed.push(...outcome.failed);
            }
            catch (error) {
                const reason = (0,domain_errors/* describeError */.Uc)(error);
                for (const key of batch)
                    result.failed.push({ key, reason });
            }
            onBatch?.(batch.length);
        }
        return result;
    }
    /**
     * Removes what killed writers left under the label (a local store's `.partial-*` files) once
     * last written before `olderThan`. Best effort: a failure here never fails the caller.
     */
    async sweepLeftovers(label, olderThan) {
        if (!this.store.sweepLeftovers)
            return [];
        return this.store.sweepLeftovers(`${label}/`, olderThan).catch(() => []);
    }
}
/** Writes one backup folder: artifacts as they come, the manifest last. */
class FolderWriter {
    store;
    label;
    backupId;
    retention;
    written = [];
    constructor(store, label, backupId, retention) {
        this.store = store;
        this.label = label;
        this.backupId = backupId;
        this.retention = retention;
    }
    get url() {
        return this.store.url;
    }
    async putArtifact(name, body, options = {}) {
        const key = artifactKey(this.label, this.backupId, name);
        this.written.push(key);
        const { bytes } = await this.store.put(key, body, {
            contentType: "application/octet-stream",
            ...(options.sizeHint !== undefined ? { sizeHint: options.sizeHint } : {}),
            ...(options.signal ? { signal: options.signal } : {}),
            ...(this.retention ? { retention: this.retention } : {}),
        });
        return { bytes, key };
    }
    async commit(manifest, options = {}) {
        if (manifest.label !== this.label || manifest.backupId !== this.backupId) {
            throw new domain_errors/* OperationError */.OK(`manifest of ${manifest.label}/${manifest.backupId} given to ${this.label}/${this.backupId}`);
        }
        const key = manifestKey(this.label, this.backupId);
        await this.store.put(key, external_node_stream_.Readable.from([Buffer.from(serializeManifest(manifest))]), {
            contentType: "application/json",
            ...(options.signal ? { signal: options.signal } : {}),
            ...(this.retention ? { retention: this.retention } : {}),
        });
        return key;
    }
    async abort() {
        if (this.written.length === 0)
            return;
        await this.store.deleteMany([...this.written]).catch(() => undefined);
    }
}
/** The latest pass and the latest failure of each kind: all that decides whether a backup is verified. */
function latestOfEachKind(checks) {
    const latest = new Map();
    for (const check of checks) {
        const key = `${check.kind}/${check.passed}`;
        const seen = latest.get(key);
        if (!seen || check.time >= seen.time)
            latest.set(key, check);
    }
    return [...latest.values()].sort((a, b) => a.time.getTime() - b.time.getTime());
}
function describeSkipped(skipped) {
    return skipped.map((entry) => `${entry.backupId}: ${entry.problems.join(", ")}`).join("; ");
}
function parseBeforeTime(text) {
    const asId = parseBackupIdTime(`${text}-aaaaaa`);
    const time = asId ?? (/^\d{4}-\d{2}-\d{2}/.test(text) ? new Date(text) : new Date(Number.NaN));
    if (Number.isNaN(time.getTime())) {
        throw new domain_errors/* InputError */.dz(`--backup "before:${text}": expected an ISO 8601 time such as before:2026-11-22T01:00:00Z`, {
            input: "backup",
        });
    }
    return time;
}
/** Runs `work` over `items` with at most `limit` promises in flight; results in input order. */
async function mapBounded(items, limit, work) {
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

;// CONCATENATED MODULE: ./src/commands/backup/run.ts
/**
 * backup: preflight, dump, compress, encrypt, stream into the store, count rows and hash each table
 * from the archive as it passes, and commit by writing the manifest last. Anything that fails before the manifest is written leaves
 * no object behind and no manifest: the next run starts clean.
 */

























/** The recipients the backup's artifacts are encrypted to (none: the explicit opt-out), and how the manifest says so. */
function encryptionFor(settings) {
    const { encryption } = settings;
    if (encryption.kind === "none")
        return { recipients: [], info: { format: "none" } };
    if (encryption.kind === "passphrase") {
        return {
            recipients: [passphraseRecipient(encryption.passphrase)],
            info: { format: "age-v1", recipients: [], passphrase: true },
        };
    }
    // The same key given twice would only add an identical stanza: keep each once.
    const unique = new Map(encryption.recipients
        .map((text) => parseRecipient(text))
        .map((recipient) => [recipient.toString(), recipient]));
    return {
        recipients: [...unique.values()],
        info: { format: "age-v1", recipients: [...unique.keys()], passphrase: false },
    };
}
async function runBackup(settings, deps) {
    const { log } = deps;
    const target = deps.target ?? new BackupRepository(deps.store);
    const started = deps.now();
    const startedMs = performance.now();
    // Recipients are checked before anything connects or writes.
    const encryption = encryptionFor(settings);
    await preflight(settings.databaseUrl, "database-url", { log });
    const client = await connect(settings.databaseUrl);
    let clientOpen = true;
    const closeClient = async () => {
        if (!clientOpen)
            return;
        clientOpen = false;
        await client.end().catch(() => undefined);
    };
    try {
        const server = await readServerInfo(client);
        const pgDump = await findPgDumpFor(server, settings, { env: deps.env, cache: deps.toolCache, log });
        const compression = dump_plan_parseCompression(settings.compression);
        // The store is checked once the database side is known to work, so a typo in the URL
        // leaves not even an empty directory behind.
        await target.check("write");
        // A local backup killed outright leaves a temporary file; the next backup takes it away.
        await target.sweepLeftovers(settings.label, new Date(started.getTime() - LEFTOVER_SAFE_AGE_MS));
        log.info(`PostgreSQL ${server.version} at ${settings.databaseUrl.host}:${settings.databaseUrl.port}/${server.database}; pg_dump ${pgDump.version} (${pgDump.path}); compression ${formatCompression(compression)}`);
        const backupId = newBackupId(started);
        const retention = settings.objectLock && {
            mode: settings.objectLock.mode,
            until: new Date(started.getTime() + settings.objectLock.days * 86_400_000),
        };
        const encrypted = encryption.info.format !== "none";
        const dumpName = encrypted ? ENCRYPTED_DUMP_FILE : PLAIN_DUMP_FILE;
        // Read before the dump starts: a failure here leaves nothing behind to take back.
        const preset = settings.preset ?? "none";
        const presetArgs = preset === "supabase" ? supabaseExtensionArgs(await listExtensions(client)) : [];
        const roles = settings.includeRoles
            ? await dumpRoles({
                pgDump,
                url: settings.databaseUrl,
                env: deps.env,
                isReserved: (role) => isReservedRole(role, preset),
                header: rolesHeader(server.database, preset),
            })
            : undefined;
        const snapshot = await exportSnapshot(client);
        let catalog;
        try {
            catalog = await fingerprintInSnapshot(client, settings, preset, presetArgs.length > 0);
        }
        catch (error) {
            await snapshot.release().catch(() => undefined);
            throw error;
        }
        const args = buildPgDumpArgs({
            scope: settings.scope,
            snapshot: snapshot.id,
            extraArgs: [...settings.extraArgs, ...presetArgs],
        });
        const writer = target.beginBackup(settings.label, backupId, { retention });
        log.info(`Backing up into ${writer.url}/${settings.label}/${backupId}/${dumpName}`);
        const { archive, plain, stored, key: objectKey, } = await streamDump({
            dump: startPgDump({ pgDump, args, url: settings.databaseUrl, env: deps.env }),
            recipients: encryption.recipients,
            compression: formatCompression(compression),
            writer,
            name: dumpName,
            sizeHint: dumpSizeCeiling(server.databaseBytes),
            signal: deps.signal,
        }).finally(async () => {
            await snapshot.release().catch(() => undefined);
            await closeClient();
        });
        // The roles object goes in before the manifest, like the dump; a failure takes both back.
        let rolesInfo;
        if (roles) {
            const name = encrypted ? ENCRYPTED_ROLES_FILE : PLAIN_ROLES_FILE;
            try {
                rolesInfo = await putRolesObject({
                    writer,
                    name,
                    sql: roles.sql,
                    count: roles.roles.length,
                    recipients: encryption.recipients,
                    signal: deps.signal,
                });
            }
            catch (error) {
                await writer.abort();
                throw asOperationError(error);
            }
            log.info(`Roles: ${roles.roles.length} in ${name}${roles.left.length > 0 ? `; reserved, left out: ${roles.left.join(", ")}` : ""}`);
        }
        const { tables, largeObjects } = contentsOf(archive);
        const dumpArtifact = {
            name: dumpName,
            kind: "dump",
            stored,
            plaintext: plain,
            compression: formatCompression(compression),
            encryption: encrypted ? "age-v1" : "none",
        };
        const finished = deps.now();
        const durationSeconds = round((performance.now() - startedMs) / 1000);
        const manifest = {
            schemaVersion: MANIFEST_SCHEMA_VERSION,
            backupId,
            label: settings.label,
            startedAt: started.toISOString(),
            finishedAt: finished.toISOString(),
            durationSeconds,
            source: {
                serverVersion: server.version,
                serverVersionNum: server.versionNum,
                database: server.database,
                host: settings.databaseUrl.host,
                port: settings.databaseUrl.port,
                user: server.user,
            },
            tool: { name: "lifeboat", version: LIFEBOAT_VERSION, pgDumpVersion: pgDump.version, pgDumpArgs: args },
            dump: { format: "custom", compression: "none", scope: settings.scope },
            encryption: encryption.info,
            preset,
            artifacts: [dumpArtifact, ...(rolesInfo ? [rolesInfo] : [])],
            tables,
            totalRows: tables.reduce((sum, table) => sum + table.rows, 0),
            largeObjects,
            objectLock: retention ? { mode: retention.mode, retainUntil: retention.until.toISOString() } : null,
            provenance: provenanceFromEnv(deps.env),
            ...(catalog ? { catalog } : {}),
        };
        let key;
        try {
            key = await writer.commit(manifest, { signal: deps.signal });
        }
        catch (error) {
            await writer.abort();
            throw asOperationError(error);
        }
        log.info(`Backup ${backupId} committed: ${stored.bytes} bytes stored, ${tables.length} tables, ${manifest.totalRows} rows, ${durationSeconds}s`);
        return {
            backupId,
            label: settings.label,
            backupKey: objectKey,
            manifestKey: key,
            storedBytes: stored.bytes,
            sha256: stored.sha256,
            durationSeconds,
            manifest,
        };
    }
    finally {
        await closeClient();
    }
}
/**
 * The catalog fingerprint, read in the snapshot `client` exported and before pg_dump starts. Its
 * sequence values are read on a second, idle connection: read in the snapshot's transaction, each
 * sequence's lock would last until the dump ends, and a database of many sequences would run out
 * of lock slots. None for a data-only dump, which holds no catalog objects.
 */
async function fingerprintInSnapshot(client, settings, preset, extensionFilters) {
    const { scope } = settings;
    if (scope.dataOnly)
        return undefined;
    // pg_dump's --extension turns off everything outside schemas, as -n and -t do.
    const fingerprintScope = fingerprintScopeFor(scope, preset, extensionFilters ? false : undefined);
    const sequenceReader = scope.schemaOnly ? undefined : await connect(settings.databaseUrl);
    try {
        return await takeCatalogFingerprint(client, fingerprintScope, sequenceReader ? { sequenceReader } : {});
    }
    catch (error) {
        if (error instanceof domain_errors/* LifeboatError */.H3)
            throw error;
        throw new domain_errors/* OperationError */.OK(`reading the catalog in the dump's snapshot failed: ${(0,domain_errors/* describeError */.Uc)(error)}`, {
            cause: error,
        });
    }
    finally {
        await sequenceReader?.end().catch(() => undefined);
    }
}
/**
 * pg_dump -> the artifact write stages (plaintext digest, archive tap, compression, encryption,
 * stored digest) -> the writer. The archive tap reads the uncompressed archive as it passes: rows
 * and a sha256 per table, large objects. The first failure anywhere (pg_dump, a malformed archive,
 * the store, an interrupt) stops everything else: pg_dump is killed, the upload aborted, and an
 * object that was completed anyway is deleted again.
 */
async function streamDump(options) {
    const { dump, writer, signal } = options;
    const archive = createArchiveTap();
    const archiveStage = {
        name: "archive",
        kind: "tap",
        stream: archive.stream,
        result: () => undefined,
    };
    const chain = compose(writeStages({
        recipients: options.recipients,
        compression: options.compression,
        plaintextTaps: [archiveStage],
    }));
    const controller = new AbortController();
    let firstError;
    const stop = (error) => {
        if (firstError !== undefined)
            return;
        firstError = error;
        controller.abort(error);
        dump.kill((0,domain_errors/* describeError */.Uc)(error));
        chain.output.destroy(error instanceof Error ? error : new Error(String(error)));
    };
    const onInterrupt = () => stop(new domain_errors/* OperationError */.OK(`interrupted: ${(0,domain_errors/* describeError */.Uc)(signal?.reason)}`));
    if (signal?.aborted)
        onInterrupt();
    signal?.addEventListener("abort", onInterrupt, { once: true });
    const watch = (promise) => promise.catch((error) => {
        stop(error);
        throw error;
    });
    // The archive's summary once the stream went through whole: a malformed archive fails the tap's
    // stream itself, and a stream stopped for another reason (pg_dump died) must report that reason,
    // not the archive it cut short.
    const [piped, put] = await Promise.allSettled([
        watch((0,promises_.pipeline)([dump.output, ...chain.streams]).then(() => archive.summary)),
        watch(writer.putArtifact(options.name, chain.output, {
            signal: controller.signal,
            sizeHint: options.sizeHint,
        })),
    ]);
    signal?.removeEventListener("abort", onInterrupt);
    const takeBack = () => writer.abort();
    if (piped.status === "rejected" || put.status === "rejected") {
        // The put is all or nothing; if it completed before something else failed, take it back.
        if (put.status === "fulfilled")
            await takeBack();
        // Every rejection went through stop(), so firstError came first; but a store that fails hands
        // its raw error to the stream too, and its own put error says more (which object, which store).
        const explained = [firstError, put, piped]
            .map((result) => (isRejected(result) ? result.reason : result))
            .find((error) => error instanceof domain_errors/* LifeboatError */.H3);
        throw asOperationError(explained ?? firstError);
    }
    if (firstError !== undefined) {
        // Interrupted after every part had finished: nothing is committed.
        await takeBack();
        throw asOperationError(firstError);
    }
    const plain = chain.results.get(PLAINTEXT);
    const stored = chain.results.get(STORED);
    if (put.value.bytes !== stored.bytes) {
        await takeBack();
        throw new domain_errors/* OperationError */.OK(`the store took ${put.value.bytes} bytes of the ${stored.bytes} sent`);
    }
    return { archive: piped.value, plain, stored, key: put.value.key };
}
/**
 * The manifest's `tables` and `largeObjects` from what the archive held: one entry per TABLE DATA
 * block (partitions each their own; tables without data under the scope have none), sorted by
 * schema then table in byte order.
 */
function contentsOf(archive) {
    const tables = archive.tables
        .map((table) => ({
        schema: table.schema ?? "",
        table: table.table ?? "",
        rows: table.rows,
        sha256: table.sha256,
    }))
        .sort((a, b) => Buffer.compare(Buffer.from(a.schema), Buffer.from(b.schema)) ||
        Buffer.compare(Buffer.from(a.table), Buffer.from(b.table)));
    const { count, bytes, sha256 } = archive.largeObjects;
    return { tables, largeObjects: { count, bytes, sha256 } };
}
function isRejected(value) {
    return (typeof value === "object" && value !== null && value.status === "rejected");
}
function asOperationError(error) {
    if (error instanceof domain_errors/* LifeboatError */.H3)
        return error;
    return new domain_errors/* OperationError */.OK((0,domain_errors/* describeError */.Uc)(error), { cause: error });
}
/**
 * An upper estimate of the dump's size, for sizing multipart uploads. An uncompressed dump can be
 * larger than the database on disk (bytea is written as hex text), rarely more than twice.
 */
function dumpSizeCeiling(databaseBytes) {
    return 2 * databaseBytes + 1024 ** 3;
}
/** The comment at the top of the roles object: what it is and how to apply it. */
function rolesHeader(database, preset) {
    return [
        `Roles of the cluster holding "${database}": pg_dumpall --roles-only --no-role-passwords,`,
        preset === "supabase"
            ? "without the Supabase platform's reserved roles and pg_* roles (docs/supabase.md)."
            : "without pg_* roles.",
        'Apply before pg_restore: psql -f roles.sql (existing roles report "already exists").',
    ].join("\n");
}
function round(seconds) {
    return Math.round(seconds * 1000) / 1000;
}

;// CONCATENATED MODULE: ./src/commands/backup/definition.ts
/** backup (the backup-db action): dump, compress, encrypt and store a database, manifest last. */




const backupCommand = {
    spec: commandSpec("backup"),
    parse: parseBackupSettings,
    storage: (settings) => settings,
    run: (settings, deps) => runBackup(settings, deps),
    outputs: (result) => ({
        "backup-id": result.backupId,
        "backup-key": result.backupKey,
        "manifest-key": result.manifestKey,
        "stored-bytes": result.storedBytes,
        sha256: result.sha256,
        "duration-seconds": result.durationSeconds,
    }),
    text: (result) => result.backupId,
    json: (result, { storageUrl }) => ({
        backupId: result.backupId,
        label: result.label,
        storage: storageUrl,
        backupKey: result.backupKey,
        manifestKey: result.manifestKey,
        storedBytes: result.storedBytes,
        sha256: result.sha256,
        durationSeconds: result.durationSeconds,
        tables: result.manifest.tables.length,
        totalRows: result.manifest.totalRows,
    }),
    report: (result, context) => buildBackupReport(result, { ...context, label: result.label }),
};

;// CONCATENATED MODULE: ./src/commands/doctor/definition.ts
/**
 * doctor: every check between this machine and a backup of the database, each with a one-line
 * result, so a failing URL is diagnosed in one run rather than one error at a time.
 */





function parseDoctorSettings(raw) {
    return {
        ...read_option_readOptions(raw, { databaseUrl: OPTIONS.databaseUrl, preset: OPTIONS.preset }),
        ...parsePgClientSettings(raw),
    };
}
const MARKS = { ok: "ok", warn: "WARN", fail: "FAIL", skip: "-" };
function formatDoctorReport(report) {
    const table = formatTable(["CHECK", "RESULT", "DETAIL"], report.checks.map((check) => [check.name, MARKS[check.status] ?? check.status, check.detail]));
    const warnings = report.checks.filter((check) => check.status === "warn").length;
    const verdict = report.ok
        ? `ready for a backup${warnings ? ` (${warnings} warning${warnings > 1 ? "s" : ""})` : ""}`
        : "not ready for a backup";
    return `${table}\n${verdict}`;
}
const doctorCommand = {
    spec: commandSpec("doctor"),
    parse: parseDoctorSettings,
    run: (settings, deps) => runDoctor(settings, deps),
    failure: (report) => report.failure,
    text: formatDoctorReport,
    json: (report, { settings }) => ({
        exitCode: report.exitCode,
        database: settings.databaseUrl.redacted,
        sslmode: settings.databaseUrl.sslmode,
        checks: report.checks,
        ...(report.server ? { server: report.server } : {}),
        ...(report.pgDump ? { pgDump: report.pgDump } : {}),
    }),
};

;// CONCATENATED MODULE: ./src/commands/keygen/definition.ts
/** keygen: an age key pair; the identity (secret) to a new 0600 file, the recipient to stdout. */





const keygenCommand = {
    spec: commandSpec("keygen"),
    parse: (raw) => read_option_readOptions(raw, { output: OPTIONS.output }),
    run: ({ output }, { log, now }) => {
        if ((0,external_node_fs_.existsSync)(output)) {
            throw new domain_errors/* InputError */.dz(`--output "${output}": the file exists; refusing to overwrite a key`, {
                input: "output",
            });
        }
        const { identity, recipient } = generateIdentity();
        try {
            (0,external_node_fs_.writeFileSync)(output, `# created: ${now().toISOString()}\n# public key: ${recipient}\n${identity}\n`, {
                mode: 0o600,
                flag: "wx",
            });
        }
        catch (error) {
            // A missing or read-only directory is the path the user gave, not a fault of ours.
            const code = error.code ?? "error";
            throw new domain_errors/* InputError */.dz(`--output "${output}": cannot create the file (${code}); expected a new file in an existing, writable directory`, { input: "output", cause: error });
        }
        log.info(`Identity written to ${output} (keep it secret); the public key (recipient) is:`);
        return Promise.resolve({ identityFile: output, recipient });
    },
    text: (result) => result.recipient,
    json: (result) => ({ ...result }),
};

;// CONCATENATED MODULE: ./src/commands/list/run.ts


/**
 * The committed backups under the label, newest first: one listing of the label's prefix, and each
 * manifest, so that a broken backup is shown as one. Needs read access only.
 */
async function listBackups(settings, deps) {
    const repository = new BackupRepository(deps.store);
    await repository.check("read");
    const now = deps.now().getTime();
    const inspected = await repository.inspect(settings.label, { checkRecords: false });
    return inspected
        .filter(({ folder }) => folder.committed)
        .map(({ folder, problems }) => {
        const dump = folder.objects.find((object) => object.key.endsWith(`/${ENCRYPTED_DUMP_FILE}`) || object.key.endsWith(`/${PLAIN_DUMP_FILE}`));
        const last = folder.checks.at(-1);
        return {
            backupId: folder.backupId,
            startedAt: folder.startedAt.toISOString(),
            ageSeconds: Math.max(0, Math.round((now - folder.startedAt.getTime()) / 1000)),
            storedBytes: dump?.size ?? 0,
            lastCheck: last ? { kind: last.kind, passed: last.passed, at: last.time.toISOString() } : null,
            problems,
        };
    });
}

;// CONCATENATED MODULE: ./src/commands/list/definition.ts
/** list: the committed backups under a label, newest first, with size, age and last check. */




const listCommand = {
    spec: commandSpec("list"),
    parse: parseStorageSettings,
    storage: (settings) => settings,
    run: (settings, deps) => listBackups(settings, deps),
    text: (backups, { storageUrl, settings }) => backups.length
        ? formatTable(["BACKUP ID", "STARTED (UTC)", "SIZE", "AGE", "LAST CHECK"], backups.map((backup) => [
            backup.backupId,
            backup.startedAt.replace("T", " ").replace(/\.\d{3}Z$/, ""),
            formatBytes(backup.storedBytes),
            formatAge(backup.ageSeconds),
            backup.lastCheck ? `${backup.lastCheck.kind} ${backup.lastCheck.passed ? "pass" : "FAIL"}` : "-",
        ]))
        : `no backups under ${storageUrl}/${settings.label}/`,
    json: (backups, { storageUrl, settings }) => ({ storage: storageUrl, label: settings.label, backups }),
};

;// CONCATENATED MODULE: ./src/commands/prune/run.ts
/**
 * prune: list the label once, read each backup's manifest (a backup whose artifacts are missing or
 * of another size is broken: kept, reported, never the newest or verified) and the check records
 * that decide whether it is verified (each counts only if it checked the bytes the manifest
 * describes), ask the store for object locks on what would go, decide with the pure retention
 * policy (src/domain/retention.ts), print, and delete.
 *
 * Deletion runs in two passes so that a partial failure never leaves a backup that looks whole but
 * is not: first the manifests of the backups to remove (each one then stops being a backup), then
 * the rest of the folders whose manifest is gone. Each pass sends at most 1000 keys per
 * deleteMany (one S3 DeleteObjects). Keys that could not be deleted are reported, never hidden.
 */





function lockState(locks) {
    if (locks.length === 0)
        return undefined;
    const state = {};
    if (locks.some((lock) => lock.legalHold))
        state.legalHold = true;
    for (const lock of locks) {
        if (lock.retainUntil && (!state.until || lock.retainUntil > state.until)) {
            state.until = lock.retainUntil;
            if (lock.mode)
                state.mode = lock.mode;
        }
    }
    return state;
}
function stateOf(inspected, lock) {
    const { folder } = inspected;
    const newestObject = folder.objects.reduce((latest, object) => (!latest || object.lastModified > latest ? object.lastModified : latest), undefined);
    const state = {
        id: folder.backupId,
        time: folder.startedAt,
        bytes: folder.bytes,
        committed: folder.committed,
        verified: inspected.problems.length === 0 && isVerified(inspected.matchingChecks),
    };
    if (inspected.problems.length > 0)
        state.broken = inspected.problems;
    if (newestObject)
        state.lastModified = newestObject;
    if (lock)
        state.lock = lock;
    return state;
}
/**
 * Plans with the object locks of every folder the policy would remove. A lock turns a removal into
 * a keep, which may in turn free a min-verified keep for removal: so ask again for the folders that
 * newly became removals, until none is left unasked (each round asks about new folders only).
 */
async function planWithLocks(inspected, settings, repository, now) {
    const locks = new Map();
    const byId = new Map(inspected.map((entry) => [entry.folder.backupId, entry.folder]));
    for (;;) {
        const states = inspected.map((entry) => stateOf(entry, locks.get(entry.folder.backupId)));
        const plan = planRetention(states, settings.policy, now);
        if (!repository.canLock)
            return plan;
        const unasked = plan.decisions.filter((decision) => !decision.keep && !locks.has(decision.backup.id));
        if (unasked.length === 0)
            return plan;
        const keys = unasked.flatMap((decision) => byId.get(decision.backup.id).objects.map((object) => object.key));
        const found = await repository.objectLocks(keys);
        for (const decision of unasked) {
            const folder = byId.get(decision.backup.id);
            const folderLocks = folder.objects.flatMap((object) => {
                const lock = found.get(object.key);
                return lock ? [lock] : [];
            });
            locks.set(folder.backupId, lockState(folderLocks));
        }
    }
}
async function runPrune(settings, deps) {
    const { log } = deps;
    const repository = new BackupRepository(deps.store);
    const { label } = settings;
    await repository.check(settings.dryRun ? "read" : "write");
    const root = `${label}/`;
    const now = deps.now();
    if (!settings.dryRun) {
        // A local backup killed outright leaves a temporary file that no listing shows: sweep it.
        const swept = await repository.sweepLeftovers(label, new Date(now.getTime() - settings.policy.safeAgeMs));
        if (swept.length > 0)
            log.info(`removed ${swept.length} temporary file(s) left by killed backups`);
    }
    const inspected = await repository.inspect(label, { checkRecords: true });
    const folders = inspected.map((entry) => entry.folder);
    const plan = await planWithLocks(inspected, settings, repository, now);
    for (const warning of plan.warnings)
        log.warn(warning);
    const byId = new Map(folders.map((folder) => [folder.backupId, folder]));
    const problemsOf = new Map(inspected.map((entry) => [entry.folder.backupId, entry.problems]));
    const decisions = plan.decisions.map((decision) => {
        const folder = byId.get(decision.backup.id);
        return {
            backupId: folder.backupId,
            startedAt: folder.startedAt.toISOString(),
            committed: folder.committed,
            verified: decision.backup.verified,
            problems: problemsOf.get(folder.backupId) ?? [],
            bytes: folder.bytes,
            objects: folder.objects.length,
            action: decision.keep ? "keep" : "delete",
            rules: decision.reasons.map((reason) => reason.rule),
            reasons: decision.reasons.map((reason) => reason.text),
        };
    });
    const kept = decisions.filter((decision) => decision.action === "keep");
    const doomed = decisions.filter((decision) => decision.action === "delete");
    const result = {
        storage: repository.url,
        label,
        dryRun: settings.dryRun,
        kept: kept.filter((decision) => decision.committed).length,
        keptIncomplete: kept.filter((decision) => !decision.committed).length,
        deleted: 0,
        deletedBackups: 0,
        deletedIncomplete: 0,
        freedBytes: 0,
        objectsDeleted: 0,
        decisions,
        warnings: plan.warnings,
        failed: [],
    };
    if (settings.dryRun) {
        result.deleted = doomed.length;
        result.deletedBackups = doomed.filter((decision) => decision.committed).length;
        result.deletedIncomplete = doomed.length - result.deletedBackups;
        result.freedBytes = doomed.reduce((sum, decision) => sum + decision.bytes, 0);
        result.objectsDeleted = doomed.reduce((sum, decision) => sum + decision.objects, 0);
        return result;
    }
    // Only keys of the folders being deleted, all inside <label>/<backup-id>/: prune never reaches
    // outside its label's prefix, whatever the listing held.
    const keysOf = (decision) => {
        const prefix = `${root}${decision.backupId}/`;
        const own = byId.get(decision.backupId).objects;
        for (const object of own) {
            if (!object.key.startsWith(prefix)) {
                throw new domain_errors/* OperationError */.OK(`refusing to delete "${object.key}": it is not inside ${prefix}`);
            }
        }
        return own;
    };
    const sizes = new Map();
    for (const decision of doomed)
        for (const object of keysOf(decision))
            sizes.set(object.key, object.size);
    const progress = { done: 0, total: sizes.size };
    if (doomed.length > 0) {
        log.info(`deleting ${doomed.length} folder(s), ${sizes.size} object(s), under ${repository.url}/${root}`);
    }
    const manifestOf = (decision) => `${root}${decision.backupId}/${MANIFEST_FILE}`;
    const deleteKeys = (keys) => repository.deleteKeys(label, keys, (count) => {
        progress.done += count;
        if (progress.total > DELETE_BATCH_KEYS)
            log.info(`deleted ${progress.done} of ${progress.total} objects`);
    });
    const first = await deleteKeys(doomed.filter((decision) => decision.committed).map(manifestOf));
    const uncommitted = new Set(first.deleted);
    // A backup whose manifest could not be deleted stays whole: nothing else of it is touched.
    const rest = doomed.filter((decision) => !decision.committed || uncommitted.has(manifestOf(decision)));
    const second = await deleteKeys(rest.flatMap((decision) => keysOf(decision)
        .map((object) => object.key)
        .filter((key) => !uncommitted.has(key))));
    const gone = new Set([...first.deleted, ...second.deleted]);
    result.failed = [...first.failed, ...second.failed];
    for (const decision of doomed) {
        decision.deleted = keysOf(decision).every((object) => gone.has(object.key));
        if (!decision.deleted)
            continue;
        result.deleted++;
        if (decision.committed)
            result.deletedBackups++;
        else
            result.deletedIncomplete++;
    }
    for (const key of gone)
        result.freedBytes += sizes.get(key) ?? 0;
    result.objectsDeleted = gone.size;
    return result;
}
/** One line for a run that could not delete everything it meant to (exit code 1). */
function pruneFailureMessage(result) {
    if (result.failed.length === 0)
        return undefined;
    const [firstFailure] = result.failed;
    const notDeleted = result.decisions.filter((decision) => decision.deleted === false).length;
    return (`prune could not delete ${result.failed.length} object(s), so ${notDeleted} folder(s) remain: ` +
        `"${firstFailure.key}": ${firstFailure.reason}` +
        (result.failed.length > 1 ? ` (and ${result.failed.length - 1} more; see the result)` : ""));
}

;// CONCATENATED MODULE: ./src/commands/prune/definition.ts
/** prune: delete what the retention policy does not keep, never the last good backup. */





const pruneCommand = {
    spec: commandSpec("prune"),
    parse: parsePruneSettings,
    storage: (settings) => settings,
    run: (settings, deps) => runPrune(settings, deps),
    failure: pruneFailureMessage,
    outputs: (result) => ({
        kept: result.kept,
        deleted: result.deleted,
        "freed-bytes": result.freedBytes,
    }),
    logLines: (result) => [formatPruneDecisions(result), formatPruneTotals(result)],
    text: (result) => `${formatPruneDecisions(result)}\n${formatPruneTotals(result)}`,
    json: (result) => ({ ...result }),
    report: (result, context) => buildPruneReport(result, { ...context, label: result.label }),
};

;// CONCATENATED MODULE: ./src/report/chart.ts
const MIN_CHART_POINTS = 2;
const LABEL_MAX = 16;
const SIZE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];
/** A category label: short, and without the characters that would end Mermaid's quoted string. */
function chartLabel(text) {
    const clean = text.replace(/["\\\n\r`[\]]/g, "").trim();
    return clean.length > LABEL_MAX ? clean.slice(0, LABEL_MAX) : clean;
}
function chart_round(value) {
    return Math.round(value * 100) / 100;
}
/**
 * x labels `MM-DD HH:MM` (UTC); where two collide, `MM-DD HH:MM:SS`; where those still collide,
 * `HH:MM:SS <id suffix>` (the backup id's random part tells them apart).
 */
function pointLabels(points) {
    const iso = points.map((point) => point.startedAt.toISOString());
    const unique = (labels, index) => labels.indexOf(labels[index]) === labels.lastIndexOf(labels[index]);
    const minutes = iso.map((text) => `${text.slice(5, 10)} ${text.slice(11, 16)}`);
    const seconds = iso.map((text, index) => unique(minutes, index) ? minutes[index] : `${text.slice(5, 10)} ${text.slice(11, 19)}`);
    return seconds.map((label, index) => chartLabel(unique(seconds, index)
        ? label
        : `${iso[index].slice(11, 19)} ${points[index].backupId.split("-").at(-1).slice(0, 7)}`));
}
function block(title, labels, axis, values, kind) {
    const max = Math.max(...values);
    const top = max > 0 ? chart_round(max * 1.1) : 1;
    return [
        "```mermaid",
        "xychart-beta",
        `  title "${title.replace(/"/g, "")}"`,
        `  x-axis [${labels.map((label) => `"${label}"`).join(", ")}]`,
        `  y-axis "${axis}" 0 --> ${top}`,
        `  ${kind} [${values.join(", ")}]`,
        "```",
    ].join("\n");
}
/** Stored size of each backup with a manifest, oldest first; undefined below two points. */
function sizeChart(points) {
    const sized = points.filter((point) => point.storedBytes !== null);
    if (sized.length < MIN_CHART_POINTS)
        return undefined;
    const max = Math.max(...sized.map((point) => point.storedBytes));
    let unit = 0;
    while (unit < SIZE_UNITS.length - 1 && max >= 1024 ** (unit + 1))
        unit++;
    const values = sized.map((point) => chart_round(point.storedBytes / 1024 ** unit));
    return block("Stored size per backup", pointLabels(sized), SIZE_UNITS[unit], values, "bar");
}
/** Restore seconds of each backup a restore-test measured, oldest first; undefined below two points. */
function restoreTimeChart(points) {
    const timed = points.filter((point) => point.restoreSeconds !== null);
    if (timed.length < MIN_CHART_POINTS)
        return undefined;
    return block("Restore time per backup", pointLabels(timed), "seconds", timed.map((point) => chart_round(point.restoreSeconds)), "line");
}

;// CONCATENATED MODULE: ./src/report/markdown.ts
/**
 * A report in GitHub Markdown: the job summary (up to 1 MiB) and the sticky pull request comment
 * (up to 65,536 characters, so tables and logs are cut shorter, and a hidden marker comes first so
 * that the next run finds the comment and updates it in place).
 */


const LIMITS = {
    summary: { rows: 500, code: 8000, total: 1_000_000 },
    comment: { rows: 30, code: 3000, total: 60_000 },
};
/** Text outside code: HTML-significant characters escaped, so that `<name>` shows as written. */
function escapeText(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
function escapeCell(text) {
    return escapeText(text).replace(/\|/g, "\\|").replace(/\r?\n/g, "<br>");
}
function markdownTable(table, maxRows = Infinity) {
    const line = (cells) => `| ${cells.map(escapeCell).join(" | ")} |`;
    const rows = table.rows.slice(0, maxRows);
    const lines = [line(table.header), `| ${table.header.map(() => "---").join(" | ")} |`, ...rows.map(line)];
    if (table.rows.length > rows.length)
        lines.push("", `... and ${table.rows.length - rows.length} more rows.`);
    return lines.join("\n");
}
/** A fenced block that no backtick run in the text can close early. */
function codeBlock(text, max) {
    const body = text.length > max ? `... (${text.length - max} earlier characters left out)\n${text.slice(-max)}` : text;
    const longest = Math.max(0, ...[...body.matchAll(/`+/g)].map((match) => match[0].length));
    const fence = "`".repeat(Math.max(3, longest + 1));
    return `${fence}text\n${body.replace(/\n+$/, "")}\n${fence}`;
}
function section(part, target) {
    const limits = LIMITS[target];
    const body = [];
    if (part.text)
        body.push(escapeText(part.text));
    if (part.table)
        body.push(markdownTable(part.table, limits.rows));
    if (part.code !== undefined)
        body.push(codeBlock(part.code, limits.code));
    const title = escapeText(part.title);
    if (part.collapsed)
        return `<details><summary>${title}</summary>\n\n${body.join("\n\n")}\n\n</details>`;
    return `<h3>${title}</h3>\n\n${body.join("\n\n")}`;
}
function markdown_list(items, max) {
    const shown = items.slice(0, max).map((item) => `- ${escapeText(item)}`);
    if (items.length > max)
        shown.push(`- ... and ${items.length - max} more`);
    return shown.join("\n");
}
function renderMarkdown(report, target = "summary") {
    const limits = LIMITS[target];
    const parts = [];
    if (target === "comment")
        parts.push(reportMarker(report));
    parts.push(`<h2>${escapeText(report.title)}</h2>`);
    parts.push(`${VERDICT_EMOJI[report.verdict]} **${VERDICT_WORD[report.verdict]}**: ${escapeText(report.headline)}`);
    if (report.facts.length > 0) {
        parts.push(markdownTable({
            header: report.facts.map((fact) => fact.label),
            rows: [report.facts.map((fact) => fact.value)],
        }));
    }
    if (report.failures.length > 0) {
        parts.push(`**Failures**\n\n${markdown_list(report.failures, limits.rows)}`);
    }
    for (const warning of report.warnings.slice(0, limits.rows)) {
        parts.push(`> [!WARNING]\n> ${escapeText(warning).replace(/\r?\n/g, "\n> ")}`);
    }
    for (const part of report.sections)
        parts.push(section(part, target));
    if (report.history) {
        const charts = [sizeChart(report.history.points), restoreTimeChart(report.history.points)].filter((chart) => chart !== undefined);
        parts.push(`<h3>Recent backups: ${escapeText(report.history.label)}</h3>\n\n${escapeText(historyLine(report.history))}.`, ...charts);
    }
    const footer = [report.runUrl ? `[Workflow run](${report.runUrl})` : "", "Lifeboat"].filter(Boolean);
    parts.push(`<sub>${footer.join(" · ")}</sub>`);
    const text = `${parts.join("\n\n")}\n`;
    if (text.length <= limits.total)
        return text;
    const note = `\n\n... (the report was cut at ${limits.total} characters; the job summary has all of it)\n`;
    return text.slice(0, limits.total - note.length) + note;
}

;// CONCATENATED MODULE: ./src/postgres/pg-restore.ts
/**
 * Runs pg_restore into a database, from a file (which allows --jobs) or from a stream. pg_restore
 * keeps going past errors here, so that the caller can tell tolerated errors (a missing role on a
 * scratch server) from real ones; every "error:" line it printed comes back.
 */







const LOG_KEEP = 64 * 1024;
async function runPgRestore(options) {
    const tool = toolSpawn(options.pgRestore, pgToolEnv(options.env, {
        password: options.target.password,
        sslmode: options.target.sslmode,
        appName: "lifeboat pg_restore",
    }));
    const env = tool.env;
    const fromFile = typeof options.input === "string";
    const args = [
        `--dbname=${options.target.withoutPassword}`,
        "--no-password",
        ...(fromFile && options.jobs > 1 ? [`--jobs=${options.jobs}`] : []),
        ...options.args,
        ...(fromFile ? [options.input] : []),
    ];
    const child = (0,external_node_child_process_.spawn)(tool.path, args, {
        env,
        stdio: [fromFile ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let log = "";
    const keep = (text) => (log = (log + text).slice(-LOG_KEEP));
    child.stdout.setEncoding("utf8").on("data", keep);
    child.stderr.setEncoding("utf8").on("data", keep);
    const closed = new Promise((resolve, reject) => {
        child.on("error", (error) => reject(new domain_errors/* OperationError */.OK(`pg_restore could not start: ${error.message}`)));
        child.on("close", (code) => resolve(code));
    });
    if (!fromFile) {
        try {
            await (0,promises_.pipeline)([...options.input, stdinSink(child.stdin, closed)]);
        }
        catch (error) {
            child.kill("SIGTERM");
            await closed.catch(() => undefined);
            // pg_restore that gave up closes its input: its own error says why, not our EPIPE.
            const own = errorLines(redactUrls(log))[0];
            const code = error.code;
            if (own && (code === "EPIPE" || code === "ERR_STREAM_PREMATURE_CLOSE")) {
                throw new domain_errors/* OperationError */.OK(`pg_restore stopped reading the archive: ${own}`);
            }
            throw error;
        }
    }
    const exitCode = await closed;
    log = redactUrls(log);
    return { exitCode, errors: errorLines(log), log };
}
/**
 * pg_restore's stdin as the end of the read pipeline. pg_restore with --table or --schema exits 0
 * once it has what it needs and closes its input early (the rest of an uncompressed archive does
 * not fit in the pipe's buffer): the rest is then read and dropped, so the artifact's digests are
 * still checked whole. A pg_restore that closes its input and fails keeps the pipe error, which
 * the caller turns into pg_restore's own.
 */
function stdinSink(stdin, exited) {
    let gone;
    const whenGone = (error) => (gone ??= exited.then((code) => {
        if (code !== 0)
            throw error;
    }));
    stdin.on("error", (error) => void whenGone(error).catch(() => undefined));
    return new external_node_stream_.Writable({
        write(chunk, _encoding, callback) {
            if (gone)
                return void gone.then(() => callback(), callback);
            stdin.write(chunk, (error) => {
                if (!error)
                    return callback();
                whenGone(error).then(() => callback(), callback);
            });
        },
        final(callback) {
            if (gone)
                return void gone.then(() => callback(), callback);
            stdin.end((error) => {
                if (!error)
                    return callback();
                whenGone(error).then(() => callback(), callback);
            });
        },
        destroy(error, callback) {
            if (!gone)
                stdin.destroy();
            callback(error);
        },
    });
}
/** Each "pg_restore: error: ..." with the lines that detail it (Command was: ..., DETAIL: ...). */
function errorLines(log) {
    const errors = [];
    for (const line of log.split("\n")) {
        const match = /^pg_restore: error: (.*)$/.exec(line);
        if (match)
            errors.push(match[1].trim());
        else if (errors.length > 0 && /^(DETAIL|HINT|Command was):/.test(line.trim())) {
            errors[errors.length - 1] += ` ${line.trim()}`;
        }
    }
    // "errors ignored on restore: N" is the summary of the others, not an error of its own.
    return errors.filter((error) => !/^errors ignored on restore: \d+$/.test(error));
}

;// CONCATENATED MODULE: ./src/postgres/scratch.ts
/**
 * Scratch databases for restore tests: created with a unique name on a server where the user may
 * CREATE DATABASE, dropped afterwards (connections and all).
 */



function scratchName(backupId) {
    return `lifeboat_rt_${backupId.slice(0, 15).toLowerCase()}_${(0,external_node_crypto_.randomBytes)(3).toString("hex")}`;
}
/** Invalid parameter value (encoding and locale do not match), wrong object type (unknown locale), undefined object (unknown encoding). */
const LOCALE_REFUSED = new Set(["22023", "42809", "42704"]);
/**
 * Creates the scratch database; with `like`, from template0 in the source's encoding and locale,
 * so that a SQL_ASCII or LATIN1 source is not restored into UTF8. When the scratch server lacks
 * that locale, the encoding is kept with the C locale (which goes with every encoding); when it
 * refuses even that, the server's default is used. Returns a notice when it fell back.
 */
async function createScratchDatabase(client, name, input, like) {
    if (like) {
        const attempts = [
            [like, undefined],
            [
                { encoding: like.encoding, collate: "C", ctype: "C" },
                `the scratch server has no locale ${like.collate}/${like.ctype}: created with encoding ${like.encoding} and the C locale`,
            ],
        ];
        let lastError;
        for (const [locale, notice] of attempts) {
            try {
                await client.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 ENCODING ${quoteLiteral(locale.encoding)} LC_COLLATE ${quoteLiteral(locale.collate)} LC_CTYPE ${quoteLiteral(locale.ctype)}`);
                return notice;
            }
            catch (error) {
                // Only a locale or encoding the server refuses is worth another try; anything else (no
                // permission) is reported as it is, below.
                if (!LOCALE_REFUSED.has(String(error.code)))
                    throw creationError(error, name, input);
                lastError = error;
            }
        }
        await createPlain(client, name, input);
        return `the scratch server refuses encoding ${like.encoding} (${(0,domain_errors/* describeError */.Uc)(lastError)}): created with its default encoding and locale`;
    }
    return createPlain(client, name, input);
}
async function createPlain(client, name, input) {
    try {
        await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
        return undefined;
    }
    catch (error) {
        throw creationError(error, name, input);
    }
}
function creationError(error, name, input) {
    if (error.code === "42501") {
        return new domain_errors/* InputError */.dz(`--${input}: the role may not CREATE DATABASE on that server (${(0,domain_errors/* describeError */.Uc)(error)}); use a connection where it may, such as a service container's superuser`, { input, cause: error });
    }
    return new domain_errors/* OperationError */.OK(`creating the scratch database ${name} failed: ${(0,domain_errors/* describeError */.Uc)(error)}`, {
        cause: error,
    });
}
function quoteLiteral(text) {
    return `'${text.replaceAll("'", "''")}'`;
}
async function dropScratchDatabase(client, name) {
    // WITH (FORCE) ends leftover sessions (a migration tool that did not disconnect); PostgreSQL 13+.
    const serverVersion = Number((await client.query("SHOW server_version_num")).rows[0].v);
    const force = serverVersion >= 130000 ? " WITH (FORCE)" : "";
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}${force}`);
}
/** The scratch server's URL pointed at another database on it. */
function withDatabase(url, database) {
    const bare = new URL(url.withoutPassword);
    bare.pathname = `/${encodeURIComponent(database)}`;
    bare.searchParams.delete("dbname");
    const display = new URL(url.redacted);
    display.pathname = bare.pathname;
    const params = { ...url.params };
    delete params.dbname;
    return { ...url, database, withoutPassword: bare.toString(), redacted: display.toString(), params };
}

;// CONCATENATED MODULE: ./src/postgres/row-counts.ts

/** Every table whose row count differs from the manifest's (`ONLY`: a parent without its children). */
async function compareRowCounts(client, tables) {
    const mismatches = [];
    for (const { schema, table, rows } of tables) {
        let actual;
        try {
            const result = await client.query(`SELECT count(*) AS n FROM ONLY ${quoteIdent(schema)}.${quoteIdent(table)}`);
            actual = Number(result.rows[0].n);
        }
        catch {
            actual = null;
        }
        if (actual !== rows)
            mismatches.push({ table: `${schema}.${table}`, expected: rows, actual });
    }
    return mismatches;
}

;// CONCATENATED MODULE: ./src/commands/read-backup.ts
/**
 * What reading a backup back needs besides the bytes (src/repository/read-artifact.ts streams and
 * checks those): the identities that open it, and a pg_restore that reads its archive.
 */



/**
 * The identities that can open this backup (none for an unencrypted one), checked against the
 * manifest before anything is downloaded: a key for another recipient, or none where one is
 * needed, is bad input.
 */
function identitiesFor(manifest, keys, backupName) {
    const { encryption } = manifest;
    if (encryption.format === "none")
        return [];
    if (encryption.passphrase) {
        if (keys.passphrase === undefined) {
            throw new domain_errors/* InputError */.dz(`--passphrase-file: backup ${backupName} is encrypted with a passphrase; give it with --passphrase-file or LIFEBOAT_PASSPHRASE`, { input: "passphrase-file" });
        }
        return [passphraseIdentity(keys.passphrase)];
    }
    if (keys.identityText === undefined) {
        throw new domain_errors/* InputError */.dz(`--identity-file: backup ${backupName} is encrypted to ${encryption.recipients.join(", ")}; give the matching identity with --identity-file or LIFEBOAT_IDENTITY`, { input: "identity-file" });
    }
    const identities = parseIdentities(keys.identityText);
    const matching = identities.filter((identity) => encryption.recipients.includes(recipientOf(identity)));
    if (matching.length === 0) {
        throw new domain_errors/* InputError */.dz(`--identity-file: the identity is for ${identities.map((identity) => recipientOf(identity)).join(", ")}, but backup ${backupName} is encrypted to ${encryption.recipients.join(", ")}`, { input: "identity-file" });
    }
    return matching;
}
/** A pg_restore that reads this backup's archive: of the dump's pg_dump major or newer. */
function findPgRestoreFor(manifest, settings, deps) {
    return findPgTool({
        name: "pg_restore",
        serverMajor: Number(manifest.tool.pgDumpVersion.split(".")[0]),
        serverVersion: manifest.tool.pgDumpVersion,
        target: `read archives made by pg_dump ${manifest.tool.pgDumpVersion}`,
        pgBinDir: settings.pgBinDir,
        pgVersion: settings.pgVersion,
        installPgClient: settings.installPgClient,
        env: deps.env,
        cache: deps.toolCache,
        log: deps.log,
    });
}

;// CONCATENATED MODULE: ./src/commands/restore-test/run.ts
/**
 * restore-test: the proof that a backup restores. Into a fresh scratch database on a server the
 * user names: decrypt (to a local file when it fits, for a parallel pg_restore; streamed otherwise),
 * restore, compare every table's row count with the manifest's exact counts, run the user's SQL
 * assertions and command (a migration tool) against the restored copy, measure, drop the scratch
 * database, and write a check record.
 */




















const OUTPUT_KEEP = 32 * 1024;
/** The listing shows the backup broken: every problem becomes a failure, nothing is restored. */
class BrokenBackup extends domain_errors/* OperationError */.OK {
    problems;
    constructor(problems) {
        super(problems.join("; "));
        this.problems = problems;
    }
}
async function runRestoreTest(settings, deps) {
    const { log } = deps;
    const repository = new BackupRepository(deps.store);
    await repository.check("write");
    const resolved = await repository.resolve(settings.label, settings.backup);
    const { manifest } = resolved;
    for (const skipped of resolved.skipped) {
        log.warn(`backup ${skipped.backupId} is broken and was passed over: ${skipped.problems.join("; ")}`);
    }
    const name = `${settings.label}/${manifest.backupId}`;
    const identities = identitiesFor(manifest, settings.keys, name);
    const pgRestore = await findPgRestoreFor(manifest, settings, deps);
    await preflight(settings.scratchUrl, "scratch-database-url", { log });
    const admin = await connect(settings.scratchUrl, "scratch-database-url");
    const database = scratchName(manifest.backupId);
    const failures = [];
    const checked = [];
    let result;
    let roles = null;
    const usable = usableCatalog(manifest);
    const source = "catalog" in usable ? usable.catalog : undefined;
    const catalog = {
        compared: false,
        notices: "notice" in usable ? [usable.notice] : [],
        rolesCreated: [],
        missingRoles: [],
        failures: 0,
        warnings: 0,
        differences: [],
    };
    for (const notice of catalog.notices)
        log.info(notice);
    try {
        if (settings.assertions)
            await checkAssertionSyntax(admin, settings.assertions);
        // A backup whose artifacts the listing already shows missing or resized is not restored at all.
        if (resolved.problems.length > 0)
            throw new BrokenBackup(resolved.problems);
        // The source's encoding and locale: a SQL_ASCII or LATIN1 source is not restored into UTF8.
        const localeNotice = await createScratchDatabase(admin, database, "scratch-database-url", source?.database);
        if (localeNotice) {
            catalog.notices.push(localeNotice);
            log.warn(localeNotice);
        }
        const rolesObject = rolesArtifact(manifest);
        if (rolesObject) {
            // Roles are cluster-wide: only missing ones are created, and none is dropped afterwards.
            roles = await applyRolesObject(admin, repository, manifest, identities);
            checked.push({
                name: rolesObject.name,
                bytes: rolesObject.stored.bytes,
                sha256: rolesObject.stored.sha256,
            });
            log.info(`Roles from ${rolesObject.name}: created ${roles.created.join(", ") || "none"}; already there: ${roles.existing.join(", ") || "none"}`);
            for (const error of roles.errors.filter((text) => !settings.tolerate.some((p) => p.test(text)))) {
                failures.push(`applying ${rolesObject.name}: ${error}`);
            }
        }
        if (source) {
            // After the roles object: it creates roles with their real attributes; the rest NOLOGIN.
            const referenced = await createReferencedRoles(admin, source);
            catalog.rolesCreated = referenced.created;
            catalog.missingRoles = referenced.missing.map((entry) => entry.role);
            if (referenced.created.length > 0) {
                log.info(`Roles the archive names, created NOLOGIN: ${referenced.created.join(", ")}`);
            }
            for (const entry of referenced.missing) {
                log.warn(`role ${entry.role} could not be created on the scratch server: ${entry.error}`);
            }
        }
        log.info(`Restoring ${repository.url}/${name} into scratch database ${database} on ${settings.scratchUrl.host}:${settings.scratchUrl.port}`);
        const target = withDatabase(settings.scratchUrl, database);
        result = await restoreAndCheck(settings, { ...deps, manifestTables: manifest.tables }, {
            repository,
            manifest,
            identities,
            pgRestore,
            target,
            database,
            failures,
            checked,
            source,
            catalog,
        });
    }
    catch (error) {
        if (error instanceof domain_errors/* InputError */.dz) {
            await dropScratchDatabase(admin, database).catch(() => undefined);
            await admin.end().catch(() => undefined);
            throw error;
        }
        if (error instanceof BrokenBackup)
            failures.push(...error.problems);
        else
            failures.push((0,domain_errors/* describeError */.Uc)(error));
    }
    const passed = failures.length === 0;
    const kept = !passed && settings.keepOnFailure;
    if (!kept) {
        await dropScratchDatabase(admin, database).catch((error) => log.warn(`dropping the scratch database ${database} failed: ${(0,domain_errors/* describeError */.Uc)(error)}`));
    }
    else {
        log.warn(`the scratch database ${database} is kept for inspection (keep-on-failure); drop it when done`);
    }
    await admin.end().catch(() => undefined);
    const full = {
        passed,
        backupId: manifest.backupId,
        scratchDatabase: database,
        kept,
        restoreSeconds: result?.restoreSeconds ?? 0,
        mode: result?.mode ?? "stream",
        tablesChecked: result?.tablesChecked ?? 0,
        mismatches: result?.mismatches ?? [],
        restoreErrors: result?.restoreErrors ?? [],
        toleratedErrors: result?.toleratedErrors ?? [],
        assertions: result?.assertions ?? [],
        run: result?.run ?? null,
        failures,
        pgRestoreLog: result?.pgRestoreLog ?? "",
        roles,
        catalog,
    };
    const checkKey = await repository.writeCheckRecord({
        kind: "restore-test",
        label: settings.label,
        backupId: manifest.backupId,
        passed,
        artifacts: checked,
        failures,
        warnings: [
            ...full.toleratedErrors.map((error) => `tolerated pg_restore error: ${error}`),
            ...catalogWarnings(catalog),
        ],
        details: {
            restoreSeconds: full.restoreSeconds,
            mode: full.mode,
            scratchServer: settings.scratchUrl.redacted,
            tablesChecked: full.tablesChecked,
            mismatches: full.mismatches,
            restoreErrors: full.restoreErrors,
            assertions: full.assertions,
            run: full.run,
            roles: full.roles,
            catalog: {
                compared: catalog.compared,
                notices: catalog.notices,
                rolesCreated: catalog.rolesCreated,
                missingRoles: catalog.missingRoles,
                failures: catalog.failures,
                warnings: catalog.warnings,
            },
        },
    }, deps.now());
    return { ...full, checkKey };
}
async function restoreAndCheck(settings, deps, context) {
    const { manifest, failures } = context;
    const started = performance.now();
    const dump = dumpArtifact(manifest);
    // A scratch server has none of the source's tablespaces: everything goes to its default one.
    const pgRestoreArgs = settings.pgRestoreArgs.includes("--no-tablespaces")
        ? settings.pgRestoreArgs
        : ["--no-tablespaces", ...settings.pgRestoreArgs];
    const opened = await openArtifactRead(context.repository, manifest, dump, context.identities);
    const workDir = await (0,external_node_fs_promises_.mkdtemp)((0,external_node_path_.join)((0,external_node_os_.tmpdir)(), "lifeboat-restore-"));
    const mode = settings.decryptToDisk === "auto" && (await fitsOnDisk(workDir, dump.plaintext.bytes))
        ? "file"
        : "stream";
    // Records what was read once the read is complete, and fails unless it matches the manifest.
    const checkRead = () => {
        const { stored } = readDigests(opened.results);
        context.checked.push({ name: dump.name, bytes: stored.bytes, sha256: stored.sha256 });
        const problems = opened.check();
        if (problems.length > 0)
            throw new domain_errors/* OperationError */.OK(problems[0]);
    };
    let outcome;
    try {
        if (mode === "file") {
            // Decrypted to disk and checked before pg_restore sees a byte: nothing unchecked reaches the scratch database.
            const file = (0,external_node_path_.join)(workDir, "dump.pgdump");
            await (0,promises_.pipeline)([...opened.streams, (0,external_node_fs_.createWriteStream)(file, { mode: 0o600 })]);
            checkRead();
            outcome = await runPgRestore({
                pgRestore: context.pgRestore,
                target: context.target,
                args: pgRestoreArgs,
                input: file,
                jobs: settings.jobs,
                env: deps.env,
            });
        }
        else {
            // Streamed (no room on disk, or decrypt-to-disk never): pg_restore reads the bytes as they are
            // checked, so a mismatch is found at the end; the scratch database is then dropped as failed.
            outcome = await runPgRestore({
                pgRestore: context.pgRestore,
                target: context.target,
                args: pgRestoreArgs,
                input: opened.streams,
                jobs: 1,
                env: deps.env,
            });
            checkRead();
        }
    }
    finally {
        await (0,external_node_fs_promises_.rm)(workDir, { recursive: true, force: true });
    }
    const restoreSeconds = Math.round((performance.now() - started) / 10) / 100;
    // A Supabase dump names the platform's roles (owners, grants), which a plain server lacks.
    const restoreErrors = outcome.errors.filter((error) => !settings.tolerate.some((pattern) => pattern.test(error)) &&
        !(manifest.preset === "supabase" && isPlatformRoleError(error)));
    const toleratedErrors = outcome.errors.filter((error) => !restoreErrors.includes(error));
    if (restoreErrors.length > 0) {
        failures.push(`pg_restore reported ${restoreErrors.length} error(s): ${restoreErrors[0]}`);
    }
    else if (outcome.exitCode !== 0 && outcome.errors.length === 0) {
        failures.push(`pg_restore exited with status ${outcome.exitCode}: ${outcome.log.trim().split("\n").at(-1) ?? ""}`);
    }
    const client = await connect(context.target, "scratch-database-url");
    try {
        const mismatches = await compareRowCounts(client, manifest.tables);
        for (const mismatch of mismatches.slice(0, 5)) {
            failures.push(`${mismatch.table}: ${mismatch.actual === null ? "missing" : `${mismatch.actual} rows`} after restore, the manifest counted ${mismatch.expected}`);
        }
        if (mismatches.length > 5)
            failures.push(`... and ${mismatches.length - 5} more tables differ`);
        if (context.source) {
            // Before the assertions and the user's command, which may change the schema (a migration).
            await compareCatalog(client, context.source, manifest, pgRestoreArgs, context.catalog, failures, deps.log);
        }
        const assertions = settings.assertions ? await runAssertions(client, settings.assertions.statements) : [];
        for (const assertion of assertions.filter((a) => !a.passed)) {
            failures.push(`assertion failed: ${run_oneLine(assertion.sql)}: ${assertion.detail}`);
        }
        await client.end();
        const run = settings.run ? await runCommand(settings.run, context.target, deps.env) : null;
        if (run && run.exitCode !== 0) {
            failures.push(`the run command exited with status ${run.exitCode}: ${lastLine(run.output)}`);
        }
        return {
            backupId: manifest.backupId,
            scratchDatabase: context.database,
            restoreSeconds,
            mode,
            tablesChecked: manifest.tables.length,
            mismatches,
            restoreErrors,
            toleratedErrors,
            assertions,
            run,
            pgRestoreLog: outcome.log,
        };
    }
    finally {
        await client.end().catch(() => undefined);
    }
}
/**
 * The restored catalog against the manifest's fingerprint: each failure becomes a restore-test
 * failure named by object. A comparison that cannot run is a failure too, and the row counts and
 * other findings are kept.
 */
async function compareCatalog(client, source, manifest, pgRestoreArgs, catalog, failures, log) {
    let compared;
    try {
        compared = await compareRestoredCatalog(client, source, {
            scope: fingerprintScopeFor(manifest.dump.scope, manifest.preset ?? "none"),
            pgRestoreArgs,
            missingRoles: catalog.missingRoles,
        });
    }
    catch (error) {
        failures.push(`comparing the restored catalog with the manifest's failed: ${(0,domain_errors/* describeError */.Uc)(error)}`);
        return;
    }
    Object.assign(catalog, { compared: true, ...compared });
    for (const difference of compared.differences.filter((d) => d.severity === "failure")) {
        failures.push(`catalog: ${difference.object}: ${difference.problem}`);
    }
    log.info(`Catalog compared with the manifest's fingerprint: ${compared.failures} failure(s), ${compared.warnings} warning(s)`);
}
/** Room for the decrypted archive with 10% and 256 MiB to spare, so a parallel restore is safe. */
async function fitsOnDisk(dir, bytes) {
    try {
        const stats = await (0,external_node_fs_promises_.statfs)(dir);
        return stats.bavail * stats.bsize > bytes * 1.1 + 256 * 1024 * 1024;
    }
    catch {
        return false;
    }
}
/** Assertions that cannot even be parsed are bad input, found before anything is restored. */
async function checkAssertionSyntax(client, assertions) {
    for (const [index, sql] of assertions.statements.entries()) {
        try {
            await client.query(`PREPARE lifeboat_assertion_check AS ${sql}`);
            await client.query("DEALLOCATE lifeboat_assertion_check");
        }
        catch (error) {
            // Only a syntax error says the file is wrong; a missing table is expected before the restore.
            if (error.code === "42601") {
                throw new domain_errors/* InputError */.dz(`--assertions "${assertions.path}": statement ${index + 1} does not parse: ${(0,domain_errors/* describeError */.Uc)(error)}`, { input: "assertions" });
            }
        }
    }
}
async function runAssertions(client, statements) {
    const results = [];
    for (const sql of statements) {
        try {
            const result = await client.query({ text: sql, rowMode: "array" });
            const last = Array.isArray(result) ? result.at(-1) : result;
            const rows = (last?.rows ?? []);
            const value = rows[0]?.[0];
            const passed = rows.length === 1 && value === true;
            results.push({
                sql,
                passed,
                detail: passed
                    ? "true"
                    : rows.length !== 1
                        ? `returned ${rows.length} rows, expected one`
                        : `returned ${String(value)}`,
            });
        }
        catch (error) {
            results.push({ sql, passed: false, detail: `error: ${(0,domain_errors/* describeError */.Uc)(error)}` });
        }
    }
    return results;
}
async function runCommand(command, target, env) {
    const child = (0,external_node_child_process_.spawn)("sh", ["-c", command], {
        // The scratch database and a working shell; never the job's credentials or tokens.
        env: userCommandEnv(env, { databaseUrl: target }),
        stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const keep = (chunk) => (output = (output + chunk.toString()).slice(-OUTPUT_KEEP));
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const exitCode = await new Promise((resolve) => {
        child.on("error", (error) => {
            output += `\n${error.message}`;
            resolve(127);
        });
        child.on("close", (code) => resolve(code));
    });
    if (target.password)
        output = output.replaceAll(target.password, "***");
    return { command, exitCode, output };
}
function run_oneLine(text) {
    const line = text.replace(/\s+/g, " ").trim();
    return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}
function lastLine(text) {
    return text.trim().split("\n").at(-1) ?? "";
}
function restoreTestFailureMessage(result) {
    if (result.passed)
        return undefined;
    const more = result.failures.length > 1 ? ` (and ${result.failures.length - 1} more)` : "";
    return `restore-test of ${result.backupId} failed: ${result.failures[0]}${more}`;
}

;// CONCATENATED MODULE: ./src/commands/restore-test/definition.ts
/** restore-test: restore a backup into a scratch database and prove it (rows, assertions, a command). */





const restoreTestCommand = {
    spec: commandSpec("restore-test"),
    parse: parseRestoreTestSettings,
    storage: (settings) => settings,
    run: (settings, deps) => runRestoreTest(settings, deps),
    failure: restoreTestFailureMessage,
    outputs: (result, failure) => ({
        passed: result.passed,
        "backup-id": result.backupId,
        "restore-seconds": result.restoreSeconds,
        "tables-checked": result.tablesChecked,
        mismatches: result.mismatches.length,
        reason: failure ?? "",
    }),
    text: (result) => {
        const passedAssertions = result.assertions.filter((assertion) => assertion.passed).length;
        const summary = `${result.backupId}: restored in ${result.restoreSeconds}s (${result.mode}), ${result.tablesChecked} tables checked, ${result.mismatches.length} mismatches, ${result.catalog.compared ? `catalog: ${result.catalog.failures} failures, ${result.catalog.warnings} warnings, ` : ""}${passedAssertions}/${result.assertions.length} assertions passed${result.run ? `, run exited ${result.run.exitCode}` : ""}`;
        // The user's command printed for the user: its output (scrubbed of the scratch URL's password
        // by the command itself) comes before the verdict, as it would in a terminal.
        const run = result.run ? [`$ ${result.run.command}`, result.run.output.trimEnd()].filter(Boolean) : [];
        return [...run, summary, ...result.failures.map((line) => `${result.backupId}: ${line}`)].join("\n");
    },
    json: ({ pgRestoreLog: _log, ...json }) => json,
    report: (result, context) => buildRestoreTestReport(result, context),
    artifact: (result, report) => ({
        name: `lifeboat-restore-test-${report.label}-${result.backupId}`,
        title: "restore-test report",
        files: restoreTestArtifactFiles(report, result),
    }),
};
/** The files of the restore-test artifact: the report, the result (no secrets), the logs. */
function restoreTestArtifactFiles(report, result) {
    const { pgRestoreLog, run, ...rest } = result;
    const files = {
        "report.md": renderMarkdown(report, "summary"),
        "result.json": `${JSON.stringify({ ...rest, run: run ? { command: run.command, exitCode: run.exitCode } : null }, null, 2)}\n`,
        "pg_restore.log": pgRestoreLog,
    };
    if (result.assertions.length > 0) {
        files["assertions.txt"] = result.assertions
            .map((assertion) => `${assertion.passed ? "PASS" : "FAIL"} ${assertion.sql}\n  ${assertion.detail}\n`)
            .join("\n");
    }
    if (run)
        files["command-output.log"] = `$ ${run.command}\n${run.output}`;
    return files;
}

;// CONCATENATED MODULE: ./src/commands/restore/run.ts














async function runRestore(settings, deps) {
    const { store, log } = deps;
    const repository = new BackupRepository(store);
    // Reading is all the restore itself needs; a safety backup checks for writing on its own.
    await repository.check("read");
    const resolved = await repository.resolve(settings.label, settings.backup);
    const { manifest } = resolved;
    for (const skipped of resolved.skipped) {
        log.warn(`backup ${skipped.backupId} is broken and was passed over: ${skipped.problems.join("; ")}`);
    }
    const name = `${settings.label}/${manifest.backupId}`;
    if (resolved.problems.length > 0) {
        throw new domain_errors/* OperationError */.OK(`backup ${name} is broken, so nothing was restored: ${resolved.problems.join("; ")}`);
    }
    const identities = identitiesFor(manifest, settings.keys, name);
    const pgRestore = await findPgRestoreFor(manifest, settings, deps);
    await checkBeforeRestore(repository, manifest, identities, log);
    const target = settings.targetUrl;
    const where = `${target.host}:${target.port}/${target.database}`;
    await preflight(target, "target-database-url", { log });
    const client = await connect(target, "target-database-url");
    try {
        const current = (await client.query("SELECT current_database() AS name")).rows[0].name;
        if (current !== settings.confirm) {
            throw new domain_errors/* InputError */.dz(`--confirm "${settings.confirm}": the target database is "${current}" (at ${target.host}:${target.port}); give its name to confirm that it is overwritten`, { input: "confirm" });
        }
    }
    finally {
        await client.end().catch(() => undefined);
    }
    let safetyBackup = null;
    if (settings.safetyBackup) {
        log.info(`Safety backup of the target ${where} under ${store.url}/${settings.safetyLabel}/ before anything is overwritten`);
        const backupSettings = {
            storage: settings.storage,
            label: settings.safetyLabel,
            s3: settings.s3,
            databaseUrl: target,
            encryption: safetyEncryption(manifest, settings.keys),
            compression: "auto",
            scope: emptyScope(),
            extraArgs: [],
            pgBinDir: settings.pgBinDir,
            // pg-version pins the pg_restore; the safety backup takes the pg_dump that fits the target.
            pgVersion: "auto",
            installPgClient: settings.installPgClient,
        };
        try {
            const made = await runBackup(backupSettings, {
                store,
                env: deps.env,
                now: deps.now,
                log,
                signal: deps.signal,
                toolCache: deps.toolCache,
            });
            safetyBackup = { label: made.label, backupId: made.backupId, storedBytes: made.storedBytes };
        }
        catch (error) {
            if (error instanceof domain_errors/* InputError */.dz)
                throw error;
            throw new domain_errors/* OperationError */.OK(`the safety backup of the target failed, so nothing was restored: ${(0,domain_errors/* describeError */.Uc)(error)}`, { cause: error });
        }
        log.info(`Safety backup ${settings.safetyLabel}/${safetyBackup.backupId} committed; restore it to undo this restore`);
    }
    else {
        log.warn("no safety backup of the target (safety-backup false): this restore cannot be undone by Lifeboat");
    }
    const args = pgRestoreArgs(settings);
    const roles = rolesArtifact(manifest);
    if (roles) {
        // A restore goes into an existing database, whose cluster normally has the roles already.
        log.info(`${roles.name} (${roles.count} roles) is not applied by restore; apply it first by hand if the target's server lacks them (docs/supabase.md)`);
    }
    const dump = dumpArtifact(manifest);
    log.info(`Restoring ${repository.url}/${name} (${formatBytes(dump.stored.bytes)}) into ${where}${args.length ? ` with ${args.join(" ")}` : ""}`);
    const failures = [];
    const started = performance.now();
    const progress = { bytes: 0 };
    const every = deps.progressEveryMs ?? 5000;
    const timer = setInterval(() => log.info(progressLine(progress.bytes, dump.stored.bytes, started)), every);
    timer.unref();
    let outcome;
    let plainError;
    try {
        const opened = await openArtifactRead(repository, manifest, dump, identities, {
            storedTaps: [
                tapStage("progress", {
                    update: (chunk) => (progress.bytes += chunk.length),
                    finish: () => progress.bytes,
                }),
            ],
        });
        outcome = await runPgRestore({ pgRestore, target, args, input: opened.streams, jobs: 1, env: deps.env });
        plainError = opened.check()[0];
    }
    catch (error) {
        failures.push((0,domain_errors/* describeError */.Uc)(error));
    }
    finally {
        clearInterval(timer);
    }
    const restoreSeconds = Math.round((performance.now() - started) / 10) / 100;
    if (plainError)
        failures.push(plainError);
    const restoreErrors = outcome?.errors ?? [];
    if (restoreErrors.length > 0) {
        failures.push(`pg_restore reported ${restoreErrors.length} error(s): ${restoreErrors[0]}`);
    }
    else if (outcome && outcome.exitCode !== 0) {
        failures.push(`pg_restore exited with status ${outcome.exitCode}: ${outcome.log.trim().split("\n").at(-1) ?? ""}`);
    }
    let rowCheck = null;
    if (failures.length === 0 && settings.schemas.length === 0 && settings.tables.length === 0) {
        try {
            rowCheck = await checkRowCounts(target, manifest, settings.clean, log);
        }
        catch (error) {
            log.warn(`the row counts after the restore could not be read: ${(0,domain_errors/* describeError */.Uc)(error)}`);
        }
    }
    const passed = failures.length === 0;
    log.info(`${passed ? "Restored" : "Restore FAILED:"} ${name} into ${where}: ${formatBytes(progress.bytes)} read in ${restoreSeconds}s` +
        (rowCheck
            ? `, ${rowCheck.tablesChecked} tables, ${rowCheck.mismatches.length} row-count differences`
            : "") +
        (safetyBackup ? `; undo with the safety backup ${settings.safetyLabel}/${safetyBackup.backupId}` : ""));
    return {
        passed,
        backupId: manifest.backupId,
        label: settings.label,
        targetDatabase: target.database,
        targetServer: `${target.host}:${target.port}`,
        safetyBackup,
        restoreSeconds,
        bytesRead: progress.bytes,
        pgRestoreArgs: args,
        rowCheck,
        restoreErrors,
        failures,
        pgRestoreLog: outcome?.log ?? "",
    };
}
/**
 * Reads the whole dump (decrypted) and the roles object's stored bytes, and compares them with the
 * manifest, before anything is written anywhere. A wrong passphrase (which no public key reveals)
 * is bad input; any difference is a failed backup, and nothing is restored.
 */
async function checkBeforeRestore(repository, manifest, identities, log) {
    const name = `${manifest.label}/${manifest.backupId}`;
    log.info(`Checking ${repository.url}/${name} against its manifest before restoring it`);
    const read = await readArtifact(repository, manifest, dumpArtifact(manifest), identities);
    const problems = [...read.problems, ...(await readRolesObject(repository, manifest, undefined)).problems];
    if (problems.length === 0)
        return;
    if (manifest.encryption.format !== "none" &&
        manifest.encryption.passphrase &&
        /passphrase is incorrect|no identity matches/.test(problems[0])) {
        throw new domain_errors/* InputError */.dz(`--passphrase-file: the passphrase does not decrypt backup ${name}`, {
            input: "passphrase-file",
        });
    }
    throw new domain_errors/* OperationError */.OK(`backup ${name} does not match its manifest, so nothing was restored: ${problems.join("; ")}`);
}
/** The safety backup is readable with the same key as the backup being restored. */
function safetyEncryption(manifest, keys) {
    const { encryption } = manifest;
    if (encryption.format === "none")
        return { kind: "none" };
    if (encryption.passphrase)
        return { kind: "passphrase", passphrase: keys.passphrase };
    return { kind: "recipients", recipients: encryption.recipients };
}
function pgRestoreArgs(settings) {
    return [
        ...(settings.clean ? ["--clean", "--if-exists"] : []),
        ...(settings.noOwner ? ["--no-owner"] : []),
        ...(settings.noPrivileges ? ["--no-privileges"] : []),
        ...settings.schemas.map((schema) => `--schema=${schema}`),
        ...settings.tables.map((table) => `--table=${table}`),
    ];
}
/** Informational: without clean, rows already in the target stay, so a difference is a warning. */
async function checkRowCounts(target, manifest, clean, log) {
    const client = await connect(target, "target-database-url");
    try {
        const mismatches = await compareRowCounts(client, manifest.tables);
        for (const mismatch of mismatches.slice(0, 5)) {
            log.warn(`${mismatch.table}: ${mismatch.actual === null ? "missing" : `${mismatch.actual} rows`} after the restore, the manifest counted ${mismatch.expected}${clean ? "" : " (without clean, rows already in the target stay)"}`);
        }
        return { tablesChecked: manifest.tables.length, mismatches };
    }
    finally {
        await client.end().catch(() => undefined);
    }
}
function progressLine(bytes, total, startedMs) {
    const seconds = Math.max((performance.now() - startedMs) / 1000, 0.001);
    const percent = total > 0 ? ` (${Math.min(100, Math.floor((bytes / total) * 100))}%)` : "";
    return `restore: ${formatBytes(bytes)} of ${formatBytes(total)} read${percent}, ${formatBytes(Math.round(bytes / seconds))}/s, ${Math.round(seconds)}s elapsed`;
}
function restoreFailureMessage(result) {
    if (result.passed)
        return undefined;
    const more = result.failures.length > 1 ? ` (and ${result.failures.length - 1} more)` : "";
    const undo = result.safetyBackup
        ? `; the target's previous content is in the safety backup ${result.safetyBackup.label}/${result.safetyBackup.backupId}`
        : "";
    return `restore of ${result.label}/${result.backupId} failed: ${result.failures[0]}${more}${undo}`;
}

;// CONCATENATED MODULE: ./src/commands/restore/definition.ts
/** restore (the restore-db action): a backup into a target database the user named and confirmed. */




const restoreCommand = {
    spec: commandSpec("restore"),
    parse: parseRestoreSettings,
    storage: (settings) => settings,
    run: (settings, deps) => runRestore(settings, deps),
    failure: restoreFailureMessage,
    outputs: (result) => ({
        "backup-id": result.backupId,
        "safety-backup-id": result.safetyBackup?.backupId ?? "",
        "restore-seconds": result.restoreSeconds,
    }),
    text: (result) => {
        const safety = result.safetyBackup
            ? `; safety backup ${result.safetyBackup.label}/${result.safetyBackup.backupId}`
            : "; no safety backup";
        const summary = `${result.backupId}: ${result.passed ? "restored" : "restore FAILED"} into ${result.targetDatabase} in ${result.restoreSeconds}s${safety}`;
        return [summary, ...result.failures.map((line) => `${result.backupId}: ${line}`)].join("\n");
    },
    json: ({ pgRestoreLog: _log, ...json }) => json,
    report: (result, context) => buildRestoreReport(result, { ...context, label: result.label }),
};

;// CONCATENATED MODULE: ./src/domain/verify-gates.ts

function storedSize(folder) {
    return folder.objects.find((object) => /\/dump\.(age|pgdump)$/.test(object.key))?.size;
}
function evaluateGates(input) {
    const { manifest, committed, gates } = input;
    const storedBytes = dumpArtifact(manifest).stored.bytes;
    const failures = [];
    const warnings = [];
    const newest = committed[0];
    if (gates.maxAgeSeconds !== undefined && newest) {
        const age = (input.now.getTime() - newest.startedAt.getTime()) / 1000;
        if (age > gates.maxAgeSeconds) {
            failures.push(`the newest backup (${newest.backupId}) is ${formatHours(age)} old, more than max-age ${formatHours(gates.maxAgeSeconds)}`);
        }
    }
    if (gates.minSizeBytes !== undefined && storedBytes < gates.minSizeBytes) {
        failures.push(`the stored object is ${storedBytes} bytes, less than min-size ${gates.minSizeBytes}`);
    }
    if (gates.maxSizeChange !== undefined) {
        const index = committed.findIndex((folder) => folder.backupId === manifest.backupId);
        const previous = index >= 0 ? committed[index + 1] : undefined;
        const previousSize = previous ? storedSize(previous) : undefined;
        if (previous && previousSize && previousSize > 0) {
            const change = (storedBytes - previousSize) / previousSize;
            if (Math.abs(change) > gates.maxSizeChange) {
                const message = `the stored size changed by ${(change * 100).toFixed(1)}% against the previous backup ${previous.backupId} (${previousSize} -> ${storedBytes} bytes), more than max-size-change ${(gates.maxSizeChange * 100).toFixed(0)}%`;
                (gates.sizeChangeAction === "fail" ? failures : warnings).push(message);
            }
        }
    }
    return { failures, warnings };
}
function formatHours(seconds) {
    return seconds >= 3600 ? `${(seconds / 3600).toFixed(1)}h` : `${Math.round(seconds / 60)}m`;
}

;// CONCATENATED MODULE: ./src/postgres/pg-restore-list.ts
/**
 * `pg_restore --list` fed from a stream: the archive's table of contents. pg_restore stops reading
 * once it has the TOC; the sink keeps accepting (and dropping) the rest, so the caller's hashes
 * still see every byte.
 */





function listArchive(pgRestore) {
    const tool = toolSpawn(pgRestore, pgToolEnv(process.env));
    const child = (0,external_node_child_process_.spawn)(tool.path, ["--list"], { stdio: ["pipe", "pipe", "pipe"], env: tool.env });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (text) => (stdout += text));
    child.stderr.setEncoding("utf8").on("data", (text) => (stderr = (stderr + text).slice(-16_384)));
    let stdinOpen = true;
    child.stdin.on("error", () => {
        // EPIPE once pg_restore has read what it needs: expected.
        stdinOpen = false;
    });
    child.stdin.on("close", () => (stdinOpen = false));
    const listing = new Promise((resolve, reject) => {
        child.on("error", (error) => reject(new domain_errors/* OperationError */.OK(`pg_restore could not start: ${error.message}`)));
        child.on("close", (code, signal) => {
            if (code === 0)
                return resolve(stdout);
            const line = stderr
                .split("\n")
                .map((text) => text.trim())
                .filter(Boolean)
                .at(-1) ?? (signal ? `killed by ${signal}` : `exit status ${code}`);
            reject(new domain_errors/* OperationError */.OK(`pg_restore cannot read the archive: ${line}`));
        });
    });
    listing.catch(() => undefined);
    const sink = new external_node_stream_.Writable({
        write(chunk, _encoding, callback) {
            if (!stdinOpen || !child.stdin.writable)
                return callback();
            if (child.stdin.write(chunk))
                return callback();
            const proceed = () => {
                child.stdin.off("drain", proceed);
                child.stdin.off("close", proceed);
                callback();
            };
            child.stdin.once("drain", proceed);
            child.stdin.once("close", proceed);
        },
        final(callback) {
            if (stdinOpen)
                child.stdin.end();
            callback();
        },
        destroy(error, callback) {
            // Also called after a normal finish (autoDestroy): only a failure stops pg_restore.
            if (error && child.exitCode === null && child.signalCode === null)
                child.kill("SIGTERM");
            callback(error);
        },
    });
    return { sink, listing };
}
/**
 * The tables a listing holds data for. Listing lines read `<id>; <oid> <oid> TABLE DATA <schema>
 * <table> <owner>` with names unquoted (they may hold spaces), so a table is found by its prefix.
 */
function missingTableData(listing, tables) {
    const entries = listing
        .split("\n")
        .map((line) => /^\d+; \d+ \d+ TABLE DATA (.*)$/.exec(line)?.[1])
        .filter((entry) => entry !== undefined);
    const listed = (name) => entries.some((entry) => entry === name || entry.startsWith(`${name} `));
    return tables
        .filter(({ schema, table }) => !listed(`${schema} ${table}`))
        .map(({ schema, table }) => `${schema}.${table}`);
}

;// CONCATENATED MODULE: ./src/commands/verify/run.ts
/**
 * verify: the chosen backup against its manifest. Without a key: the stored object's size and
 * sha256, streamed. With one: also decrypted, the plaintext's sha256, and the archive's table of
 * contents read by pg_restore (every table the manifest counts must be in it). Then the gates
 * (max-age, max-size-change, min-size), and a check record beside the backup.
 */







async function runVerify(settings, deps) {
    const { log } = deps;
    const repository = new BackupRepository(deps.store);
    // Only the check record is written: the store is checked for reading, the write then says.
    await repository.check("read");
    // The newest backup even when broken: verify is where the damage is reported.
    const resolved = await repository.resolve(settings.label, settings.backup, { includeBroken: true });
    const { folder, manifest, committed } = resolved;
    for (const skipped of resolved.skipped) {
        log.warn(`backup ${skipped.backupId} is broken and was passed over: ${skipped.problems.join("; ")}`);
    }
    const name = `${settings.label}/${manifest.backupId}`;
    const unencrypted = manifest.encryption.format === "none";
    const deep = unencrypted || settings.keys.identityText !== undefined || settings.keys.passphrase !== undefined;
    // Keys and tools are checked before a byte is downloaded.
    const identities = deep ? identitiesFor(manifest, settings.keys, name) : undefined;
    const pgRestore = deep ? await findPgRestoreFor(manifest, settings, deps) : undefined;
    const kind = deep ? "verify-deep" : "verify";
    log.info(`Verifying ${repository.url}/${name} (${deep ? "decrypt and read the archive" : "stored object only"})`);
    const failures = [];
    const reads = [];
    const dump = dumpArtifact(manifest);
    let tablesListed;
    // One loop over the artifacts: the listing's size first (cheap), then the bytes themselves.
    for (const artifact of manifest.artifacts) {
        const listed = folder.objects.find((object) => object.key === repository.artifactKey(manifest, artifact));
        if (listed?.size !== artifact.stored.bytes) {
            failures.push(`the store holds ${listed?.size ?? "no"} bytes of ${artifact.name}; the manifest says ${artifact.stored.bytes}`);
            if (artifact !== dump)
                continue;
        }
        const listing = artifact === dump && pgRestore ? listArchive(pgRestore) : undefined;
        const read = await readArtifact(repository, manifest, artifact, identities, {
            ...(listing ? { sink: listing.sink } : {}),
        });
        reads.push(read);
        failures.push(...read.problems.filter((problem) => !failures.includes(problem)));
        if (listing) {
            try {
                const text = await listing.listing;
                tablesListed = manifest.tables.length;
                const missing = missingTableData(text, manifest.tables);
                if (missing.length > 0)
                    failures.push(`the archive has no data for ${missing.join(", ")}`);
            }
            catch (error) {
                if (failures.length === 0)
                    failures.push((0,domain_errors/* describeError */.Uc)(error));
            }
        }
    }
    const now = deps.now();
    const gates = evaluateGates({ manifest, committed, now, gates: settings.gates });
    failures.push(...gates.failures);
    for (const warning of gates.warnings)
        log.warn(warning);
    const verified = failures.length === 0;
    const dumpRead = reads.find((read) => read.artifact === dump);
    const checkKey = await repository
        .writeCheckRecord({
        kind,
        label: settings.label,
        backupId: manifest.backupId,
        passed: verified,
        artifacts: checkedArtifacts(reads),
        failures,
        warnings: gates.warnings,
        details: {
            deep,
            storedBytes: dumpRead?.stored?.bytes ?? null,
            storedSha256: dumpRead?.stored?.sha256 ?? null,
            plaintextBytes: dumpRead?.plaintext?.bytes ?? null,
            plaintextSha256: dumpRead?.plaintext?.sha256 ?? null,
            tablesListed: tablesListed ?? null,
        },
    }, now)
        .catch((error) => {
        throw error instanceof domain_errors/* LifeboatError */.H3
            ? error
            : new domain_errors/* OperationError */.OK(`writing the check record failed: ${(0,domain_errors/* describeError */.Uc)(error)}`);
    });
    return {
        verified,
        kind,
        backupId: manifest.backupId,
        backupAgeSeconds: Math.round((now.getTime() - Date.parse(manifest.startedAt)) / 1000),
        storedBytes: dump.stored.bytes,
        tablesListed,
        failures,
        warnings: gates.warnings,
        checkKey,
    };
}
/** What a check read, as it found it: the artifacts read to the end, with their stored digest. */
function checkedArtifacts(reads) {
    return reads.flatMap((read) => read.stored ? [{ name: read.artifact.name, bytes: read.stored.bytes, sha256: read.stored.sha256 }] : []);
}
/** The one-line error for a failed verification, or undefined when it passed. */
function verifyFailureMessage(result) {
    if (result.verified)
        return undefined;
    const more = result.failures.length > 1 ? ` (and ${result.failures.length - 1} more)` : "";
    return `backup ${result.backupId} failed verification: ${result.failures[0]}${more}`;
}

;// CONCATENATED MODULE: ./src/commands/verify/definition.ts
/** verify (the verify-backup action): a backup against its manifest, plus freshness and size gates. */




const verifyCommand = {
    spec: commandSpec("verify"),
    parse: parseVerifySettings,
    storage: (settings) => settings,
    run: (settings, deps) => runVerify(settings, deps),
    failure: verifyFailureMessage,
    outputs: (result, failure) => ({
        verified: result.verified,
        "backup-id": result.backupId,
        "backup-age-seconds": result.backupAgeSeconds,
        "stored-bytes": result.storedBytes,
        reason: failure ?? "",
    }),
    text: (result) => result.verified
        ? `${result.backupId}: verified (${result.kind === "verify-deep" ? "decrypted, archive readable" : "stored object"})`
        : result.failures.map((line) => `${result.backupId}: ${line}`).join("\n"),
    json: (result) => ({ ...result }),
    report: (result, context) => buildVerifyReport(result, context),
};

;// CONCATENATED MODULE: ./src/commands/index.ts
/**
 * Every command, in the order `lifeboat --help` lists them. A new command is a folder with a
 * definition.ts and one entry here (plus an entry under src/actions/ if it has an action).
 */








const COMMAND_DEFINITIONS = [
    backupCommand,
    listCommand,
    pruneCommand,
    verifyCommand,
    restoreTestCommand,
    restoreCommand,
    doctorCommand,
    keygenCommand,
];

;// CONCATENATED MODULE: ./src/domain/redact.ts
/**
 * Secrets out of every output: error lines, --json, check records, reports, the runner's log.
 *
 * A secret rarely shows up as written. A password with `/`, `@` or `%` in it appears
 * percent-encoded in a URL (and each URL serializer encodes a different set of characters: `new
 * URL()`'s userinfo set, encodeURIComponent, a form's `+` for a space, lower- or upper-case hex),
 * JSON-escaped inside a JSON document (`\"`, `\\`, `\n`, `\u00e9`), or both at once (a URL inside
 * a JSON error inside a JSON record). So the redactor does not compare strings: for each character
 * of the secret it accepts every spelling of that character (itself, the percent-encoding of its
 * UTF-8 bytes in either case, `+` for a space, its JSON escapes), so any mixture of them matches.
 * Multi-line secrets (an age identity file) are matched line by line.
 *
 * base64 is covered for the runner's mask and the redactor as the three "cores" of the secret's
 * encoding (one per byte alignment), which appear verbatim whatever precedes the secret (a
 * `user:` in Basic auth, say); cores shorter than 8 characters are left out, they would match
 * ordinary words. No Lifeboat output base64-encodes a secret today: this is a safety net.
 *
 * Secrets (and lines) shorter than MIN_SECRET_LENGTH are not matched in free text: replacing every
 * "ab" would make every message unreadable. The password of any URL is still redacted by shape.
 */
/** Shorter secrets are only redacted by shape (a URL's password, a password= parameter). */
const redact_MIN_SECRET_LENGTH = 4;
const MIN_BASE64_CORE = 8;
const MASK = "***";
/** The secret itself, then each of its lines (an identity file), trimmed, long enough to match. */
function pieces(secret) {
    const out = new Set();
    const lines = secret.split(/\r?\n/).map((line) => line.trim());
    if (lines.length === 1) {
        out.add(secret);
        out.add(secret.trim());
    }
    for (const line of lines)
        out.add(line);
    // A secret connection URL carries secrets of its own that show up apart from it.
    for (const piece of [...out])
        for (const inner of redact_urlSecrets(piece))
            out.add(inner);
    return [...out].filter((piece) => [...piece].length >= redact_MIN_SECRET_LENGTH);
}
/** The password (as written and decoded) and password-like query parameters of a URL. */
function redact_urlSecrets(text) {
    let url;
    try {
        url = new URL(text.trim());
    }
    catch {
        return [];
    }
    const found = [];
    if (url.password) {
        found.push(url.password);
        try {
            found.push(decodeURIComponent(url.password));
        }
        catch {
            // Not valid percent-encoding: kept as written above.
        }
    }
    for (const [key, value] of url.searchParams)
        if (SECRET_PARAM_KEY.test(key) && value)
            found.push(value);
    return found;
}
function hexByte(byte, lower) {
    const hex = byte.toString(16).padStart(2, "0");
    return `%${lower ? hex : hex.toUpperCase()}`;
}
function percentEncode(text, keep, lower = false) {
    let out = "";
    for (const char of text) {
        if (keep(char))
            out += char;
        else
            for (const byte of Buffer.from(char, "utf8"))
                out += hexByte(byte, lower);
    }
    return out;
}
/** The WHATWG URL serializer's userinfo encoding, as `new URL()` writes a password. */
function userinfoForm(text) {
    const url = new URL("postgresql://host/");
    url.username = "u";
    url.password = text;
    return url.password;
}
/** What a URL parser leaves of raw text in a query string (the query percent-encode set). */
function queryForm(text) {
    return percentEncode(text, (char) => char > " " && char <= "~" && !`"#<>'`.includes(char));
}
function safely(encode) {
    try {
        return [encode()];
    }
    catch {
        // A lone surrogate: encodeURIComponent throws; the other forms still apply.
        return [];
    }
}
/** The base64 of the secret's whole 3-byte groups, for each of the three alignments. */
function base64Cores(text) {
    const bytes = Buffer.from(text, "utf8");
    const cores = [];
    for (let start = 0; start < 3; start++) {
        const whole = Math.floor((bytes.length - start) / 3) * 3;
        if (whole <= 0)
            continue;
        const core = bytes.subarray(start, start + whole).toString("base64");
        if (core.length < MIN_BASE64_CORE)
            continue;
        cores.push(core, core.replaceAll("+", "-").replaceAll("/", "_"));
    }
    return cores;
}
/**
 * Every concrete form of `secret` worth registering with the runner's mask (core.setSecret): each
 * is one line, at least MIN_SECRET_LENGTH long. The redactor below matches more (any mixture of
 * these spellings), but the runner's mask compares plain strings.
 */
function secretForms(secret) {
    const forms = new Set();
    for (const piece of pieces(secret)) {
        const json = JSON.stringify(piece).slice(1, -1);
        const candidates = [
            piece,
            json,
            JSON.stringify(json).slice(1, -1),
            userinfoForm(piece),
            queryForm(piece),
            new URLSearchParams({ p: piece }).toString().slice(2),
            ...safely(() => encodeURIComponent(piece)),
            ...safely(() => encodeURIComponent(piece).replaceAll("%20", "+")),
            ...safely(() => encodeURI(piece)),
            ...base64Cores(piece),
        ];
        for (const form of candidates) {
            forms.add(form);
            // Percent-encoders differ in the case of their hex digits.
            forms.add(form.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()));
        }
    }
    return [...forms].filter((form) => form.length >= redact_MIN_SECRET_LENGTH && !/[\r\n]/.test(form));
}
function escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}
/** A hex digit in either case. */
function hexDigit(digit) {
    const lower = digit.toLowerCase();
    const upper = digit.toUpperCase();
    return lower === upper ? digit : `[${lower}${upper}]`;
}
function hexPattern(hex) {
    return [...hex].map(hexDigit).join("");
}
const JSON_SHORT_ESCAPES = {
    '"': '"',
    "\\": "\\",
    "/": "/",
    "\n": "n",
    "\r": "r",
    "\t": "t",
    "\b": "b",
    "\f": "f",
};
/**
 * Every spelling of one character: JSON-escaped (first, so that the longest spelling wins),
 * percent-encoded in either case, `+` for a space, itself.
 */
function charPattern(char) {
    const options = [];
    // JSON escapes, nested any number of times (a JSON string inside a JSON string doubles the
    // backslashes): one or more backslashes before the escape.
    const short = JSON_SHORT_ESCAPES[char];
    if (short !== undefined)
        options.push(`\\\\+${escapeRegExp(short)}`);
    const units = [];
    for (let i = 0; i < char.length; i++)
        units.push(char.charCodeAt(i).toString(16).padStart(4, "0"));
    options.push(units.map((unit) => `\\\\+u${hexPattern(unit)}`).join(""));
    const bytes = Buffer.from(char, "utf8");
    options.push([...bytes].map((byte) => `%${hexPattern(byte.toString(16).padStart(2, "0"))}`).join(""));
    if (char === " ")
        options.push("\\+");
    options.push(escapeRegExp(char));
    return `(?:${options.join("|")})`;
}
function secretPattern(piece) {
    return [...piece].map(charPattern).join("");
}
/** URL credentials (any scheme): `scheme://user:SECRET@` keeps the user, drops the password. */
// The password runs to the authority's last `@`: a raw `@` in it must not leave its tail behind.
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@?#"'<>]*):[^\s/?#"'<>]*@/gi;
/** Names of secret-bearing parameters in URLs, libpq connection strings and the like. */
const SECRET_PARAM_NAME = "(?:ssl)?passw(?:or)?d|pwd|pass|passphrase|secret|token|access_token|api_?key|x-amz-(?:signature|security-token|credential)";
const SECRET_PARAM_KEY = new RegExp(`^(?:${SECRET_PARAM_NAME})$`, "i");
/** `name=value` (a libpq conninfo value may be quoted), after a separator. */
const SECRET_PARAMS = new RegExp(`(^|[?&;\\s"'(,])(${SECRET_PARAM_NAME})=('(?:[^'\\\\]|\\\\.)*'|[^\\s&"'#<>,)]*)`, "gi");
/**
 * A function that replaces every form of each secret in a text by `***`, and any URL's password
 * and any `password=`-like parameter whatever its value.
 */
function createRedactor(secrets) {
    const patterns = new Set();
    const literals = new Set();
    for (const secret of secrets) {
        for (const piece of pieces(secret)) {
            patterns.add(secretPattern(piece));
            for (const core of base64Cores(piece))
                literals.add(core);
        }
    }
    // Longest first, so that a secret containing another is replaced whole.
    const sources = [
        ...[...patterns].sort((a, b) => b.length - a.length),
        ...[...literals].sort((a, b) => b.length - a.length).map(escapeRegExp),
    ];
    const any = sources.length > 0 ? new RegExp(sources.join("|"), "g") : undefined;
    return (text) => {
        let out = any ? text.replace(any, MASK) : text;
        out = out.replace(URL_CREDENTIALS, `$1:${MASK}@`);
        out = out.replace(SECRET_PARAMS, (_match, lead, name, value) => value === MASK || value === "" ? `${lead}${name}=${value}` : `${lead}${name}=${MASK}`);
        return out;
    };
}
/**
 * A URL safe to show: no user info, secret-bearing query parameters masked. Text that does not
 * parse as a URL gets the redactor's shape rules (a `user:password@` anywhere in it).
 */
function redactUrl(text) {
    let url;
    try {
        url = new URL(text);
    }
    catch {
        return createRedactor([])(text);
    }
    url.username = "";
    url.password = "";
    for (const key of [...url.searchParams.keys()]) {
        if (SECRET_PARAM_KEY.test(key))
            url.searchParams.set(key, MASK);
    }
    return url.toString();
}
/**
 * A copy of a JSON-able value with every string (keys too) redacted: for --json output and check
 * records. Values with toJSON (Dates) are taken as JSON would take them; Error objects as their
 * name and message; cycles become "[Circular]".
 */
function redactDeep(value, redact) {
    const seen = new WeakSet();
    const walk = (input) => {
        if (typeof input === "string")
            return redact(input);
        if (input === null || typeof input !== "object")
            return input;
        if (seen.has(input))
            return "[Circular]";
        seen.add(input);
        try {
            if (input instanceof Error) {
                return { ...walkObject(input), name: redact(input.name), message: redact(input.message) };
            }
            const json = input.toJSON;
            if (typeof json === "function")
                return walk(json.call(input));
            if (Array.isArray(input))
                return input.map(walk);
            return walkObject(input);
        }
        finally {
            seen.delete(input);
        }
    };
    const walkObject = (input) => {
        const out = {};
        for (const [key, item] of Object.entries(input))
            out[redact(key)] = walk(item);
        return out;
    };
    return walk(value);
}

;// CONCATENATED MODULE: ./src/report/channels/deliver.ts



/** Every secret the configured channels hold, for the edge's masking and scrubbing. */
function channelSecrets(settings) {
    return settings.channels.flatMap((channel) => channel.secrets);
}
function contextOf(settings, options) {
    return {
        scrub: scrubber([...channelSecrets(settings), ...(options.secrets ?? [])]),
        poster: { ...options.poster, ...(options.fetch ? { fetch: options.fetch } : {}) },
        now: options.now ?? (() => new Date()),
    };
}
async function attempt(channel, noun, work, context, log) {
    let outcome;
    try {
        outcome = await work();
    }
    catch (error) {
        outcome = { ok: false, attempts: 0, error: (0,domain_errors/* describeError */.Uc)(error) };
    }
    if (outcome === null)
        return { channel: channel.name, status: "skipped", attempts: 0 };
    if (outcome.ok) {
        log.info(`${noun} sent${outcome.attempts > 1 ? ` (after ${outcome.attempts} attempts)` : ""}.`);
        return { channel: channel.name, status: "sent", attempts: outcome.attempts };
    }
    log.warn(context.scrub(`Lifeboat could not send the ${noun} (${outcome.attempts} attempt(s)): ${outcome.error ?? "unknown error"}`));
    return { channel: channel.name, status: "failed", attempts: outcome.attempts };
}
/**
 * Sends the report to every configured channel: messages when notify-on asks for this verdict,
 * heartbeats always. Resolves when all are done; never rejects.
 */
async function deliverToChannels(report, settings, options) {
    const context = contextOf(settings, options);
    return Promise.all(settings.channels.map((channel) => {
        if (channel.followsNotifyOn && !shouldNotify(settings.notifyOn, report.verdict)) {
            return { channel: channel.name, status: "skipped", attempts: 0 };
        }
        return attempt(channel, channel.noun, () => channel.send(report, context), context, options.log);
    }));
}
/** The start hooks (heartbeat /start), before the command runs. Never rejects. */
async function pingStart(settings, start, options) {
    const context = contextOf(settings, options);
    return Promise.all(settings.channels
        .filter((channel) => channel.onStart)
        .map((channel) => attempt(channel, `${channel.noun} (start)`, () => channel.onStart(start, context), context, options.log)));
}

;// CONCATENATED MODULE: ./src/settings/report-settings.ts



const REPORT = {
    commentOnPr: OPTIONS.commentOnPr,
    githubToken: OPTIONS.githubToken,
    reportArtifact: OPTIONS.reportArtifact,
};
/** notify-on and the channels: all that the CLI reports with. */
function parseChannelSettings(raw) {
    return readChannelSettings(raw);
}
function parseReportSettings(raw) {
    return { ...readOptions(raw, REPORT), ...parseChannelSettings(raw) };
}

;// CONCATENATED MODULE: ./src/cli/args.ts
/**
 * The CLI's flags, derived from the option table: `--name value` for strings (also --name=value),
 * repeatable for lists, bare for booleans; the environment fills what the flags leave out. A flag
 * given with an empty value is refused: the user typed it, so the default is not what they meant
 * (in an action an empty input cannot be told from a missing one, and means the default).
 */



function cliOptions(spec) {
    return [...spec.options.filter((option) => !option.actionOnly), ...GLOBAL_CLI_OPTIONS];
}
function parseCommandArgs(spec, argv, env) {
    const options = cliOptions(spec);
    let parsed;
    try {
        parsed = (0,external_node_util_.parseArgs)({
            args: argv,
            allowPositionals: false,
            strict: true,
            options: Object.fromEntries(options.map((option) => [
                option.name,
                { type: option.type === "boolean" ? "boolean" : "string", multiple: option.type === "list" },
            ])),
        });
    }
    catch (error) {
        throw new domain_errors/* InputError */.dz(`${cleanParseError(error, options)}; see lifeboat ${spec.command} --help`);
    }
    const raw = { ...parsed.values };
    for (const option of options)
        refuseEmpty(option, raw[option.name]);
    for (const option of spec.options) {
        // An empty environment variable counts as unset, as a shell user would expect.
        const fromEnv = option.env ? env[option.env]?.trim() || undefined : undefined;
        // Secrets that only the action takes as inputs reach the CLI through their environment variable.
        if (fromEnv !== undefined && (option.actionOnly || raw[option.name] === undefined)) {
            raw[option.name] = env[option.env];
        }
        if (raw[option.name] === undefined && option.cliDefault !== undefined) {
            raw[option.name] = option.cliDefault;
        }
    }
    return raw;
}
/** `--label ""`, `--storage=`: exit 2 naming the option, never a silent default. */
function refuseEmpty(option, value) {
    const values = typeof value === "string" ? [value] : Array.isArray(value) ? value : [];
    if (!values.some((item) => item.trim() === ""))
        return;
    const fallback = option.cliDefault ?? option.default;
    const instead = fallback === undefined ? "leave the option out" : `leave the option out for the default "${fallback}"`;
    throw new domain_errors/* InputError */.dz(`--${option.name} "": expected a value, or ${instead}`, { input: option.name });
}
function cleanParseError(error, options) {
    const message = error.message.split("\n")[0];
    const unknown = /Unknown option '(--?[^']+)'/.exec(message);
    if (unknown) {
        const name = unknown[1].replace(/^-+/, "");
        const close = closest(name, options.map((option) => option.name));
        return `unknown option ${unknown[1]}${close ? ` (did you mean --${close}?)` : ""}`;
    }
    const positional = /Unexpected argument '([^']+)'/.exec(message);
    if (positional)
        return `unexpected argument "${positional[1]}" (options take the form --name value)`;
    const ambiguous = /Option '(--[^ ']+)[^']*' argument is ambiguous/.exec(message);
    if (ambiguous) {
        return `${ambiguous[1]}: a value that starts with "-" must be attached with "=", as in ${ambiguous[1]}="-value"`;
    }
    const missing = /Option '(--[^ ']+)[^']*' argument missing/.exec(message);
    if (missing)
        return `${missing[1]}: a value is required`;
    return message.replace(/^TypeError \[[A-Z_]+\]: /, "");
}
/** The candidate within two edits of `text`, for "did you mean" hints. */
function closest(text, candidates) {
    return candidates
        .map((candidate) => ({ candidate, distance: editDistance(candidate, text) }))
        .filter((entry) => entry.distance <= 2)
        .sort((a, b) => a.distance - b.distance)[0]?.candidate;
}
function editDistance(a, b) {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
        let previous = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const current = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
            previous = current;
        }
    }
    return row[b.length];
}
function commandHelp(spec) {
    const lines = [`Usage: lifeboat ${spec.command} [options]`, "", spec.summary, "", "Options:"];
    for (const option of cliOptions(spec)) {
        const head = option.type === "boolean" ? `--${option.name}` : `--${option.name} ${option.value ?? "VALUE"}`;
        const notes = [];
        const fallback = option.cliDefault ?? option.default;
        if (option.env)
            notes.push(`env ${option.env}`);
        if (fallback !== undefined && option.type !== "boolean")
            notes.push(`default "${fallback}"`);
        if (option.type === "list")
            notes.push("repeatable");
        const description = describeOption(option) + (notes.length ? ` [${notes.join("; ")}]` : "");
        lines.push(`  ${head.padEnd(34)} ${description}`);
    }
    const hidden = spec.options.filter((option) => option.actionOnly && option.env);
    if (hidden.length) {
        lines.push("", "Environment:");
        for (const option of hidden)
            lines.push(`  ${option.env.padEnd(34)} ${describeOption(option)}`);
    }
    lines.push("", "Exit codes: 0 success, 1 the operation ran and failed, 2 bad input or configuration.");
    return lines.join("\n");
}

;// CONCATENATED MODULE: ./src/cli/main.ts
/**
 * `lifeboat <command> [options]`: the CLI runner over the command definitions (src/commands/), the
 * same ones the actions run. One JSON object on stdout with --json; progress on stderr; errors are
 * one line (a stack trace only with --debug).
 */














function mainHelp() {
    const specs = COMMAND_DEFINITIONS.map((command) => command.spec);
    const width = Math.max(...specs.map((spec) => spec.command.length));
    return [
        "Usage: lifeboat <command> [options]",
        "",
        "Encrypted, verified PostgreSQL backups in S3 or a local directory.",
        "",
        "Commands:",
        ...specs.map((spec) => `  ${spec.command.padEnd(width)}  ${spec.summary}`),
        "",
        "Run lifeboat <command> --help for its options.",
    ].join("\n");
}
function findCommand(name) {
    const command = COMMAND_DEFINITIONS.find((candidate) => candidate.spec.command === name);
    if (command)
        return command;
    const names = COMMAND_DEFINITIONS.map((candidate) => candidate.spec.command);
    const close = closest(name, names);
    throw new domain_errors/* InputError */.dz(`unknown command "${name}"${close ? ` (did you mean ${close}?)` : ""}; expected one of ${names.join(", ")}`);
}
/** How often long work logs a progress line, from LIFEBOAT_PROGRESS_SECONDS (tests set it low). */
function progressEveryMs(env) {
    const every = Number(env.LIFEBOAT_PROGRESS_SECONDS);
    return every > 0 ? every * 1000 : undefined;
}
async function main(io) {
    const [name, ...rest] = io.argv;
    const wantsJson = rest.includes("--json");
    const debug = rest.includes("--debug");
    // Until the options are read, URL passwords are still caught by their shape.
    let redact = createRedactor([]);
    const stdout = (text) => io.stdout(redact(text));
    const stderr = (text) => io.stderr(redact(text));
    const loggedWarnings = [];
    const log = {
        info: (message) => stderr(message),
        warn: (message) => {
            loggedWarnings.push(message);
            stderr(`warning: ${message}`);
        },
    };
    try {
        if (name === undefined || name === "--help" || name === "-h" || name === "help") {
            stdout(mainHelp());
            return name === undefined ? 2 : 0;
        }
        if (name === "--version" || name === "-V") {
            io.stdout(LIFEBOAT_VERSION);
            return 0;
        }
        const command = findCommand(name);
        if (rest.includes("--help") || rest.includes("-h")) {
            io.stdout(commandHelp(command.spec));
            return 0;
        }
        const raw = parseCommandArgs(command.spec, rest, io.env);
        const secrets = secretValues(command.spec, raw);
        redact = createRedactor(secrets);
        const every = progressEveryMs(io.env);
        const outcome = await withChannels(command, raw, io, { log, secrets, loggedWarnings }, () => executeCommand(command, raw, {
            env: io.env,
            cwd: io.cwd,
            now: () => new Date(),
            log,
            signal: io.signal ?? new AbortController().signal,
            ...(every ? { progressEveryMs: every } : {}),
        }));
        const shown = { storageUrl: outcome.store?.url, settings: outcome.settings };
        const { failure } = outcome;
        if (wantsJson) {
            const head = failure ? { ok: false, exitCode: failure.exitCode, error: failure.message } : { ok: true };
            io.stdout(JSON.stringify(redactDeep({ ...head, ...command.json(outcome.result, shown) }, redact)));
        }
        else {
            const text = command.text(outcome.result, shown);
            if (text)
                stdout(text);
        }
        // A command that ran and failed (a verification that did not pass, keys prune could not
        // delete) printed its whole result above; then the one-line error.
        if (failure) {
            stderr(`lifeboat: error: ${failure.message}`);
            return failure.exitCode;
        }
        return 0;
    }
    catch (error) {
        // Whatever a cancelled command threw, the run ends with the signal's conventional code.
        const cancelled = io.signal?.aborted && io.signal.reason instanceof signals/* CancelledError */.c;
        const exitCode = cancelled
            ? io.signal.reason.exitCode
            : error instanceof domain_errors/* LifeboatError */.H3
                ? error.exitCode
                : 1;
        const message = (0,domain_errors/* describeError */.Uc)(error);
        if (wantsJson)
            stdout(JSON.stringify({ ok: false, exitCode, error: message }));
        stderr(`lifeboat: error: ${message}`);
        if (debug && error instanceof Error && error.stack)
            stderr(error.stack);
        return exitCode;
    }
}
/**
 * The notification channels around a command that reports (one with a report and the channel
 * options): their options are read before it runs (a bad one is exit 2), their start hooks (pings)
 * run before it, and its report, or the error it threw, is delivered after it. Delivery never
 * changes the exit code.
 */
async function withChannels(command, raw, io, delivery, run) {
    const { spec } = command;
    if (!spec.action ||
        !command.report ||
        !spec.options.some((option) => option.name === NOTIFY_ON_OPTION.name)) {
        return run();
    }
    const action = spec.action;
    const channels = parseChannelSettings(raw);
    const context = {
        label: givenText(raw, OPTIONS.label) ?? OPTIONS.label.default,
        runUrl: provenanceFromEnv(io.env)?.runUrl ?? null,
        loggedWarnings: delivery.loggedWarnings,
    };
    await pingStart(channels, { action, label: context.label }, delivery);
    let outcome;
    try {
        outcome = await run();
    }
    catch (error) {
        await deliverToChannels(buildErrorReport(action, error, context), channels, delivery);
        throw error;
    }
    const report = command.report(outcome.result, { ...context, storageUrl: outcome.store?.url ?? "" });
    await deliverToChannels(report, channels, delivery);
    return outcome;
}


/***/ }),

/***/ 241:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   H3: () => (/* binding */ LifeboatError),
/* harmony export */   OK: () => (/* binding */ OperationError),
/* harmony export */   Uc: () => (/* binding */ describeError),
/* harmony export */   dz: () => (/* binding */ InputError),
/* harmony export */   m_: () => (/* binding */ NotFoundError)
/* harmony export */ });
/**
 * The two kinds of failure a user sees, and the exit code each maps to.
 *
 * InputError: the input or configuration is wrong (exit 2). Raised before anything is written or
 * deleted, with a message that names the input and what was expected.
 * OperationError: the operation ran and failed (exit 1): pg_dump died, the store went away, a
 * verification did not pass.
 */
class LifeboatError extends Error {
    exitCode = 1;
    constructor(message, options) {
        super(message, options);
        this.name = new.target.name;
    }
}
class InputError extends LifeboatError {
    exitCode = 2;
    /** The input (flag / action input name, without dashes) that was wrong, when there is one. */
    input;
    constructor(message, options) {
        super(message, options);
        this.input = options?.input;
    }
}
class OperationError extends LifeboatError {
    exitCode = 1;
}
/** The object or key asked for does not exist. */
class NotFoundError extends LifeboatError {
}
/** One line of text from any thrown value, for messages that quote a lower layer's error. */
function describeError(error) {
    if (error instanceof Error) {
        const text = error.message || error.name;
        return text.split("\n").find((line) => line.trim() !== "") ?? error.name;
    }
    return String(error);
}


/***/ })

};
