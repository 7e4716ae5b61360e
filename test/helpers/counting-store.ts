/** A store that counts the calls made to it (one list() counts once, however many pages). */
import type { Store } from "../../src/storage/store.js";

export interface StoreCalls {
  check: number;
  list: number;
  /** Objects yielded by list(). */
  listed: number;
  /** Milliseconds from the start of each list() to its last object, summed. */
  listMs: number;
  deleteMany: number;
  /** Keys passed to deleteMany(). */
  deleteKeys: number;
  /** Milliseconds spent in deleteMany(), summed. */
  deleteMs: number;
  objectLocks: number;
  put: number;
  get: number;
  head: number;
}

export function countingStore(store: Store): { store: Store; calls: StoreCalls } {
  const calls: StoreCalls = {
    check: 0,
    list: 0,
    listed: 0,
    listMs: 0,
    deleteMany: 0,
    deleteKeys: 0,
    deleteMs: 0,
    objectLocks: 0,
    put: 0,
    get: 0,
    head: 0,
  };
  const counted: Store = {
    url: store.url,
    check: (access) => {
      calls.check++;
      return store.check(access);
    },
    put: (key, body, options) => {
      calls.put++;
      return store.put(key, body, options);
    },
    get: (key) => {
      calls.get++;
      return store.get(key);
    },
    head: (key) => {
      calls.head++;
      return store.head(key);
    },
    list: (prefix) => {
      calls.list++;
      return (async function* () {
        const started = performance.now();
        for await (const object of store.list(prefix)) {
          calls.listed++;
          yield object;
        }
        calls.listMs += performance.now() - started;
      })();
    },
    deleteMany: async (keys) => {
      calls.deleteMany++;
      calls.deleteKeys += keys.length;
      const started = performance.now();
      try {
        return await store.deleteMany(keys);
      } finally {
        calls.deleteMs += performance.now() - started;
      }
    },
  };
  if (store.sweepLeftovers) {
    const sweep = store.sweepLeftovers.bind(store);
    counted.sweepLeftovers = (prefix, olderThan) => sweep(prefix, olderThan);
  }
  if (store.objectLocks) {
    const objectLocks = store.objectLocks.bind(store);
    counted.objectLocks = (keys) => {
      calls.objectLocks++;
      return objectLocks(keys);
    };
  }
  return { store: counted, calls };
}
