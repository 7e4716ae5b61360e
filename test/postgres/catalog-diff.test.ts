/**
 * The catalog comparison's classification rules, on hand-built fingerprints: what is a failure,
 * what is a warning under which restore conditions, and the order and wording of the lines.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CATALOG_FINGERPRINT_VERSION,
  DEFAULT_CONDITIONS,
  REASONS,
  aclByObject,
  diffCatalog,
  referencedRoles,
  formatDifference,
  type CatalogFingerprint,
  type RestoreConditions,
} from "../../src/domain/catalog-diff.js";

function fingerprint(): CatalogFingerprint {
  return {
    version: CATALOG_FINGERPRINT_VERSION,
    globals: true,
    database: { encoding: "UTF8", collate: "C", ctype: "C", settings: ["work_mem=8MB"], roleSettings: {} },
    schemas: ["app", "public"],
    tables: { app: ["orders", "orders_2025"] },
    partitionedTables: { app: ["events"] },
    views: {},
    materializedViews: {},
    foreignTables: {},
    sequences: { app: { order_no: "120", countdown: "-5", fresh: "next 1", hidden: null } },
    descendingSequences: ["app.countdown"],
    partitionOf: { "app.orders_2025": "app.events FOR VALUES IN ('2025')" },
    inherits: {},
    constraints: { app: { orders: ["p", "f orders_customer_fkey"] } },
    indexes: {},
    triggers: { "app.orders": ["audit"] },
    rowSecurity: { "app.orders": "enabled" },
    policies: { "app.orders": { mine: "permissive SELECT TO auditor,reporting" } },
    functions: { app: ["total(int4)"] },
    types: { app: { mood: "enum(sad,happy)" } },
    extensions: { plpgsql: "1.0", postgres_fdw: "1.1" },
    casts: { "app.mood AS int4": "function app.score assignment" },
    foreignDataWrappers: ["postgres_fdw"],
    foreignServers: { loopback: "postgres_fdw" },
    userMappings: ["reporting@loopback"],
    eventTriggers: { log_ddl: "ddl_command_end enabled" },
    publications: {
      everything: { allTables: true, operations: "insert,update", tables: [], schemas: [] },
      orders: { allTables: false, operations: "insert", tables: ["app.orders"], schemas: [] },
    },
    defaultAcls: { "app_owner in app on tables": ["reporting=r"] },
    acl: {
      "reporting=r": { "table app.": ["orders"] },
      'reporting=X "etl writer"=X': { "function app.": ["total(int4)"] },
    },
    owner: "postgres",
    owners: { "table app.orders": "app_owner" },
    largeObjects: { count: 2, owners: { postgres: 2 }, acl: { "16400": ["reporting=r"] } },
  };
}

function diff(
  change: (fp: CatalogFingerprint) => void,
  conditions: Partial<RestoreConditions> = {},
): string[] {
  const restored = fingerprint();
  change(restored);
  return diffCatalog(fingerprint(), restored, {
    ...DEFAULT_CONDITIONS,
    databaseSettingsRestored: true,
    ...conditions,
  }).differences.map(formatDifference);
}

test("identical fingerprints: no difference", () => {
  assert.deepEqual(
    diff(() => undefined),
    [],
  );
});

test("grouped ACLs read back per object, quoted grantees kept whole", () => {
  const acl = aclByObject(fingerprint());
  assert.deepEqual(acl.get("function app.total(int4)"), ["reporting=X", '"etl writer"=X']);
  assert.deepEqual(acl.get("table app.orders"), ["reporting=r"]);
});

test("a lost table is one failure; its details are not listed again", () => {
  assert.deepEqual(
    diff((fp) => {
      fp.tables.app = ["orders_2025"];
      delete fp.constraints.app;
      delete fp.triggers["app.orders"];
      delete fp.rowSecurity["app.orders"];
      delete fp.policies["app.orders"];
      fp.acl = { 'reporting=X "etl writer"=X': { "function app.": ["total(int4)"] } };
      fp.owners = {};
      fp.publications.orders!.tables = [];
    }),
    ["failure: publication orders: member table app.orders missing", "failure: table app.orders: missing"],
  );
});

test("a lost constraint, trigger, policy, partition bound, enum label: each a failure naming it", () => {
  assert.deepEqual(
    diff((fp) => {
      fp.constraints.app!.orders = ["f orders_customer_fkey"];
      fp.triggers = {};
      fp.policies = {};
      fp.partitionOf = {};
      fp.types.app!.mood = "enum(sad)";
      fp.rowSecurity = {};
    }),
    [
      "failure: constraint p orders_pkey on app.orders: missing",
      "failure: policy mine on app.orders: missing (permissive SELECT TO auditor,reporting)",
      "failure: table app.orders: row security enabled missing",
      "failure: table app.orders_2025: partition of app.events FOR VALUES IN ('2025') missing",
      "failure: trigger audit on app.orders: missing",
      "failure: type app.mood: enum(sad), the source's is enum(sad,happy)",
    ],
  );
});

test("sequences: behind is a failure, ahead (in the sequence's direction) a warning; unreadable ones are not compared", () => {
  assert.deepEqual(
    diff((fp) => {
      fp.sequences.app = { order_no: "119", countdown: "-9", fresh: "1", hidden: "7" };
    }),
    [
      "failure: sequence app.order_no: value 119, the source's was 120",
      `warning: sequence app.countdown: value -9, the source's was -5 (${REASONS.sequenceAdvanced})`,
      `warning: sequence app.fresh: value 1, the source's was next 1 (${REASONS.sequenceAdvanced})`,
    ],
  );
  assert.deepEqual(
    diff((fp) => {
      fp.sequences.app = { order_no: null, countdown: "-1", fresh: "next 2", hidden: null };
    }),
    [
      "failure: sequence app.countdown: value -1, the source's was -5",
      "failure: sequence app.order_no: value not restored (the source's was 120)",
      `warning: sequence app.fresh: value next 2, the source's was next 1 (${REASONS.sequenceAdvanced})`,
    ],
  );
});

test("grants: a lost one fails, a lost revoke fails, unless --no-privileges or the grantee could not be created", () => {
  const lose = (fp: CatalogFingerprint) => {
    fp.acl = { "reporting=X": { "function app.": ["total(int4)"] } };
  };
  assert.deepEqual(diff(lose), [
    'failure: function app.total(int4): grant "etl writer"=X missing',
    "failure: table app.orders: grant reporting=r missing",
  ]);
  assert.deepEqual(diff(lose, { missingRoles: ["etl writer"] }), [
    "failure: table app.orders: grant reporting=r missing",
    `warning: function app.total(int4): grant "etl writer"=X missing (${REASONS.missingRole("etl writer")})`,
  ]);
  assert.deepEqual(diff(lose, { noPrivileges: true }), [
    `warning: function app.total(int4): grant "etl writer"=X missing (${REASONS.noPrivileges})`,
    `warning: table app.orders: grant reporting=r missing (${REASONS.noPrivileges})`,
  ]);
  // A function absent from the ACL map has the built-in default: PUBLIC may execute it.
  assert.deepEqual(
    diff((fp) => {
      fp.acl = { "reporting=r": { "table app.": ["orders"] } };
    }),
    [
      'failure: function app.total(int4): grant "etl writer"=X missing',
      "failure: function app.total(int4): grant PUBLIC=X not in the source (a revoke was lost)",
      "failure: function app.total(int4): grant reporting=X missing",
    ],
  );
});

test("owners: a failure for a superuser restore; a warning under --no-owner, a missing role or a restorer that is not a superuser", () => {
  const change = (fp: CatalogFingerprint) => {
    fp.owners = {};
  };
  assert.deepEqual(diff(change), [
    "failure: table app.orders: owned by postgres, the source's owner is app_owner",
  ]);
  assert.deepEqual(diff(change, { missingRoles: ["app_owner"] }), [
    `warning: table app.orders: owned by postgres, the source's owner is app_owner (${REASONS.missingRole("app_owner")})`,
  ]);
  const restoredBy = (fp: CatalogFingerprint) => {
    fp.owner = "restorer";
    fp.owners = {};
    fp.largeObjects.owners = { restorer: 2 };
  };
  assert.deepEqual(diff(restoredBy, { noOwner: true, restorer: "restorer" }), [
    `warning: large objects owned by postgres: 0, the source had 2 (${REASONS.noOwner})`,
    `warning: objects owned by postgres in the source: owned by restorer (the objects listed apart excepted) (${REASONS.noOwner})`,
    `warning: table app.orders: owned by restorer, the source's owner is app_owner (${REASONS.noOwner})`,
  ]);
});

test("objects missing from the restored side that change its usual owner are not reported as an owner change", () => {
  // The source's objects mostly belong to postgres; restored without most of them (an extension
  // the scratch server lacks took its tables along), the rest mostly belong to app_owner, yet
  // every object both sides have kept its owner.
  const lost = (fp: CatalogFingerprint) => {
    fp.tables = { app: ["orders"] };
    fp.partitionedTables = {};
    fp.sequences = {};
    fp.functions = {};
    fp.types = {};
    fp.publications = {};
    fp.eventTriggers = {};
    fp.foreignServers = {};
    fp.schemas = ["app"];
    fp.owner = "app_owner";
    fp.owners = { "schema app": "postgres", "foreign-data wrapper postgres_fdw": "postgres" };
  };
  const lines = diff(lost);
  assert.ok(lines.length > 0);
  assert.deepEqual(
    lines.filter((line) => line.includes("owned by")),
    [],
  );
  // An owner that did change is still reported, alone.
  const moved = (fp: CatalogFingerprint) => {
    lost(fp);
    fp.owners = {};
  };
  assert.deepEqual(
    diff(moved).filter((line) => line.includes("owned by")),
    [
      "failure: objects owned by postgres in the source: owned by app_owner (the objects listed apart excepted)",
    ],
  );
});

test("what only a superuser can create: failures for a superuser restore, warnings otherwise", () => {
  const change = (fp: CatalogFingerprint) => {
    fp.eventTriggers = {};
    fp.foreignDataWrappers = [];
    fp.foreignServers = {};
    delete fp.publications.everything;
    fp.defaultAcls = {};
    fp.database.settings = [];
  };
  assert.deepEqual(diff(change), [
    "failure: database: setting work_mem=8MB missing",
    "failure: default privileges of app_owner in app on tables: grant reporting=r missing",
    "failure: event trigger log_ddl: missing",
    "failure: foreign-data wrapper postgres_fdw: missing",
    "failure: publication everything: missing",
    "failure: server loopback: missing",
  ]);
  assert.deepEqual(diff(change, { superuser: false, restorer: "restorer" }), [
    // A server needs only USAGE on its wrapper: its loss is not explained by the restorer's rank.
    "failure: server loopback: missing",
    `warning: database: setting work_mem=8MB missing (${REASONS.notSuperuserSetting})`,
    `warning: default privileges of app_owner in app on tables: grant reporting=r missing (${REASONS.notSuperuserDefaultAcl})`,
    `warning: event trigger log_ddl: missing (${REASONS.eventTrigger})`,
    `warning: foreign-data wrapper postgres_fdw: missing (${REASONS.foreignDataWrapper})`,
    `warning: publication everything: missing (${REASONS.allTablesPublication})`,
  ]);
});

test("database: encoding is a failure, locale a warning, settings not archived by pg_dump a warning", () => {
  const restored = fingerprint();
  restored.database = {
    encoding: "UTF8",
    collate: "en_US.UTF-8",
    ctype: "C",
    settings: [],
    roleSettings: {},
  };
  const source = fingerprint();
  source.database.encoding = "SQL_ASCII";
  assert.deepEqual(diffCatalog(source, restored, DEFAULT_CONDITIONS).differences.map(formatDifference), [
    "failure: database: encoding UTF8, the source's is SQL_ASCII",
    `warning: database: LC_COLLATE en_US.UTF-8, the source's is C (${REASONS.locale})`,
    `warning: database: setting work_mem=8MB missing (${REASONS.databaseSettings})`,
  ]);
});

test("an ICU source restored with libc's collation is a locale warning; a fingerprint that does not say compares nothing", () => {
  const source = fingerprint();
  source.database.icuLocale = "de-DE";
  const restored = fingerprint();
  restored.database.icuLocale = null;
  assert.deepEqual(
    diffCatalog(source, restored, DEFAULT_CONDITIONS)
      .differences.filter((d) => d.object === "database")
      .map(formatDifference),
    [`warning: database: the libc locale provider, the source's is ICU locale de-DE (${REASONS.locale})`],
  );
  delete source.database.icuLocale;
  assert.deepEqual(
    diffCatalog(source, restored, DEFAULT_CONDITIONS)
      .differences.filter((d) => d.object === "database")
      .map(formatDifference),
    [],
  );
});

test("objects outside schemas: large objects, user mappings, casts, extensions, publication members", () => {
  assert.deepEqual(
    diff((fp) => {
      fp.largeObjects = { count: 1, owners: { postgres: 1 }, acl: {} };
      fp.userMappings = [];
      fp.casts = {};
      fp.extensions = { plpgsql: "1.0", postgres_fdw: "1.2" };
      fp.publications.orders!.tables = [];
    }),
    [
      "failure: cast app.mood AS int4: missing",
      "failure: large object 16400: grant reporting=r missing",
      "failure: large objects: 1, the source had 2",
      "failure: large objects owned by postgres: 1, the source had 2",
      "failure: publication orders: member table app.orders missing",
      "failure: user mapping reporting@loopback: missing",
      `warning: extension postgres_fdw: version 1.2, the source's is 1.1 (${REASONS.extensionVersion})`,
    ],
  );
});

test("what the target has beyond the source is a warning", () => {
  assert.deepEqual(
    diff((fp) => {
      fp.views = { public: ["leftover"] };
      fp.extensions.pg_trgm = "1.6";
    }),
    [
      `warning: extension pg_trgm: not in the source (${REASONS.extra})`,
      `warning: view public.leftover: not in the source (${REASONS.extra})`,
    ],
  );
});

test("the roles a fingerprint names: owners, grantees, default-privilege, policy and mapping roles", () => {
  assert.deepEqual(referencedRoles(fingerprint()), [
    "app_owner",
    "auditor",
    "etl writer",
    "postgres",
    "reporting",
  ]);
});
