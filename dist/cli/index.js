#!/usr/bin/env node
import { createRequire as __WEBPACK_EXTERNAL_createRequire } from "module";
/******/ var __webpack_modules__ = ({

/***/ 785:
/***/ ((__unused_webpack_module, exports) => {


Object.defineProperty(exports, "__esModule", ({ value: true }));
// This is an empty module that is served up when outside of a workerd environment
// See the `exports` field in package.json
exports["default"] = {};
//# sourceMappingURL=empty.js.map

/***/ }),

/***/ 6122:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



//Parse method copied from https://github.com/brianc/node-postgres
//Copyright (c) 2010-2014 Brian Carlson (brian.m.carlson@gmail.com)
//MIT License

//parses a connection string
function parse(str, options = {}) {
  //unix socket
  if (str.charAt(0) === '/') {
    const config = str.split(' ')
    return { host: config[0], database: config[1] }
  }

  // Check for empty host in URL

  const config = Object.create(null)
  let result
  let dummyHost = false
  if (/ |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(str)) {
    // Ensure spaces are encoded as %20
    str = encodeURI(str).replace(/%25(\d\d)/g, '%$1')
  }

  try {
    try {
      result = new URL(str, 'postgres://base')
    } catch (e) {
      // The URL is invalid so try again with a dummy host
      result = new URL(str.replace('@/', '@___DUMMY___/'), 'postgres://base')
      dummyHost = true
    }
  } catch (err) {
    // Remove the input from the error message to avoid leaking sensitive information
    err.input && (err.input = '*****REDACTED*****')
    throw err
  }

  // We'd like to use Object.fromEntries() here but Node.js 10 does not support it
  for (const entry of result.searchParams.entries()) {
    config[entry[0]] = entry[1]
  }

  config.user = config.user || decodeURIComponent(result.username)
  config.password = config.password || decodeURIComponent(result.password)

  if (result.protocol == 'socket:') {
    config.host = decodeURI(result.pathname)
    config.database = result.searchParams.get('db')
    config.client_encoding = result.searchParams.get('encoding')
    return config
  }
  const hostname = (dummyHost ? '' : result.hostname).replace(/^\[(.+)\]$/, '$1')
  if (!config.host) {
    // Only set the host if there is no equivalent query param.
    config.host = decodeURIComponent(hostname)
  } else if (hostname && /^%2f/i.test(hostname)) {
    // Only prepend the hostname to the pathname if it is not a URL encoded Unix socket host.
    result.pathname = hostname + result.pathname
  }
  if (!config.port) {
    // Only set the port if there is no equivalent query param.
    config.port = result.port
  }

  const pathname = result.pathname.slice(1) || null
  config.database = pathname ? decodeURI(pathname) : null

  if (config.ssl === 'true' || config.ssl === '1') {
    config.ssl = true
  }

  if (config.ssl === '0') {
    config.ssl = false
  }

  if (config.sslcert || config.sslkey || config.sslrootcert || config.sslmode) {
    config.ssl = {}
  }

  // sslnegotiation=direct implies SSL is in use (libpq requires sslmode>=require),
  // so enable SSL if the connection string did not otherwise configure it.
  if (config.sslnegotiation === 'direct' && config.ssl === undefined) {
    config.ssl = true
  }

  // Only try to load fs if we expect to read from the disk
  const fs = config.sslcert || config.sslkey || config.sslrootcert ? __nccwpck_require__(9896) : null

  if (config.sslcert) {
    config.ssl.cert = fs.readFileSync(config.sslcert).toString()
  }

  if (config.sslkey) {
    config.ssl.key = fs.readFileSync(config.sslkey).toString()
  }

  if (config.sslrootcert) {
    config.ssl.ca = fs.readFileSync(config.sslrootcert).toString()
  }

  if (options.useLibpqCompat && config.uselibpqcompat) {
    throw new Error('Both useLibpqCompat and uselibpqcompat are set. Please use only one of them.')
  }

  if (config.uselibpqcompat === 'true' || options.useLibpqCompat) {
    switch (config.sslmode) {
      case 'disable': {
        config.ssl = false
        break
      }
      case 'prefer': {
        config.ssl.rejectUnauthorized = false
        break
      }
      case 'require': {
        if (config.sslrootcert) {
          // If a root CA is specified, behavior of `sslmode=require` will be the same as that of `verify-ca`
          config.ssl.checkServerIdentity = function () {}
        } else {
          config.ssl.rejectUnauthorized = false
        }
        break
      }
      case 'verify-ca': {
        if (!config.ssl.ca) {
          throw new Error(
            'SECURITY WARNING: Using sslmode=verify-ca requires specifying a CA with sslrootcert. If a public CA is used, verify-ca allows connections to a server that somebody else may have registered with the CA, making you vulnerable to Man-in-the-Middle attacks. Either specify a custom CA certificate with sslrootcert parameter or use sslmode=verify-full for proper security.'
          )
        }
        config.ssl.checkServerIdentity = function () {}
        break
      }
      case 'verify-full': {
        break
      }
    }
  } else {
    switch (config.sslmode) {
      case 'disable': {
        config.ssl = false
        break
      }
      case 'prefer':
      case 'require':
      case 'verify-ca':
      case 'verify-full': {
        if (config.sslmode !== 'verify-full') {
          deprecatedSslModeWarning(config.sslmode)
        }
        break
      }
      case 'no-verify': {
        config.ssl.rejectUnauthorized = false
        break
      }
    }
  }

  return config
}

// convert pg-connection-string ssl config to a ClientConfig.ConnectionOptions
function toConnectionOptions(sslConfig) {
  const connectionOptions = Object.entries(sslConfig).reduce((c, [key, value]) => {
    // we explicitly check for undefined and null instead of `if (value)` because some
    // options accept falsy values. Example: `ssl.rejectUnauthorized = false`
    if (value !== undefined && value !== null) {
      c[key] = value
    }

    return c
  }, Object.create(null))

  return connectionOptions
}

// convert pg-connection-string config to a ClientConfig
function toClientConfig(config) {
  const poolConfig = Object.entries(config).reduce((c, [key, value]) => {
    if (key === 'ssl') {
      const sslConfig = value

      if (typeof sslConfig === 'boolean') {
        c[key] = sslConfig
      }

      if (typeof sslConfig === 'object') {
        c[key] = toConnectionOptions(sslConfig)
      }
    } else if (value !== undefined && value !== null) {
      if (key === 'port') {
        // when port is not specified, it is converted into an empty string
        // we want to avoid NaN or empty string as a values in ClientConfig
        if (value !== '') {
          const v = parseInt(value, 10)
          if (isNaN(v)) {
            throw new Error(`Invalid ${key}: ${value}`)
          }

          c[key] = v
        }
      } else {
        c[key] = value
      }
    }

    return c
  }, Object.create(null))

  return poolConfig
}

// parses a connection string into ClientConfig
function parseIntoClientConfig(str) {
  return toClientConfig(parse(str))
}

function deprecatedSslModeWarning(sslmode) {
  if (!deprecatedSslModeWarning.warned && typeof process !== 'undefined' && process.emitWarning) {
    deprecatedSslModeWarning.warned = true
    process.emitWarning(`SECURITY WARNING: The SSL modes 'prefer', 'require', and 'verify-ca' are treated as aliases for 'verify-full'.
In the next major version (pg-connection-string v3.0.0 and pg v9.0.0), these modes will adopt standard libpq semantics, which have weaker security guarantees.

To prepare for this change:
- If you want the current behavior, explicitly use 'sslmode=verify-full'
- If you want libpq compatibility now, use 'uselibpqcompat=true&sslmode=${sslmode}'

See https://www.postgresql.org/docs/current/libpq-ssl.html for libpq SSL mode definitions.`)
  }
}

module.exports = parse

parse.parse = parse
parse.toClientConfig = toClientConfig
parse.parseIntoClientConfig = parseIntoClientConfig


/***/ }),

/***/ 2299:
/***/ ((module) => {



// selected so (BASE - 1) * 0x100000000 + 0xffffffff is a safe integer
var BASE = 1000000;

function readInt8(buffer) {
	var high = buffer.readInt32BE(0);
	var low = buffer.readUInt32BE(4);
	var sign = '';

	if (high < 0) {
		high = ~high + (low === 0);
		low = (~low + 1) >>> 0;
		sign = '-';
	}

	var result = '';
	var carry;
	var t;
	var digits;
	var pad;
	var l;
	var i;

	{
		carry = high % BASE;
		high = high / BASE >>> 0;

		t = 0x100000000 * carry + low;
		low = t / BASE >>> 0;
		digits = '' + (t - BASE * low);

		if (low === 0 && high === 0) {
			return sign + digits + result;
		}

		pad = '';
		l = 6 - digits.length;

		for (i = 0; i < l; i++) {
			pad += '0';
		}

		result = pad + digits + result;
	}

	{
		carry = high % BASE;
		high = high / BASE >>> 0;

		t = 0x100000000 * carry + low;
		low = t / BASE >>> 0;
		digits = '' + (t - BASE * low);

		if (low === 0 && high === 0) {
			return sign + digits + result;
		}

		pad = '';
		l = 6 - digits.length;

		for (i = 0; i < l; i++) {
			pad += '0';
		}

		result = pad + digits + result;
	}

	{
		carry = high % BASE;
		high = high / BASE >>> 0;

		t = 0x100000000 * carry + low;
		low = t / BASE >>> 0;
		digits = '' + (t - BASE * low);

		if (low === 0 && high === 0) {
			return sign + digits + result;
		}

		pad = '';
		l = 6 - digits.length;

		for (i = 0; i < l; i++) {
			pad += '0';
		}

		result = pad + digits + result;
	}

	{
		carry = high % BASE;
		t = 0x100000000 * carry + low;
		digits = '' + t % BASE;

		return sign + digits + result;
	}
}

module.exports = readInt8;


/***/ }),

/***/ 7558:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {


const EventEmitter = (__nccwpck_require__(4434).EventEmitter)

const NOOP = function () {}

const removeWhere = (list, predicate) => {
  const i = list.findIndex(predicate)

  return i === -1 ? undefined : list.splice(i, 1)[0]
}

class IdleItem {
  constructor(client, idleListener, timeoutId) {
    this.client = client
    this.idleListener = idleListener
    this.timeoutId = timeoutId
  }
}

class PendingItem {
  constructor(callback) {
    this.callback = callback
  }
}

function throwOnDoubleRelease() {
  throw new Error('Release called on client which has already been released to the pool.')
}

function promisify(Promise, callback) {
  if (callback) {
    return { callback: callback, result: undefined }
  }
  let rej
  let res
  const cb = function (err, client) {
    err ? rej(err) : res(client)
  }
  const result = new Promise(function (resolve, reject) {
    res = resolve
    rej = reject
  }).catch((err) => {
    // replace the stack trace that leads to `TCP.onStreamRead` with one that leads back to the
    // application that created the query
    Error.captureStackTrace(err)
    throw err
  })
  return { callback: cb, result: result }
}

function makeIdleListener(pool, client) {
  return function idleListener(err) {
    err.client = client

    client.removeListener('error', idleListener)
    client.on('error', () => {
      pool.log('additional client error after disconnection due to error', err)
    })
    pool._remove(client)
    // TODO - document that once the pool emits an error
    // the client has already been closed & purged and is unusable
    pool.emit('error', err, client)
  }
}

class Pool extends EventEmitter {
  constructor(options, Client) {
    super()
    this.options = Object.assign({}, options)

    if (options != null && 'password' in options) {
      // "hiding" the password so it doesn't show up in stack traces
      // or if the client is console.logged
      Object.defineProperty(this.options, 'password', {
        configurable: true,
        enumerable: false,
        writable: true,
        value: options.password,
      })
    }
    if (options != null && options.ssl && options.ssl.key) {
      // "hiding" the ssl->key so it doesn't show up in stack traces
      // or if the client is console.logged
      Object.defineProperty(this.options.ssl, 'key', {
        enumerable: false,
      })
    }

    this.options.max = this.options.max || this.options.poolSize || 10
    this.options.min = this.options.min || 0
    this.options.maxUses = this.options.maxUses || Infinity
    this.options.allowExitOnIdle = this.options.allowExitOnIdle || false
    this.options.maxLifetimeSeconds = this.options.maxLifetimeSeconds || 0
    this.log = this.options.log || function () {}
    this.Client = this.options.Client || Client || (__nccwpck_require__(3273).Client)
    this.Promise = this.options.Promise || global.Promise

    if (typeof this.options.idleTimeoutMillis === 'undefined') {
      this.options.idleTimeoutMillis = 10000
    }

    this._clients = []
    this._idle = []
    this._expired = new WeakSet()
    this._pendingQueue = []
    this._endCallback = undefined
    this.ending = false
    this.ended = false
  }

  _promiseTry(f) {
    const Promise = this.Promise
    if (typeof Promise.try === 'function') {
      return Promise.try(f)
    }
    return new Promise((resolve) => resolve(f()))
  }

  _isFull() {
    return this._clients.length >= this.options.max
  }

  _isAboveMin() {
    return this._clients.length > this.options.min
  }

  _pulseQueue() {
    this.log('pulse queue')
    if (this.ended) {
      this.log('pulse queue ended')
      return
    }
    if (this.ending) {
      this.log('pulse queue on ending')
      if (this._idle.length) {
        this._idle.slice().map((item) => {
          this._remove(item.client)
        })
      }
      if (!this._clients.length) {
        this.ended = true
        this._endCallback()
      }
      return
    }

    // if we don't have any waiting, do nothing
    if (!this._pendingQueue.length) {
      this.log('no queued requests')
      return
    }
    // if we don't have any idle clients and we have no more room do nothing
    if (!this._idle.length && this._isFull()) {
      return
    }
    const pendingItem = this._pendingQueue.shift()
    if (this._idle.length) {
      const idleItem = this._idle.pop()
      clearTimeout(idleItem.timeoutId)
      const client = idleItem.client
      client.ref && client.ref()
      const idleListener = idleItem.idleListener

      return this._acquireClient(client, pendingItem, idleListener, false)
    }
    if (!this._isFull()) {
      return this.newClient(pendingItem)
    }
    throw new Error('unexpected condition')
  }

  _remove(client, callback) {
    const removed = removeWhere(this._idle, (item) => item.client === client)

    if (removed !== undefined) {
      clearTimeout(removed.timeoutId)
    }

    this._clients = this._clients.filter((c) => c !== client)
    const context = this
    client.end(() => {
      context.emit('remove', client)

      if (typeof callback === 'function') {
        callback()
      }
    })
  }

  connect(cb) {
    if (this.ending) {
      const err = new Error('Cannot use a pool after calling end on the pool')
      return cb ? cb(err) : this.Promise.reject(err)
    }

    const response = promisify(this.Promise, cb)
    const result = response.result

    // if we don't have to connect a new client, don't do so
    if (this._isFull() || this._idle.length) {
      // if we have idle clients schedule a pulse immediately
      if (this._idle.length) {
        process.nextTick(() => this._pulseQueue())
      }

      if (!this.options.connectionTimeoutMillis) {
        this._pendingQueue.push(new PendingItem(response.callback))
        return result
      }

      const queueCallback = (err, res, done) => {
        clearTimeout(tid)
        response.callback(err, res, done)
      }

      const pendingItem = new PendingItem(queueCallback)

      // set connection timeout on checking out an existing client
      const tid = setTimeout(() => {
        // remove the callback from pending waiters because
        // we're going to call it with a timeout error
        removeWhere(this._pendingQueue, (i) => i.callback === queueCallback)
        pendingItem.timedOut = true
        response.callback(new Error('timeout exceeded when trying to connect'))
      }, this.options.connectionTimeoutMillis)

      if (tid.unref) {
        tid.unref()
      }

      this._pendingQueue.push(pendingItem)
      return result
    }

    this.newClient(new PendingItem(response.callback))

    return result
  }

  newClient(pendingItem) {
    const client = new this.Client(this.options)
    this._clients.push(client)
    const idleListener = makeIdleListener(this, client)

    this.log('checking client timeout')

    // connection timeout logic
    let tid
    let timeoutHit = false
    if (this.options.connectionTimeoutMillis) {
      tid = setTimeout(() => {
        if (client.connection) {
          this.log('ending client due to timeout')
          timeoutHit = true
          client.connection.stream.destroy()
        } else if (!client.isConnected()) {
          this.log('ending client due to timeout')
          timeoutHit = true
          // force kill the node driver, and let libpq do its teardown
          client.end()
        }
      }, this.options.connectionTimeoutMillis)
    }

    this.log('connecting new client')
    client.connect((err) => {
      if (tid) {
        clearTimeout(tid)
      }
      client.on('error', idleListener)
      if (err) {
        this.log('client failed to connect', err)
        // remove the dead client from our list of clients
        this._clients = this._clients.filter((c) => c !== client)
        if (timeoutHit) {
          err = new Error('Connection terminated due to connection timeout', { cause: err })
        }

        // this client won’t be released, so move on immediately
        this._pulseQueue()

        if (!pendingItem.timedOut) {
          pendingItem.callback(err, undefined, NOOP)
        }
      } else {
        this.log('new client connected')

        if (this.options.onConnect) {
          this._promiseTry(() => this.options.onConnect(client)).then(
            () => {
              this._afterConnect(client, pendingItem, idleListener)
            },
            (hookErr) => {
              this._clients = this._clients.filter((c) => c !== client)
              client.end(() => {
                this._pulseQueue()
                if (!pendingItem.timedOut) {
                  pendingItem.callback(hookErr, undefined, NOOP)
                }
              })
            }
          )
          return
        }

        return this._afterConnect(client, pendingItem, idleListener)
      }
    })
  }

  _afterConnect(client, pendingItem, idleListener) {
    if (this.options.maxLifetimeSeconds !== 0) {
      const maxLifetimeTimeout = setTimeout(() => {
        this.log('ending client due to expired lifetime')
        this._expired.add(client)
        const idleIndex = this._idle.findIndex((idleItem) => idleItem.client === client)
        if (idleIndex !== -1) {
          this._acquireClient(
            client,
            new PendingItem((err, client, clientRelease) => clientRelease()),
            idleListener,
            false
          )
        }
      }, this.options.maxLifetimeSeconds * 1000)

      maxLifetimeTimeout.unref()
      client.once('end', () => clearTimeout(maxLifetimeTimeout))
    }

    return this._acquireClient(client, pendingItem, idleListener, true)
  }

  // acquire a client for a pending work item
  _acquireClient(client, pendingItem, idleListener, isNew) {
    if (isNew) {
      this.emit('connect', client)
    }

    this.emit('acquire', client)

    client.release = this._releaseOnce(client, idleListener)

    client.removeListener('error', idleListener)

    if (!pendingItem.timedOut) {
      if (isNew && this.options.verify) {
        this.options.verify(client, (err) => {
          if (err) {
            client.release(err)
            return pendingItem.callback(err, undefined, NOOP)
          }

          pendingItem.callback(undefined, client, client.release)
        })
      } else {
        pendingItem.callback(undefined, client, client.release)
      }
    } else {
      if (isNew && this.options.verify) {
        this.options.verify(client, client.release)
      } else {
        client.release()
      }
    }
  }

  // returns a function that wraps _release and throws if called more than once
  _releaseOnce(client, idleListener) {
    let released = false

    return (err) => {
      if (released) {
        throwOnDoubleRelease()
      }

      released = true
      this._release(client, idleListener, err)
    }
  }

  // release a client back to the poll, include an error
  // to remove it from the pool
  _release(client, idleListener, err) {
    client.on('error', idleListener)

    client._poolUseCount = (client._poolUseCount || 0) + 1

    this.emit('release', err, client)

    // TODO(bmc): expose a proper, public interface _queryable and _ending
    if (err || this.ending || !client._queryable || client._ending || client._poolUseCount >= this.options.maxUses) {
      if (client._poolUseCount >= this.options.maxUses) {
        this.log('remove expended client')
      }

      return this._remove(client, this._pulseQueue.bind(this))
    }

    const isExpired = this._expired.has(client)
    if (isExpired) {
      this.log('remove expired client')
      this._expired.delete(client)
      return this._remove(client, this._pulseQueue.bind(this))
    }

    // idle timeout
    let tid
    if (this.options.idleTimeoutMillis && this._isAboveMin()) {
      tid = setTimeout(() => {
        if (this._isAboveMin()) {
          this.log('remove idle client')
          this._remove(client, this._pulseQueue.bind(this))
        }
      }, this.options.idleTimeoutMillis)

      if (this.options.allowExitOnIdle) {
        // allow Node to exit if this is all that's left
        tid.unref()
      }
    }

    if (this.options.allowExitOnIdle) {
      client.unref()
    }

    this._idle.push(new IdleItem(client, idleListener, tid))
    this._pulseQueue()
  }

  query(text, values, cb) {
    // guard clause against passing a function as the first parameter
    if (typeof text === 'function') {
      const response = promisify(this.Promise, text)
      setImmediate(function () {
        return response.callback(new Error('Passing a function as the first parameter to pool.query is not supported'))
      })
      return response.result
    }

    // allow plain text query without values, but callback
    if (typeof values === 'function') {
      cb = values
      values = undefined
    }
    const response = promisify(this.Promise, cb)
    cb = response.callback

    this.connect((err, client) => {
      if (err) {
        return cb(err)
      }

      let clientReleased = false
      const onError = (err) => {
        if (clientReleased) {
          return
        }
        clientReleased = true
        client.release(err)
        cb(err)
      }

      client.once('error', onError)
      this.log('dispatching query')
      try {
        client.query(text, values, (err, res) => {
          this.log('query dispatched')
          client.removeListener('error', onError)
          if (clientReleased) {
            return
          }
          clientReleased = true
          client.release(err)
          if (err) {
            return cb(err)
          }
          return cb(undefined, res)
        })
      } catch (err) {
        client.release(err)
        return cb(err)
      }
    })
    return response.result
  }

  end(cb) {
    this.log('ending')
    if (this.ending) {
      const err = new Error('Called end on pool more than once')
      return cb ? cb(err) : this.Promise.reject(err)
    }
    this.ending = true
    const promised = promisify(this.Promise, cb)
    this._endCallback = promised.callback
    this._pulseQueue()
    return promised.result
  }

  get waitingCount() {
    return this._pendingQueue.length
  }

  get idleCount() {
    return this._idle.length
  }

  get expiredCount() {
    return this._clients.reduce((acc, client) => acc + (this._expired.has(client) ? 1 : 0), 0)
  }

  get totalCount() {
    return this._clients.length
  }
}
module.exports = Pool


/***/ }),

/***/ 9971:
/***/ ((__unused_webpack_module, exports) => {


Object.defineProperty(exports, "__esModule", ({ value: true }));
exports.BufferReader = void 0;
class BufferReader {
    constructor(offset = 0) {
        this.offset = offset;
        this.buffer = Buffer.allocUnsafe(0);
        // TODO(bmc): support non-utf8 encoding?
        this.encoding = 'utf-8';
    }
    setBuffer(offset, buffer) {
        this.offset = offset;
        this.buffer = buffer;
    }
    int16() {
        const result = this.buffer.readInt16BE(this.offset);
        this.offset += 2;
        return result;
    }
    byte() {
        const result = this.buffer[this.offset];
        this.offset++;
        return result;
    }
    int32() {
        const result = this.buffer.readInt32BE(this.offset);
        this.offset += 4;
        return result;
    }
    uint32() {
        const result = this.buffer.readUInt32BE(this.offset);
        this.offset += 4;
        return result;
    }
    string(length) {
        const result = this.buffer.toString(this.encoding, this.offset, this.offset + length);
        this.offset += length;
        return result;
    }
    cstring() {
        const start = this.offset;
        let end = start;
        // eslint-disable-next-line no-empty
        while (this.buffer[end++]) { }
        this.offset = end;
        return this.buffer.toString(this.encoding, start, end - 1);
    }
    bytes(length) {
        const result = this.buffer.slice(this.offset, this.offset + length);
        this.offset += length;
        return result;
    }
}
exports.BufferReader = BufferReader;
//# sourceMappingURL=buffer-reader.js.map

/***/ }),

/***/ 9315:
/***/ ((__unused_webpack_module, exports) => {


//binary data writer tuned for encoding binary specific to the postgres binary protocol
Object.defineProperty(exports, "__esModule", ({ value: true }));
exports.Writer = void 0;
class Writer {
    constructor(size = 256) {
        this.size = size;
        this.offset = 5;
        this.headerPosition = 0;
        this.buffer = Buffer.allocUnsafe(size);
    }
    ensure(size) {
        const remaining = this.buffer.length - this.offset;
        if (remaining < size) {
            const oldBuffer = this.buffer;
            // exponential growth factor of around ~ 1.5
            // https://stackoverflow.com/questions/2269063/buffer-growth-strategy
            const newSize = oldBuffer.length + (oldBuffer.length >> 1) + size;
            this.buffer = Buffer.allocUnsafe(newSize);
            oldBuffer.copy(this.buffer, 0, 0, this.offset);
        }
    }
    addInt32(num) {
        this.ensure(4);
        this.buffer[this.offset++] = (num >>> 24) & 0xff;
        this.buffer[this.offset++] = (num >>> 16) & 0xff;
        this.buffer[this.offset++] = (num >>> 8) & 0xff;
        this.buffer[this.offset++] = (num >>> 0) & 0xff;
        return this;
    }
    addInt16(num) {
        this.ensure(2);
        this.buffer[this.offset++] = (num >>> 8) & 0xff;
        this.buffer[this.offset++] = (num >>> 0) & 0xff;
        return this;
    }
    addCString(string) {
        if (!string) {
            this.ensure(1);
        }
        else {
            const len = Buffer.byteLength(string);
            this.ensure(len + 1); // +1 for null terminator
            this.buffer.write(string, this.offset, 'utf-8');
            this.offset += len;
        }
        this.buffer[this.offset++] = 0; // null terminator
        return this;
    }
    addString(string = '') {
        const len = Buffer.byteLength(string);
        this.ensure(len);
        this.buffer.write(string, this.offset);
        this.offset += len;
        return this;
    }
    // Write an Int32 byte-length prefix immediately followed by the string's UTF-8
    // bytes. Postgres' Bind wire format prefixes every parameter with its length,
    // and doing it in one method computes Buffer.byteLength ONCE — the previous
    // `addInt32(Buffer.byteLength(s)).addString(s)` pairing scanned the string
    // three times (byteLength for the prefix, byteLength again inside addString,
    // then the encode), which is costly for large text parameters.
    addInt32PrefixedString(string) {
        const len = Buffer.byteLength(string);
        this.ensure(4 + len);
        const buffer = this.buffer;
        let offset = this.offset;
        buffer[offset++] = (len >>> 24) & 0xff;
        buffer[offset++] = (len >>> 16) & 0xff;
        buffer[offset++] = (len >>> 8) & 0xff;
        buffer[offset++] = (len >>> 0) & 0xff;
        buffer.write(string, offset, 'utf-8');
        this.offset = offset + len;
        return this;
    }
    add(otherBuffer) {
        this.ensure(otherBuffer.length);
        otherBuffer.copy(this.buffer, this.offset);
        this.offset += otherBuffer.length;
        return this;
    }
    /**
     * Appends an uninitialized block of {@link size} bytes to the buffer and returns its offset.
     */
    reserveUnsafe(size) {
        const offset = this.offset;
        this.ensure(size);
        this.offset += size;
        return offset;
    }
    join(code) {
        if (code) {
            this.buffer[this.headerPosition] = code;
            //length is everything in this packet minus the code
            const length = this.offset - (this.headerPosition + 1);
            this.buffer.writeInt32BE(length, this.headerPosition + 1);
        }
        return this.buffer.slice(code ? 0 : 5, this.offset);
    }
    flush(code) {
        const result = this.join(code);
        this.offset = 5;
        this.headerPosition = 0;
        this.buffer = Buffer.allocUnsafe(this.size);
        return result;
    }
    clear() {
        this.offset = 5;
        this.headerPosition = 0;
    }
}
exports.Writer = Writer;
//# sourceMappingURL=buffer-writer.js.map

/***/ }),

/***/ 4233:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {


Object.defineProperty(exports, "__esModule", ({ value: true }));
exports.DatabaseError = exports.serialize = void 0;
exports.parse = parse;
const messages_1 = __nccwpck_require__(5809);
Object.defineProperty(exports, "DatabaseError", ({ enumerable: true, get: function () { return messages_1.DatabaseError; } }));
const serializer_1 = __nccwpck_require__(6513);
Object.defineProperty(exports, "serialize", ({ enumerable: true, get: function () { return serializer_1.serialize; } }));
const parser_1 = __nccwpck_require__(3318);
function parse(stream, callback) {
    const parser = new parser_1.Parser();
    stream.on('data', (buffer) => parser.parse(buffer, callback));
    return new Promise((resolve) => stream.on('end', () => resolve()));
}
//# sourceMappingURL=index.js.map

/***/ }),

/***/ 5809:
/***/ ((__unused_webpack_module, exports) => {


Object.defineProperty(exports, "__esModule", ({ value: true }));
exports.NoticeMessage = exports.DataRowMessage = exports.CommandCompleteMessage = exports.ReadyForQueryMessage = exports.NotificationResponseMessage = exports.BackendKeyDataMessage = exports.AuthenticationMD5Password = exports.ParameterStatusMessage = exports.ParameterDescriptionMessage = exports.RowDescriptionMessage = exports.Field = exports.CopyResponse = exports.CopyDataMessage = exports.DatabaseError = exports.copyDone = exports.emptyQuery = exports.replicationStart = exports.portalSuspended = exports.noData = exports.closeComplete = exports.bindComplete = exports.parseComplete = void 0;
exports.parseComplete = {
    name: 'parseComplete',
    length: 5,
};
exports.bindComplete = {
    name: 'bindComplete',
    length: 5,
};
exports.closeComplete = {
    name: 'closeComplete',
    length: 5,
};
exports.noData = {
    name: 'noData',
    length: 5,
};
exports.portalSuspended = {
    name: 'portalSuspended',
    length: 5,
};
exports.replicationStart = {
    name: 'replicationStart',
    length: 4,
};
exports.emptyQuery = {
    name: 'emptyQuery',
    length: 4,
};
exports.copyDone = {
    name: 'copyDone',
    length: 4,
};
class DatabaseError extends Error {
    constructor(message, length, name) {
        super(message);
        this.length = length;
        this.name = name;
    }
}
exports.DatabaseError = DatabaseError;
class CopyDataMessage {
    constructor(length, chunk) {
        this.length = length;
        this.chunk = chunk;
        this.name = 'copyData';
    }
}
exports.CopyDataMessage = CopyDataMessage;
class CopyResponse {
    constructor(length, name, binary, columnCount) {
        this.length = length;
        this.name = name;
        this.binary = binary;
        this.columnTypes = new Array(columnCount);
    }
}
exports.CopyResponse = CopyResponse;
class Field {
    constructor(name, tableID, columnID, dataTypeID, dataTypeSize, dataTypeModifier, format) {
        this.name = name;
        this.tableID = tableID;
        this.columnID = columnID;
        this.dataTypeID = dataTypeID;
        this.dataTypeSize = dataTypeSize;
        this.dataTypeModifier = dataTypeModifier;
        this.format = format;
    }
}
exports.Field = Field;
class RowDescriptionMessage {
    constructor(length, fieldCount) {
        this.length = length;
        this.fieldCount = fieldCount;
        this.name = 'rowDescription';
        this.fields = new Array(this.fieldCount);
    }
}
exports.RowDescriptionMessage = RowDescriptionMessage;
class ParameterDescriptionMessage {
    constructor(length, parameterCount) {
        this.length = length;
        this.parameterCount = parameterCount;
        this.name = 'parameterDescription';
        this.dataTypeIDs = new Array(this.parameterCount);
    }
}
exports.ParameterDescriptionMessage = ParameterDescriptionMessage;
class ParameterStatusMessage {
    constructor(length, parameterName, parameterValue) {
        this.length = length;
        this.parameterName = parameterName;
        this.parameterValue = parameterValue;
        this.name = 'parameterStatus';
    }
}
exports.ParameterStatusMessage = ParameterStatusMessage;
class AuthenticationMD5Password {
    constructor(length, salt) {
        this.length = length;
        this.salt = salt;
        this.name = 'authenticationMD5Password';
    }
}
exports.AuthenticationMD5Password = AuthenticationMD5Password;
class BackendKeyDataMessage {
    constructor(length, processID, secretKey) {
        this.length = length;
        this.processID = processID;
        this.secretKey = secretKey;
        this.name = 'backendKeyData';
    }
}
exports.BackendKeyDataMessage = BackendKeyDataMessage;
class NotificationResponseMessage {
    constructor(length, processId, channel, payload) {
        this.length = length;
        this.processId = processId;
        this.channel = channel;
        this.payload = payload;
        this.name = 'notification';
    }
}
exports.NotificationResponseMessage = NotificationResponseMessage;
class ReadyForQueryMessage {
    constructor(length, status) {
        this.length = length;
        this.status = status;
        this.name = 'readyForQuery';
    }
}
exports.ReadyForQueryMessage = ReadyForQueryMessage;
class CommandCompleteMessage {
    constructor(length, text) {
        this.length = length;
        this.text = text;
        this.name = 'commandComplete';
    }
}
exports.CommandCompleteMessage = CommandCompleteMessage;
class DataRowMessage {
    constructor(length, fields) {
        this.length = length;
        this.fields = fields;
        this.name = 'dataRow';
        this.fieldCount = fields.length;
    }
}
exports.DataRowMessage = DataRowMessage;
class NoticeMessage {
    constructor(length, message) {
        this.length = length;
        this.message = message;
        this.name = 'notice';
    }
}
exports.NoticeMessage = NoticeMessage;
//# sourceMappingURL=messages.js.map

/***/ }),

/***/ 3318:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {


Object.defineProperty(exports, "__esModule", ({ value: true }));
exports.Parser = void 0;
const messages_1 = __nccwpck_require__(5809);
const buffer_reader_1 = __nccwpck_require__(9971);
// every message is prefixed with a single byte
const CODE_LENGTH = 1;
// every message has an int32 length which includes itself but does
// NOT include the code in the length
const LEN_LENGTH = 4;
const HEADER_LENGTH = CODE_LENGTH + LEN_LENGTH;
// A placeholder for a `BackendMessage`’s length value that will be set after construction.
const LATEINIT_LENGTH = -1;
const emptyBuffer = Buffer.allocUnsafe(0);
class Parser {
    constructor(opts) {
        this.buffer = emptyBuffer;
        this.bufferLength = 0;
        this.bufferOffset = 0;
        this.reader = new buffer_reader_1.BufferReader();
        if ((opts === null || opts === void 0 ? void 0 : opts.mode) === 'binary') {
            throw new Error('Binary mode not supported yet');
        }
        this.mode = (opts === null || opts === void 0 ? void 0 : opts.mode) || 'text';
    }
    parse(buffer, callback) {
        this.mergeBuffer(buffer);
        const bufferFullLength = this.bufferOffset + this.bufferLength;
        let offset = this.bufferOffset;
        while (offset + HEADER_LENGTH <= bufferFullLength) {
            // code is 1 byte long - it identifies the message type
            const code = this.buffer[offset];
            // length is 1 Uint32BE - it is the length of the message EXCLUDING the code
            const length = this.buffer.readUInt32BE(offset + CODE_LENGTH);
            const fullMessageLength = CODE_LENGTH + length;
            if (fullMessageLength + offset <= bufferFullLength) {
                const message = this.handlePacket(offset + HEADER_LENGTH, code, length, this.buffer);
                callback(message);
                offset += fullMessageLength;
            }
            else {
                break;
            }
        }
        if (offset === bufferFullLength) {
            // No more use for the buffer
            this.buffer = emptyBuffer;
            this.bufferLength = 0;
            this.bufferOffset = 0;
        }
        else {
            // Adjust the cursors of remainingBuffer
            this.bufferLength = bufferFullLength - offset;
            this.bufferOffset = offset;
        }
    }
    mergeBuffer(buffer) {
        if (this.bufferLength > 0) {
            const newLength = this.bufferLength + buffer.byteLength;
            const newFullLength = newLength + this.bufferOffset;
            if (newFullLength > this.buffer.byteLength) {
                // We can't concat the new buffer with the remaining one
                let newBuffer;
                if (newLength <= this.buffer.byteLength && this.bufferOffset >= this.bufferLength) {
                    // We can move the relevant part to the beginning of the buffer instead of allocating a new buffer
                    newBuffer = this.buffer;
                }
                else {
                    // Allocate a new larger buffer
                    let newBufferLength = this.buffer.byteLength * 2;
                    while (newLength >= newBufferLength) {
                        newBufferLength *= 2;
                    }
                    newBuffer = Buffer.allocUnsafe(newBufferLength);
                }
                // Move the remaining buffer to the new one
                this.buffer.copy(newBuffer, 0, this.bufferOffset, this.bufferOffset + this.bufferLength);
                this.buffer = newBuffer;
                this.bufferOffset = 0;
            }
            // Concat the new buffer with the remaining one
            buffer.copy(this.buffer, this.bufferOffset + this.bufferLength);
            this.bufferLength = newLength;
        }
        else {
            this.buffer = buffer;
            this.bufferOffset = 0;
            this.bufferLength = buffer.byteLength;
        }
    }
    handlePacket(offset, code, length, bytes) {
        const { reader } = this;
        // NOTE: This undesirably retains the buffer in `this.reader` if the `parse*Message` calls below throw. However, those should only throw in the case of a protocol error, which normally results in the reader being discarded.
        reader.setBuffer(offset, bytes);
        let message;
        switch (code) {
            case 50 /* MessageCodes.BindComplete */:
                message = messages_1.bindComplete;
                break;
            case 49 /* MessageCodes.ParseComplete */:
                message = messages_1.parseComplete;
                break;
            case 51 /* MessageCodes.CloseComplete */:
                message = messages_1.closeComplete;
                break;
            case 110 /* MessageCodes.NoData */:
                message = messages_1.noData;
                break;
            case 115 /* MessageCodes.PortalSuspended */:
                message = messages_1.portalSuspended;
                break;
            case 99 /* MessageCodes.CopyDone */:
                message = messages_1.copyDone;
                break;
            case 87 /* MessageCodes.ReplicationStart */:
                message = messages_1.replicationStart;
                break;
            case 73 /* MessageCodes.EmptyQuery */:
                message = messages_1.emptyQuery;
                break;
            case 68 /* MessageCodes.DataRow */:
                message = parseDataRowMessage(reader);
                break;
            case 67 /* MessageCodes.CommandComplete */:
                message = parseCommandCompleteMessage(reader);
                break;
            case 90 /* MessageCodes.ReadyForQuery */:
                message = parseReadyForQueryMessage(reader);
                break;
            case 65 /* MessageCodes.NotificationResponse */:
                message = parseNotificationMessage(reader);
                break;
            case 82 /* MessageCodes.AuthenticationResponse */:
                message = parseAuthenticationResponse(reader, length);
                break;
            case 83 /* MessageCodes.ParameterStatus */:
                message = parseParameterStatusMessage(reader);
                break;
            case 75 /* MessageCodes.BackendKeyData */:
                message = parseBackendKeyData(reader);
                break;
            case 69 /* MessageCodes.ErrorMessage */:
                message = parseErrorMessage(reader, 'error');
                break;
            case 78 /* MessageCodes.NoticeMessage */:
                message = parseErrorMessage(reader, 'notice');
                break;
            case 84 /* MessageCodes.RowDescriptionMessage */:
                message = parseRowDescriptionMessage(reader);
                break;
            case 116 /* MessageCodes.ParameterDescriptionMessage */:
                message = parseParameterDescriptionMessage(reader);
                break;
            case 71 /* MessageCodes.CopyIn */:
                message = parseCopyInMessage(reader);
                break;
            case 72 /* MessageCodes.CopyOut */:
                message = parseCopyOutMessage(reader);
                break;
            case 100 /* MessageCodes.CopyData */:
                message = parseCopyData(reader, length);
                break;
            default:
                return new messages_1.DatabaseError('received invalid response: ' + code.toString(16), length, 'error');
        }
        reader.setBuffer(0, emptyBuffer);
        message.length = length;
        return message;
    }
}
exports.Parser = Parser;
const parseReadyForQueryMessage = (reader) => {
    const status = reader.string(1);
    return new messages_1.ReadyForQueryMessage(LATEINIT_LENGTH, status);
};
const parseCommandCompleteMessage = (reader) => {
    const text = reader.cstring();
    return new messages_1.CommandCompleteMessage(LATEINIT_LENGTH, text);
};
const parseCopyData = (reader, length) => {
    const chunk = reader.bytes(length - 4);
    return new messages_1.CopyDataMessage(LATEINIT_LENGTH, chunk);
};
const parseCopyInMessage = (reader) => parseCopyMessage(reader, 'copyInResponse');
const parseCopyOutMessage = (reader) => parseCopyMessage(reader, 'copyOutResponse');
const parseCopyMessage = (reader, messageName) => {
    const isBinary = reader.byte() !== 0;
    const columnCount = reader.int16();
    const message = new messages_1.CopyResponse(LATEINIT_LENGTH, messageName, isBinary, columnCount);
    for (let i = 0; i < columnCount; i++) {
        message.columnTypes[i] = reader.int16();
    }
    return message;
};
const parseNotificationMessage = (reader) => {
    const processId = reader.int32();
    const channel = reader.cstring();
    const payload = reader.cstring();
    return new messages_1.NotificationResponseMessage(LATEINIT_LENGTH, processId, channel, payload);
};
const parseRowDescriptionMessage = (reader) => {
    const fieldCount = reader.int16();
    const message = new messages_1.RowDescriptionMessage(LATEINIT_LENGTH, fieldCount);
    for (let i = 0; i < fieldCount; i++) {
        message.fields[i] = parseField(reader);
    }
    return message;
};
const parseField = (reader) => {
    const name = reader.cstring();
    const tableID = reader.uint32();
    const columnID = reader.int16();
    const dataTypeID = reader.uint32();
    const dataTypeSize = reader.int16();
    const dataTypeModifier = reader.int32();
    const mode = reader.int16() === 0 ? 'text' : 'binary';
    return new messages_1.Field(name, tableID, columnID, dataTypeID, dataTypeSize, dataTypeModifier, mode);
};
const parseParameterDescriptionMessage = (reader) => {
    const parameterCount = reader.int16();
    const message = new messages_1.ParameterDescriptionMessage(LATEINIT_LENGTH, parameterCount);
    for (let i = 0; i < parameterCount; i++) {
        // OIDs are unsigned, same as dataTypeID in parseField above
        message.dataTypeIDs[i] = reader.uint32();
    }
    return message;
};
const parseDataRowMessage = (reader) => {
    const fieldCount = reader.int16();
    const fields = new Array(fieldCount);
    for (let i = 0; i < fieldCount; i++) {
        const len = reader.int32();
        // a -1 for length means the value of the field is null
        fields[i] = len === -1 ? null : reader.string(len);
    }
    return new messages_1.DataRowMessage(LATEINIT_LENGTH, fields);
};
const parseParameterStatusMessage = (reader) => {
    const name = reader.cstring();
    const value = reader.cstring();
    return new messages_1.ParameterStatusMessage(LATEINIT_LENGTH, name, value);
};
const parseBackendKeyData = (reader) => {
    const processID = reader.int32();
    const secretKey = reader.int32();
    return new messages_1.BackendKeyDataMessage(LATEINIT_LENGTH, processID, secretKey);
};
const parseAuthenticationResponse = (reader, length) => {
    const code = reader.int32();
    // TODO(bmc): maybe better types here
    const message = {
        name: 'authenticationOk',
        length,
    };
    switch (code) {
        case 0: // AuthenticationOk
            break;
        case 3: // AuthenticationCleartextPassword
            if (message.length === 8) {
                message.name = 'authenticationCleartextPassword';
            }
            break;
        case 5: // AuthenticationMD5Password
            if (message.length === 12) {
                message.name = 'authenticationMD5Password';
                const salt = reader.bytes(4);
                return new messages_1.AuthenticationMD5Password(LATEINIT_LENGTH, salt);
            }
            break;
        case 10: // AuthenticationSASL
            {
                message.name = 'authenticationSASL';
                message.mechanisms = [];
                let mechanism;
                do {
                    mechanism = reader.cstring();
                    if (mechanism) {
                        message.mechanisms.push(mechanism);
                    }
                } while (mechanism);
            }
            break;
        case 11: // AuthenticationSASLContinue
            message.name = 'authenticationSASLContinue';
            message.data = reader.string(length - 8);
            break;
        case 12: // AuthenticationSASLFinal
            message.name = 'authenticationSASLFinal';
            message.data = reader.string(length - 8);
            break;
        default:
            throw new Error('Unknown authenticationOk message type ' + code);
    }
    return message;
};
const parseErrorMessage = (reader, name) => {
    const fields = {};
    let fieldType = reader.string(1);
    while (fieldType !== '\0') {
        fields[fieldType] = reader.cstring();
        fieldType = reader.string(1);
    }
    const messageValue = fields.M;
    const message = name === 'notice'
        ? new messages_1.NoticeMessage(LATEINIT_LENGTH, messageValue)
        : new messages_1.DatabaseError(messageValue, LATEINIT_LENGTH, name);
    message.severity = fields.S;
    message.code = fields.C;
    message.detail = fields.D;
    message.hint = fields.H;
    message.position = fields.P;
    message.internalPosition = fields.p;
    message.internalQuery = fields.q;
    message.where = fields.W;
    message.schema = fields.s;
    message.table = fields.t;
    message.column = fields.c;
    message.dataType = fields.d;
    message.constraint = fields.n;
    message.file = fields.F;
    message.line = fields.L;
    message.routine = fields.R;
    return message;
};
//# sourceMappingURL=parser.js.map

/***/ }),

/***/ 6513:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {


Object.defineProperty(exports, "__esModule", ({ value: true }));
exports.serialize = void 0;
const buffer_writer_1 = __nccwpck_require__(9315);
const writer = new buffer_writer_1.Writer();
const startup = (opts) => {
    // protocol version
    writer.addInt16(3).addInt16(0);
    for (const key of Object.keys(opts)) {
        writer.addCString(key).addCString(opts[key]);
    }
    writer.addCString('client_encoding').addCString('UTF8');
    const bodyBuffer = writer.addCString('').flush();
    // this message is sent without a code
    const length = bodyBuffer.length + 4;
    return new buffer_writer_1.Writer().addInt32(length).add(bodyBuffer).flush();
};
const requestSsl = () => {
    const response = Buffer.allocUnsafe(8);
    response.writeInt32BE(8, 0);
    response.writeInt32BE(80877103, 4);
    return response;
};
const password = (password) => {
    return writer.addCString(password).flush(112 /* code.startup */);
};
const sendSASLInitialResponseMessage = function (mechanism, initialResponse) {
    // 0x70 = 'p'
    writer.addCString(mechanism).addInt32PrefixedString(initialResponse);
    return writer.flush(112 /* code.startup */);
};
const sendSCRAMClientFinalMessage = function (additionalData) {
    return writer.addString(additionalData).flush(112 /* code.startup */);
};
const query = (text) => {
    return writer.addCString(text).flush(81 /* code.query */);
};
const emptyArray = [];
const parse = (query) => {
    // expect something like this:
    // { name: 'queryName',
    //   text: 'select * from blah',
    //   types: ['int8', 'bool'] }
    // normalize missing query names to allow for null
    const name = query.name || '';
    if (name.length > 63) {
        console.error('Warning! Postgres only supports 63 characters for query names.');
        console.error('You supplied %s (%s)', name, name.length);
        console.error('This can cause conflicts and silent errors executing queries');
    }
    const types = query.types || emptyArray;
    const len = types.length;
    const buffer = writer
        .addCString(name) // name of query
        .addCString(query.text) // actual query text
        .addInt16(len);
    for (let i = 0; i < len; i++) {
        buffer.addInt32(types[i]);
    }
    return writer.flush(80 /* code.parse */);
};
const writeValues = function (values, valueMapper, formatsOffset) {
    const len = values.length;
    for (let i = 0; i < len; i++) {
        const mappedVal = valueMapper ? valueMapper(values[i], i) : values[i];
        let formatByte = 0 /* ParamType.STRING */;
        if (mappedVal == null) {
            // write -1 to indicate null
            writer.addInt32(-1);
        }
        else if (mappedVal instanceof Buffer) {
            formatByte = 1 /* ParamType.BINARY */;
            // add the buffer to the param writer
            writer.addInt32(mappedVal.length);
            writer.add(mappedVal);
        }
        else {
            // length prefix + UTF-8 bytes in one pass (Buffer.byteLength computed once)
            writer.addInt32PrefixedString(mappedVal);
        }
        // beware: `writer` operations can replace `writer.buffer` with a new buffer
        const buf = writer.buffer;
        buf[formatsOffset++] = 0;
        buf[formatsOffset++] = formatByte;
    }
};
const bind = (config = {}) => {
    // normalize config
    const portal = config.portal || '';
    const statement = config.statement || '';
    const binary = config.binary || false;
    const values = config.values || emptyArray;
    const len = values.length;
    writer.addCString(portal).addCString(statement);
    // number of parameter format codes
    writer.addInt16(len);
    // space for those codes, filled by `writeValues`
    const formatsOffset = writer.reserveUnsafe(len * 2);
    // number of parameter values
    writer.addInt16(len);
    try {
        writeValues(values, config.valueMapper, formatsOffset);
    }
    catch (err) {
        writer.clear();
        throw err;
    }
    // all results use the same format code
    writer.addInt16(1);
    // format code
    writer.addInt16(binary ? 1 /* ParamType.BINARY */ : 0 /* ParamType.STRING */);
    return writer.flush(66 /* code.bind */);
};
const emptyExecute = Buffer.from([69 /* code.execute */, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00]);
const execute = (config) => {
    // this is the happy path for most queries
    if (!config || (!config.portal && !config.rows)) {
        return emptyExecute;
    }
    const portal = config.portal || '';
    const rows = config.rows || 0;
    const portalLength = Buffer.byteLength(portal);
    const len = 4 + portalLength + 1 + 4;
    // one extra bit for code
    const buff = Buffer.allocUnsafe(1 + len);
    buff[0] = 69 /* code.execute */;
    buff.writeInt32BE(len, 1);
    buff.write(portal, 5, 'utf-8');
    buff[portalLength + 5] = 0; // null terminate portal cString
    buff.writeUInt32BE(rows, buff.length - 4);
    return buff;
};
const cancel = (processID, secretKey) => {
    const buffer = Buffer.allocUnsafe(16);
    buffer.writeInt32BE(16, 0);
    buffer.writeInt16BE(1234, 4);
    buffer.writeInt16BE(5678, 6);
    buffer.writeInt32BE(processID, 8);
    buffer.writeInt32BE(secretKey, 12);
    return buffer;
};
const cstringMessage = (code, string) => {
    const stringLen = Buffer.byteLength(string);
    const len = 4 + stringLen + 1;
    // one extra bit for code
    const buffer = Buffer.allocUnsafe(1 + len);
    buffer[0] = code;
    buffer.writeInt32BE(len, 1);
    buffer.write(string, 5, 'utf-8');
    buffer[len] = 0; // null terminate cString
    return buffer;
};
const emptyDescribePortal = writer.addCString('P').flush(68 /* code.describe */);
const emptyDescribeStatement = writer.addCString('S').flush(68 /* code.describe */);
const describe = (msg) => {
    return msg.name
        ? cstringMessage(68 /* code.describe */, `${msg.type}${msg.name || ''}`)
        : msg.type === 'P'
            ? emptyDescribePortal
            : emptyDescribeStatement;
};
const close = (msg) => {
    const text = `${msg.type}${msg.name || ''}`;
    return cstringMessage(67 /* code.close */, text);
};
const copyData = (chunk) => {
    return writer.add(chunk).flush(100 /* code.copyFromChunk */);
};
const copyFail = (message) => {
    return cstringMessage(102 /* code.copyFail */, message);
};
const codeOnlyBuffer = (code) => Buffer.from([code, 0x00, 0x00, 0x00, 0x04]);
const flushBuffer = codeOnlyBuffer(72 /* code.flush */);
const syncBuffer = codeOnlyBuffer(83 /* code.sync */);
const endBuffer = codeOnlyBuffer(88 /* code.end */);
const copyDoneBuffer = codeOnlyBuffer(99 /* code.copyDone */);
const serialize = {
    startup,
    password,
    requestSsl,
    sendSASLInitialResponseMessage,
    sendSCRAMClientFinalMessage,
    query,
    parse,
    bind,
    execute,
    describe,
    close,
    flush: () => flushBuffer,
    sync: () => syncBuffer,
    end: () => endBuffer,
    copyData,
    copyDone: () => copyDoneBuffer,
    copyFail,
    cancel,
};
exports.serialize = serialize;
//# sourceMappingURL=serializer.js.map

/***/ }),

/***/ 1549:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {

var textParsers = __nccwpck_require__(4784);
var binaryParsers = __nccwpck_require__(7522);
var arrayParser = __nccwpck_require__(6471);
var builtinTypes = __nccwpck_require__(6345);

exports.getTypeParser = getTypeParser;
exports.setTypeParser = setTypeParser;
exports.arrayParser = arrayParser;
exports.builtins = builtinTypes;

var typeParsers = {
  text: {},
  binary: {}
};

//the empty parse function
function noParse (val) {
  return String(val);
};

//returns a function used to convert a specific type (specified by
//oid) into a result javascript type
//note: the oid can be obtained via the following sql query:
//SELECT oid FROM pg_type WHERE typname = 'TYPE_NAME_HERE';
function getTypeParser (oid, format) {
  format = format || 'text';
  if (!typeParsers[format]) {
    return noParse;
  }
  return typeParsers[format][oid] || noParse;
};

function setTypeParser (oid, format, parseFn) {
  if(typeof format == 'function') {
    parseFn = format;
    format = 'text';
  }
  typeParsers[format][oid] = parseFn;
};

textParsers.init(function(oid, converter) {
  typeParsers.text[oid] = converter;
});

binaryParsers.init(function(oid, converter) {
  typeParsers.binary[oid] = converter;
});


/***/ }),

/***/ 6471:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

var array = __nccwpck_require__(3879);

module.exports = {
  create: function (source, transform) {
    return {
      parse: function() {
        return array.parse(source, transform);
      }
    };
  }
};


/***/ }),

/***/ 7522:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

var parseInt64 = __nccwpck_require__(2299);

var parseBits = function(data, bits, offset, invert, callback) {
  offset = offset || 0;
  invert = invert || false;
  callback = callback || function(lastValue, newValue, bits) { return (lastValue * Math.pow(2, bits)) + newValue; };
  var offsetBytes = offset >> 3;

  var inv = function(value) {
    if (invert) {
      return ~value & 0xff;
    }

    return value;
  };

  // read first (maybe partial) byte
  var mask = 0xff;
  var firstBits = 8 - (offset % 8);
  if (bits < firstBits) {
    mask = (0xff << (8 - bits)) & 0xff;
    firstBits = bits;
  }

  if (offset) {
    mask = mask >> (offset % 8);
  }

  var result = 0;
  if ((offset % 8) + bits >= 8) {
    result = callback(0, inv(data[offsetBytes]) & mask, firstBits);
  }

  // read bytes
  var bytes = (bits + offset) >> 3;
  for (var i = offsetBytes + 1; i < bytes; i++) {
    result = callback(result, inv(data[i]), 8);
  }

  // bits to read, that are not a complete byte
  var lastBits = (bits + offset) % 8;
  if (lastBits > 0) {
    result = callback(result, inv(data[bytes]) >> (8 - lastBits), lastBits);
  }

  return result;
};

var parseFloatFromBits = function(data, precisionBits, exponentBits) {
  var bias = Math.pow(2, exponentBits - 1) - 1;
  var sign = parseBits(data, 1);
  var exponent = parseBits(data, exponentBits, 1);

  if (exponent === 0) {
    return 0;
  }

  // parse mantissa
  var precisionBitsCounter = 1;
  var parsePrecisionBits = function(lastValue, newValue, bits) {
    if (lastValue === 0) {
      lastValue = 1;
    }

    for (var i = 1; i <= bits; i++) {
      precisionBitsCounter /= 2;
      if ((newValue & (0x1 << (bits - i))) > 0) {
        lastValue += precisionBitsCounter;
      }
    }

    return lastValue;
  };

  var mantissa = parseBits(data, precisionBits, exponentBits + 1, false, parsePrecisionBits);

  // special cases
  if (exponent == (Math.pow(2, exponentBits + 1) - 1)) {
    if (mantissa === 0) {
      return (sign === 0) ? Infinity : -Infinity;
    }

    return NaN;
  }

  // normale number
  return ((sign === 0) ? 1 : -1) * Math.pow(2, exponent - bias) * mantissa;
};

var parseInt16 = function(value) {
  if (parseBits(value, 1) == 1) {
    return -1 * (parseBits(value, 15, 1, true) + 1);
  }

  return parseBits(value, 15, 1);
};

var parseInt32 = function(value) {
  if (parseBits(value, 1) == 1) {
    return -1 * (parseBits(value, 31, 1, true) + 1);
  }

  return parseBits(value, 31, 1);
};

var parseFloat32 = function(value) {
  return parseFloatFromBits(value, 23, 8);
};

var parseFloat64 = function(value) {
  return parseFloatFromBits(value, 52, 11);
};

var parseNumeric = function(value) {
  var sign = parseBits(value, 16, 32);
  if (sign == 0xc000) {
    return NaN;
  }

  var weight = Math.pow(10000, parseBits(value, 16, 16));
  var result = 0;

  var digits = [];
  var ndigits = parseBits(value, 16);
  for (var i = 0; i < ndigits; i++) {
    result += parseBits(value, 16, 64 + (16 * i)) * weight;
    weight /= 10000;
  }

  var scale = Math.pow(10, parseBits(value, 16, 48));
  return ((sign === 0) ? 1 : -1) * Math.round(result * scale) / scale;
};

var parseDate = function(isUTC, value) {
  var sign = parseBits(value, 1);
  var rawValue = parseBits(value, 63, 1);

  // discard usecs and shift from 2000 to 1970
  var result = new Date((((sign === 0) ? 1 : -1) * rawValue / 1000) + 946684800000);

  if (!isUTC) {
    result.setTime(result.getTime() + result.getTimezoneOffset() * 60000);
  }

  // add microseconds to the date
  result.usec = rawValue % 1000;
  result.getMicroSeconds = function() {
    return this.usec;
  };
  result.setMicroSeconds = function(value) {
    this.usec = value;
  };
  result.getUTCMicroSeconds = function() {
    return this.usec;
  };

  return result;
};

var parseArray = function(value) {
  var dim = parseBits(value, 32);

  var flags = parseBits(value, 32, 32);
  var elementType = parseBits(value, 32, 64);

  var offset = 96;
  var dims = [];
  for (var i = 0; i < dim; i++) {
    // parse dimension
    dims[i] = parseBits(value, 32, offset);
    offset += 32;

    // ignore lower bounds
    offset += 32;
  }

  var parseElement = function(elementType) {
    // parse content length
    var length = parseBits(value, 32, offset);
    offset += 32;

    // parse null values
    if (length == 0xffffffff) {
      return null;
    }

    var result;
    if ((elementType == 0x17) || (elementType == 0x14)) {
      // int/bigint
      result = parseBits(value, length * 8, offset);
      offset += length * 8;
      return result;
    }
    else if (elementType == 0x19) {
      // string
      result = value.toString(this.encoding, offset >> 3, (offset += (length << 3)) >> 3);
      return result;
    }
    else {
      console.log("ERROR: ElementType not implemented: " + elementType);
    }
  };

  var parse = function(dimension, elementType) {
    var array = [];
    var i;

    if (dimension.length > 1) {
      var count = dimension.shift();
      for (i = 0; i < count; i++) {
        array[i] = parse(dimension, elementType);
      }
      dimension.unshift(count);
    }
    else {
      for (i = 0; i < dimension[0]; i++) {
        array[i] = parseElement(elementType);
      }
    }

    return array;
  };

  return parse(dims, elementType);
};

var parseText = function(value) {
  return value.toString('utf8');
};

var parseBool = function(value) {
  if(value === null) return null;
  return (parseBits(value, 8) > 0);
};

var init = function(register) {
  register(20, parseInt64);
  register(21, parseInt16);
  register(23, parseInt32);
  register(26, parseInt32);
  register(1700, parseNumeric);
  register(700, parseFloat32);
  register(701, parseFloat64);
  register(16, parseBool);
  register(1114, parseDate.bind(null, false));
  register(1184, parseDate.bind(null, true));
  register(1000, parseArray);
  register(1007, parseArray);
  register(1016, parseArray);
  register(1008, parseArray);
  register(1009, parseArray);
  register(25, parseText);
};

module.exports = {
  init: init
};


/***/ }),

/***/ 6345:
/***/ ((module) => {

/**
 * Following query was used to generate this file:

 SELECT json_object_agg(UPPER(PT.typname), PT.oid::int4 ORDER BY pt.oid)
 FROM pg_type PT
 WHERE typnamespace = (SELECT pgn.oid FROM pg_namespace pgn WHERE nspname = 'pg_catalog') -- Take only builting Postgres types with stable OID (extension types are not guaranted to be stable)
 AND typtype = 'b' -- Only basic types
 AND typelem = 0 -- Ignore aliases
 AND typisdefined -- Ignore undefined types
 */

module.exports = {
    BOOL: 16,
    BYTEA: 17,
    CHAR: 18,
    INT8: 20,
    INT2: 21,
    INT4: 23,
    REGPROC: 24,
    TEXT: 25,
    OID: 26,
    TID: 27,
    XID: 28,
    CID: 29,
    JSON: 114,
    XML: 142,
    PG_NODE_TREE: 194,
    SMGR: 210,
    PATH: 602,
    POLYGON: 604,
    CIDR: 650,
    FLOAT4: 700,
    FLOAT8: 701,
    ABSTIME: 702,
    RELTIME: 703,
    TINTERVAL: 704,
    CIRCLE: 718,
    MACADDR8: 774,
    MONEY: 790,
    MACADDR: 829,
    INET: 869,
    ACLITEM: 1033,
    BPCHAR: 1042,
    VARCHAR: 1043,
    DATE: 1082,
    TIME: 1083,
    TIMESTAMP: 1114,
    TIMESTAMPTZ: 1184,
    INTERVAL: 1186,
    TIMETZ: 1266,
    BIT: 1560,
    VARBIT: 1562,
    NUMERIC: 1700,
    REFCURSOR: 1790,
    REGPROCEDURE: 2202,
    REGOPER: 2203,
    REGOPERATOR: 2204,
    REGCLASS: 2205,
    REGTYPE: 2206,
    UUID: 2950,
    TXID_SNAPSHOT: 2970,
    PG_LSN: 3220,
    PG_NDISTINCT: 3361,
    PG_DEPENDENCIES: 3402,
    TSVECTOR: 3614,
    TSQUERY: 3615,
    GTSVECTOR: 3642,
    REGCONFIG: 3734,
    REGDICTIONARY: 3769,
    JSONB: 3802,
    REGNAMESPACE: 4089,
    REGROLE: 4096
};


/***/ }),

/***/ 4784:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

var array = __nccwpck_require__(3879)
var arrayParser = __nccwpck_require__(6471);
var parseDate = __nccwpck_require__(2690);
var parseInterval = __nccwpck_require__(8755);
var parseByteA = __nccwpck_require__(463);

function allowNull (fn) {
  return function nullAllowed (value) {
    if (value === null) return value
    return fn(value)
  }
}

function parseBool (value) {
  if (value === null) return value
  return value === 'TRUE' ||
    value === 't' ||
    value === 'true' ||
    value === 'y' ||
    value === 'yes' ||
    value === 'on' ||
    value === '1';
}

function parseBoolArray (value) {
  if (!value) return null
  return array.parse(value, parseBool)
}

function parseBaseTenInt (string) {
  return parseInt(string, 10)
}

function parseIntegerArray (value) {
  if (!value) return null
  return array.parse(value, allowNull(parseBaseTenInt))
}

function parseBigIntegerArray (value) {
  if (!value) return null
  return array.parse(value, allowNull(function (entry) {
    return parseBigInteger(entry).trim()
  }))
}

var parsePointArray = function(value) {
  if(!value) { return null; }
  var p = arrayParser.create(value, function(entry) {
    if(entry !== null) {
      entry = parsePoint(entry);
    }
    return entry;
  });

  return p.parse();
};

var parseFloatArray = function(value) {
  if(!value) { return null; }
  var p = arrayParser.create(value, function(entry) {
    if(entry !== null) {
      entry = parseFloat(entry);
    }
    return entry;
  });

  return p.parse();
};

var parseStringArray = function(value) {
  if(!value) { return null; }

  var p = arrayParser.create(value);
  return p.parse();
};

var parseDateArray = function(value) {
  if (!value) { return null; }

  var p = arrayParser.create(value, function(entry) {
    if (entry !== null) {
      entry = parseDate(entry);
    }
    return entry;
  });

  return p.parse();
};

var parseIntervalArray = function(value) {
  if (!value) { return null; }

  var p = arrayParser.create(value, function(entry) {
    if (entry !== null) {
      entry = parseInterval(entry);
    }
    return entry;
  });

  return p.parse();
};

var parseByteAArray = function(value) {
  if (!value) { return null; }

  return array.parse(value, allowNull(parseByteA));
};

var parseInteger = function(value) {
  return parseInt(value, 10);
};

var parseBigInteger = function(value) {
  var valStr = String(value);
  if (/^\d+$/.test(valStr)) { return valStr; }
  return value;
};

var parseJsonArray = function(value) {
  if (!value) { return null; }

  return array.parse(value, allowNull(JSON.parse));
};

var parsePoint = function(value) {
  if (value[0] !== '(') { return null; }

  value = value.substring( 1, value.length - 1 ).split(',');

  return {
    x: parseFloat(value[0])
  , y: parseFloat(value[1])
  };
};

var parseCircle = function(value) {
  if (value[0] !== '<' && value[1] !== '(') { return null; }

  var point = '(';
  var radius = '';
  var pointParsed = false;
  for (var i = 2; i < value.length - 1; i++){
    if (!pointParsed) {
      point += value[i];
    }

    if (value[i] === ')') {
      pointParsed = true;
      continue;
    } else if (!pointParsed) {
      continue;
    }

    if (value[i] === ','){
      continue;
    }

    radius += value[i];
  }
  var result = parsePoint(point);
  result.radius = parseFloat(radius);

  return result;
};

var init = function(register) {
  register(20, parseBigInteger); // int8
  register(21, parseInteger); // int2
  register(23, parseInteger); // int4
  register(26, parseInteger); // oid
  register(700, parseFloat); // float4/real
  register(701, parseFloat); // float8/double
  register(16, parseBool);
  register(1082, parseDate); // date
  register(1114, parseDate); // timestamp without timezone
  register(1184, parseDate); // timestamp
  register(600, parsePoint); // point
  register(651, parseStringArray); // cidr[]
  register(718, parseCircle); // circle
  register(1000, parseBoolArray);
  register(1001, parseByteAArray);
  register(1005, parseIntegerArray); // _int2
  register(1007, parseIntegerArray); // _int4
  register(1028, parseIntegerArray); // oid[]
  register(1016, parseBigIntegerArray); // _int8
  register(1017, parsePointArray); // point[]
  register(1021, parseFloatArray); // _float4
  register(1022, parseFloatArray); // _float8
  register(1231, parseFloatArray); // _numeric
  register(1014, parseStringArray); //char
  register(1015, parseStringArray); //varchar
  register(1008, parseStringArray);
  register(1009, parseStringArray);
  register(1040, parseStringArray); // macaddr[]
  register(1041, parseStringArray); // inet[]
  register(1115, parseDateArray); // timestamp without time zone[]
  register(1182, parseDateArray); // _date
  register(1185, parseDateArray); // timestamp with time zone[]
  register(1186, parseInterval);
  register(1187, parseIntervalArray);
  register(17, parseByteA);
  register(114, JSON.parse.bind(JSON)); // json
  register(3802, JSON.parse.bind(JSON)); // jsonb
  register(199, parseJsonArray); // json[]
  register(3807, parseJsonArray); // jsonb[]
  register(3907, parseStringArray); // numrange[]
  register(2951, parseStringArray); // uuid[]
  register(791, parseStringArray); // money[]
  register(1183, parseStringArray); // time[]
  register(1270, parseStringArray); // timetz[]
};

module.exports = {
  init: init
};


/***/ }),

/***/ 5042:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

const EventEmitter = (__nccwpck_require__(4434).EventEmitter)
const utils = __nccwpck_require__(9652)
const nodeUtils = __nccwpck_require__(9023)
const sasl = __nccwpck_require__(948)
const TypeOverrides = __nccwpck_require__(365)

const ConnectionParameters = __nccwpck_require__(646)
const Query = __nccwpck_require__(4473)
const defaults = __nccwpck_require__(8995)
const Connection = __nccwpck_require__(9809)
const crypto = __nccwpck_require__(4150)

const activeQueryDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'Client.activeQuery is deprecated and will be removed in pg@9.0'
)

const queryQueueDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'Client.queryQueue is deprecated and will be removed in pg@9.0.'
)

const pgPassDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'pgpass support is deprecated and will be removed in pg@9.0. ' +
    'You can provide an async function as the password property to the Client/Pool constructor that returns a password instead. Within this function you can call the pgpass module in your own code.'
)

const byoPromiseDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'Passing a custom Promise implementation to the Client/Pool constructor is deprecated and will be removed in pg@9.0.'
)

const queryQueueLengthDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'Calling client.query() when the client is already executing a query is deprecated and will be removed in pg@9.0. Use async/await or an external async flow control mechanism instead.'
)

function coerceNumberOrDefault(value, defaultValue) {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? value : defaultValue
  }
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value)
    return Number.isFinite(n) ? n : defaultValue
  }
  return defaultValue
}

class Client extends EventEmitter {
  constructor(config) {
    super()

    this.connectionParameters = new ConnectionParameters(config)
    this.user = this.connectionParameters.user
    this.database = this.connectionParameters.database
    this.port = this.connectionParameters.port
    this.host = this.connectionParameters.host

    // "hiding" the password so it doesn't show up in stack traces
    // or if the client is console.logged
    Object.defineProperty(this, 'password', {
      configurable: true,
      enumerable: false,
      writable: true,
      value: this.connectionParameters.password,
    })

    this.replication = this.connectionParameters.replication

    const c = config || {}

    if (c.Promise) {
      byoPromiseDeprecationNotice()
    }
    this._Promise = c.Promise || global.Promise
    this._types = new TypeOverrides(c.types)
    this._ending = false
    this._ended = false
    this._connecting = false
    this._connected = false
    this._connectionError = false
    this._queryable = true
    this._activeQuery = null
    this._txStatus = null

    this.enableChannelBinding = Boolean(c.enableChannelBinding) // set true to use SCRAM-SHA-256-PLUS when offered
    this.scramMaxIterations = coerceNumberOrDefault(c.scramMaxIterations, sasl.DEFAULT_MAX_SCRAM_ITERATIONS)
    this.connection =
      c.connection ||
      new Connection({
        stream: c.stream,
        ssl: this.connectionParameters.ssl,
        sslNegotiation: this.connectionParameters.sslnegotiation,
        keepAlive: c.keepAlive || false,
        keepAliveInitialDelayMillis: c.keepAliveInitialDelayMillis || 0,
        encoding: this.connectionParameters.client_encoding || 'utf8',
      })
    this._queryQueue = []
    this._sentQueryQueue = []
    this.pipeline = Boolean(c.pipeline)
    this.binary = c.binary || defaults.binary
    this.processID = null
    this.secretKey = null
    this.ssl = this.connectionParameters.ssl || false
    this.sslNegotiation = this.connectionParameters.sslnegotiation || 'postgres'
    // As with Password, make SSL->Key (the private key) non-enumerable.
    // It won't show up in stack traces
    // or if the client is console.logged
    if (this.ssl && this.ssl.key) {
      Object.defineProperty(this.ssl, 'key', {
        enumerable: false,
      })
    }

    this._connectionTimeoutMillis = c.connectionTimeoutMillis || 0
  }

  get activeQuery() {
    activeQueryDeprecationNotice()
    return this._activeQuery
  }

  set activeQuery(val) {
    activeQueryDeprecationNotice()
    this._activeQuery = val
  }

  _getActiveQuery() {
    return this._activeQuery
  }

  _errorAllQueries(err) {
    const enqueueError = (query) => {
      process.nextTick(() => {
        query.handleError(err, this.connection)
      })
    }

    const activeQuery = this._getActiveQuery()
    if (activeQuery) {
      enqueueError(activeQuery)
      this._activeQuery = null
    }

    this._sentQueryQueue.forEach(enqueueError)
    this._sentQueryQueue.length = 0

    this._queryQueue.forEach(enqueueError)
    this._queryQueue.length = 0
  }

  _connect(callback) {
    const self = this
    const con = this.connection
    this._connectionCallback = callback

    if (this._connecting || this._connected) {
      const err = new Error('Client has already been connected. You cannot reuse a client.')
      process.nextTick(() => {
        callback(err)
      })
      return
    }
    this._connecting = true

    if (this._connectionTimeoutMillis > 0) {
      this.connectionTimeoutHandle = setTimeout(() => {
        con._ending = true
        con.stream.destroy(new Error('timeout expired'))
      }, this._connectionTimeoutMillis)

      if (this.connectionTimeoutHandle.unref) {
        this.connectionTimeoutHandle.unref()
      }
    }

    if (this.host && this.host.indexOf('/') === 0) {
      con.connect(this.host + '/.s.PGSQL.' + this.port)
    } else {
      con.connect(this.port, this.host)
    }

    // once connection is established send startup message
    con.on('connect', function () {
      if (self.ssl) {
        // With direct SSL negotiation the connection upgrades to TLS without an
        // SSLRequest packet, so the startup message is sent after 'sslconnect'.
        if (self.sslNegotiation !== 'direct') {
          con.requestSsl()
        }
      } else {
        con.startup(self.getStartupConf())
      }
    })

    con.on('sslconnect', function () {
      con.startup(self.getStartupConf())
    })

    this._attachListeners(con)

    con.once('end', () => {
      const error = this._ending ? new Error('Connection terminated') : new Error('Connection terminated unexpectedly')

      clearTimeout(this.connectionTimeoutHandle)
      this._errorAllQueries(error)
      this._ended = true

      if (!this._ending) {
        // if the connection is ended without us calling .end()
        // on this client then we have an unexpected disconnection
        // treat this as an error unless we've already emitted an error
        // during connection.
        if (this._connecting && !this._connectionError) {
          if (this._connectionCallback) {
            this._connectionCallback(error)
          } else {
            this._handleErrorEvent(error)
          }
        } else if (!this._connectionError) {
          this._handleErrorEvent(error)
        }
      }

      process.nextTick(() => {
        this.emit('end')
      })
    })
  }

  connect(callback) {
    if (callback) {
      this._connect(callback)
      return
    }

    return new this._Promise((resolve, reject) => {
      this._connect((error) => {
        if (error) {
          reject(error)
        } else {
          resolve(this)
        }
      })
    })
  }

  _attachListeners(con) {
    // password request handling
    con.on('authenticationCleartextPassword', this._handleAuthCleartextPassword.bind(this))
    // password request handling
    con.on('authenticationMD5Password', this._handleAuthMD5Password.bind(this))
    // password request handling (SASL)
    con.on('authenticationSASL', this._handleAuthSASL.bind(this))
    con.on('authenticationSASLContinue', this._handleAuthSASLContinue.bind(this))
    con.on('authenticationSASLFinal', this._handleAuthSASLFinal.bind(this))
    con.on('backendKeyData', this._handleBackendKeyData.bind(this))
    con.on('error', this._handleErrorEvent.bind(this))
    con.on('errorMessage', this._handleErrorMessage.bind(this))
    con.on('readyForQuery', this._handleReadyForQuery.bind(this))
    con.on('notice', this._handleNotice.bind(this))
    con.on('rowDescription', this._handleRowDescription.bind(this))
    con.on('dataRow', this._handleDataRow.bind(this))
    con.on('portalSuspended', this._handlePortalSuspended.bind(this))
    con.on('emptyQuery', this._handleEmptyQuery.bind(this))
    con.on('commandComplete', this._handleCommandComplete.bind(this))
    con.on('parseComplete', this._handleParseComplete.bind(this))
    con.on('copyInResponse', this._handleCopyInResponse.bind(this))
    con.on('copyData', this._handleCopyData.bind(this))
    con.on('notification', this._handleNotification.bind(this))
  }

  _getPassword(cb) {
    const con = this.connection
    if (typeof this.password === 'function') {
      this._Promise
        .resolve()
        .then(() => this.password(this.connectionParameters))
        .then((pass) => {
          if (pass !== undefined) {
            if (typeof pass !== 'string') {
              con.emit('error', new TypeError('Password must be a string'))
              return
            }
            this.connectionParameters.password = this.password = pass
          } else {
            this.connectionParameters.password = this.password = null
          }
          cb()
        })
        .catch((err) => {
          con.emit('error', err)
        })
    } else if (this.password !== null) {
      cb()
    } else {
      try {
        const pgPass = __nccwpck_require__(3272)
        pgPass(this.connectionParameters, (pass) => {
          if (undefined !== pass) {
            pgPassDeprecationNotice()
            this.connectionParameters.password = this.password = pass
          }
          cb()
        })
      } catch (e) {
        this.emit('error', e)
      }
    }
  }

  _handleAuthCleartextPassword(msg) {
    this._getPassword(() => {
      this.connection.password(this.password)
    })
  }

  _handleAuthMD5Password(msg) {
    this._getPassword(async () => {
      try {
        const hashedPassword = await crypto.postgresMd5PasswordHash(this.user, this.password, msg.salt)
        this.connection.password(hashedPassword)
      } catch (e) {
        this.emit('error', e)
      }
    })
  }

  _handleAuthSASL(msg) {
    this._getPassword(() => {
      try {
        this.saslSession = sasl.startSession(
          msg.mechanisms,
          this.enableChannelBinding && this.connection.stream,
          this.scramMaxIterations
        )
        this.connection.sendSASLInitialResponseMessage(this.saslSession.mechanism, this.saslSession.response)
      } catch (err) {
        this.connection.emit('error', err)
      }
    })
  }

  async _handleAuthSASLContinue(msg) {
    try {
      await sasl.continueSession(
        this.saslSession,
        this.password,
        msg.data,
        this.enableChannelBinding && this.connection.stream
      )
      this.connection.sendSCRAMClientFinalMessage(this.saslSession.response)
    } catch (err) {
      this.connection.emit('error', err)
    }
  }

  _handleAuthSASLFinal(msg) {
    try {
      sasl.finalizeSession(this.saslSession, msg.data)
      this.saslSession = null
    } catch (err) {
      this.connection.emit('error', err)
    }
  }

  _handleBackendKeyData(msg) {
    this.processID = msg.processID
    this.secretKey = msg.secretKey
  }

  _handleReadyForQuery(msg) {
    if (this._connecting) {
      this._connecting = false
      this._connected = true
      clearTimeout(this.connectionTimeoutHandle)

      // process possible callback argument to Client#connect
      if (this._connectionCallback) {
        this._connectionCallback(null, this)
        // remove callback for proper error handling
        // after the connect event
        this._connectionCallback = null
      }
      this.emit('connect')
    }
    const activeQuery = this._getActiveQuery()
    this._activeQuery = null
    this._txStatus = msg?.status ?? null
    this.readyForQuery = true
    if (activeQuery) {
      activeQuery.handleReadyForQuery(this.connection)
    }
    this._pulseQueryQueue()
  }

  // if we receive an error event or error message
  // during the connection process we handle it here
  _handleErrorWhileConnecting(err) {
    if (this._connectionError) {
      // TODO(bmc): this is swallowing errors - we shouldn't do this
      return
    }
    this._connectionError = true
    clearTimeout(this.connectionTimeoutHandle)
    if (this._connectionCallback) {
      return this._connectionCallback(err)
    }
    this.emit('error', err)
  }

  // if we're connected and we receive an error event from the connection
  // this means the socket is dead - do a hard abort of all queries and emit
  // the socket error on the client as well
  _handleErrorEvent(err) {
    if (this._connecting) {
      return this._handleErrorWhileConnecting(err)
    }
    this._queryable = false
    this._errorAllQueries(err)
    this.emit('error', err)
  }

  // handle error messages from the postgres backend
  _handleErrorMessage(msg) {
    if (this._connecting) {
      return this._handleErrorWhileConnecting(msg)
    }
    const activeQuery = this._getActiveQuery()

    if (!activeQuery) {
      this._handleErrorEvent(msg)
      return
    }

    this._activeQuery = null
    if (activeQuery.name) {
      delete this.connection.submittedNamedStatements[activeQuery.name]
    }
    activeQuery.handleError(msg, this.connection)
  }

  _handleRowDescription(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected rowDescription message from backend.')
      this._handleErrorEvent(error)
      return
    }
    // delegate rowDescription to active query
    activeQuery.handleRowDescription(msg)
  }

  _handleDataRow(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected dataRow message from backend.')
      this._handleErrorEvent(error)
      return
    }
    // delegate dataRow to active query
    activeQuery.handleDataRow(msg)
  }

  _handlePortalSuspended(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected portalSuspended message from backend.')
      this._handleErrorEvent(error)
      return
    }
    // delegate portalSuspended to active query
    activeQuery.handlePortalSuspended(this.connection)
  }

  _handleEmptyQuery(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected emptyQuery message from backend.')
      this._handleErrorEvent(error)
      return
    }
    // delegate emptyQuery to active query
    activeQuery.handleEmptyQuery(this.connection)
  }

  _handleCommandComplete(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected commandComplete message from backend.')
      this._handleErrorEvent(error)
      return
    }
    // delegate commandComplete to active query
    activeQuery.handleCommandComplete(msg, this.connection)
  }

  _handleParseComplete() {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected parseComplete message from backend.')
      this._handleErrorEvent(error)
      return
    }
    // if a prepared statement has a name and properly parses
    // we track that its already been executed so we don't parse
    // it again on the same client
    if (activeQuery.name) {
      this.connection.parsedStatements[activeQuery.name] = activeQuery.text
      delete this.connection.submittedNamedStatements[activeQuery.name]
    }
  }

  _handleCopyInResponse(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected copyInResponse message from backend.')
      this._handleErrorEvent(error)
      return
    }
    activeQuery.handleCopyInResponse(this.connection)
  }

  _handleCopyData(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected copyData message from backend.')
      this._handleErrorEvent(error)
      return
    }
    activeQuery.handleCopyData(msg, this.connection)
  }

  _handleNotification(msg) {
    this.emit('notification', msg)
  }

  _handleNotice(msg) {
    this.emit('notice', msg)
  }

  getStartupConf() {
    const params = this.connectionParameters

    const data = {
      user: params.user,
      database: params.database,
    }

    const appName = params.application_name || params.fallback_application_name
    if (appName) {
      data.application_name = appName
    }
    if (params.replication) {
      data.replication = '' + params.replication
    }
    if (params.statement_timeout) {
      data.statement_timeout = String(parseInt(params.statement_timeout, 10))
    }
    if (params.lock_timeout) {
      data.lock_timeout = String(parseInt(params.lock_timeout, 10))
    }
    if (params.idle_in_transaction_session_timeout) {
      data.idle_in_transaction_session_timeout = String(parseInt(params.idle_in_transaction_session_timeout, 10))
    }
    if (params.options) {
      data.options = params.options
    }

    return data
  }

  cancel(client, query) {
    if (client.activeQuery === query) {
      const con = this.connection

      if (this.host && this.host.indexOf('/') === 0) {
        con.connect(this.host + '/.s.PGSQL.' + this.port)
      } else {
        con.connect(this.port, this.host)
      }

      // once connection is established send cancel message
      con.on('connect', function () {
        con.cancel(client.processID, client.secretKey)
      })
    } else if (client._queryQueue.indexOf(query) !== -1) {
      client._queryQueue.splice(client._queryQueue.indexOf(query), 1)
    } else if (client._sentQueryQueue.indexOf(query) !== -1) {
      // Query already sent on wire — can't remove it without corrupting the
      // pipeline. No-op the callback so the result is silently discarded.
      query.callback = () => {}
    }
  }

  setTypeParser(oid, format, parseFn) {
    return this._types.setTypeParser(oid, format, parseFn)
  }

  getTypeParser(oid, format) {
    return this._types.getTypeParser(oid, format)
  }

  // escapeIdentifier and escapeLiteral moved to utility functions & exported
  // on PG
  // re-exported here for backwards compatibility
  escapeIdentifier(str) {
    return utils.escapeIdentifier(str)
  }

  escapeLiteral(str) {
    return utils.escapeLiteral(str)
  }

  _pulseQueryQueue() {
    if (this.pipeline) {
      this._pulsePipelinedQueryQueue()
      return
    }
    if (this.readyForQuery === true) {
      this._activeQuery = this._queryQueue.shift()
      const activeQuery = this._getActiveQuery()
      if (activeQuery) {
        this.readyForQuery = false
        this.hasExecuted = true

        const queryError = activeQuery.submit(this.connection)
        if (queryError) {
          process.nextTick(() => {
            activeQuery.handleError(queryError, this.connection)
            this.readyForQuery = true
            this._pulseQueryQueue()
          })
        }
      } else if (this.hasExecuted) {
        this._activeQuery = null
        this.emit('drain')
      }
    }
  }

  _pulsePipelinedQueryQueue() {
    if (!this._connected || !this._queryable) {
      return
    }
    while (this._queryQueue.length > 0) {
      const query = this._queryQueue.shift()
      this.hasExecuted = true
      const queryError = query.submit(this.connection)
      if (queryError) {
        process.nextTick(() => {
          query.handleError(queryError, this.connection)
        })
        continue
      }
      this._sentQueryQueue.push(query)
    }
    if (this.readyForQuery && !this._activeQuery && this._sentQueryQueue.length > 0) {
      this._activeQuery = this._sentQueryQueue.shift()
      this.readyForQuery = false
    }
    if (!this._activeQuery && this._sentQueryQueue.length === 0 && this._queryQueue.length === 0 && this.hasExecuted) {
      this.emit('drain')
    }
  }

  query(config, values, callback) {
    // can take in strings, config object or query object
    let query
    let result

    if (config == null) {
      throw new TypeError('Client was passed a null or undefined query')
    }

    if (typeof config.submit === 'function') {
      result = query = config
      if (!query.callback) {
        if (typeof values === 'function') {
          query.callback = values
        } else if (callback) {
          query.callback = callback
        }
      }
    } else {
      query = new Query(config, values, callback)
      if (!query.callback) {
        result = new this._Promise((resolve, reject) => {
          query.callback = (err, res) => (err ? reject(err) : resolve(res))
        }).catch((err) => {
          // replace the stack trace that leads to `TCP.onStreamRead` with one that leads back to the
          // application that created the query
          Error.captureStackTrace(err)
          throw err
        })
      } else if (typeof query.callback !== 'function') {
        throw new TypeError('callback is not a function')
      }
    }

    const readTimeout = config.query_timeout || this.connectionParameters.query_timeout
    if (readTimeout) {
      const queryCallback = query.callback || (() => {})

      const readTimeoutTimer = setTimeout(() => {
        const error = new Error('Query read timeout')

        process.nextTick(() => {
          query.handleError(error, this.connection)
        })

        queryCallback(error)

        // we already returned an error,
        // just do nothing if query completes
        query.callback = () => {}

        // Remove from queue (only safe if not yet sent)
        const index = this._queryQueue.indexOf(query)
        if (index > -1) {
          this._queryQueue.splice(index, 1)
        } else if (this.pipeline) {
          // Query already sent — the pipeline is blocked until it completes.
          // Destroy the connection to unblock all remaining pipelined queries.
          this.connection.stream.destroy()
          return
        }

        this._pulseQueryQueue()
      }, readTimeout)

      query.callback = (err, res) => {
        clearTimeout(readTimeoutTimer)
        queryCallback(err, res)
      }
    }

    if (this.binary && !query.binary) {
      query.binary = true
    }

    if (query._result && !query._result._types) {
      query._result._types = this._types
    }

    // A query that keeps a portal open across round trips cannot share a pipelined connection: the
    // queries written behind it are answered out of its portal, so rows land on the wrong query and
    // the reads that follow fail with 'portal does not exist'. Refuse it instead of corrupting.
    if (this.pipeline) {
      const portalQuery =
        typeof config.submit === 'function' && !(query instanceof Query)
          ? 'Custom query classes such as pg-cursor and pg-query-stream are'
          : query.rows
          ? 'The `rows` option is'
          : null
      if (portalQuery) {
        process.nextTick(() => {
          query.handleError(new Error(`${portalQuery} not supported in pipeline mode`), this.connection)
        })
        return result
      }
    }

    if (!this._queryable) {
      process.nextTick(() => {
        query.handleError(new Error('Client has encountered a connection error and is not queryable'), this.connection)
      })
      return result
    }

    if (this._ending) {
      process.nextTick(() => {
        query.handleError(new Error('Client was closed and is not queryable'), this.connection)
      })
      return result
    }

    if (this._queryQueue.length > 0 && !this.pipeline) {
      queryQueueLengthDeprecationNotice()
    }
    this._queryQueue.push(query)
    this._pulseQueryQueue()
    return result
  }

  ref() {
    this.connection.ref()
  }

  unref() {
    this.connection.unref()
  }

  getTransactionStatus() {
    return this._txStatus
  }

  end(cb) {
    this._ending = true

    // if we have never connected, then end is a noop, callback immediately
    if (!this.connection._connecting || this._ended) {
      if (cb) {
        cb()
        return
      } else {
        return this._Promise.resolve()
      }
    }

    if (!this._queryable) {
      // socket is dead — force close
      this.connection.stream.destroy()
    } else if (
      this.pipeline &&
      (this._getActiveQuery() || this._sentQueryQueue.length > 0 || this._queryQueue.length > 0)
    ) {
      // pipelined queries are already on the wire (or queued to send) and will
      // complete normally; wait for drain then do a graceful goodbye
      this.once('drain', () => this.connection.end())
    } else if (this._getActiveQuery()) {
      // non-pipeline: a hung query could block end forever — force disconnect
      this.connection.stream.destroy()
    } else {
      this.connection.end()
    }

    if (cb) {
      this.connection.once('end', cb)
    } else {
      return new this._Promise((resolve) => {
        this.connection.once('end', resolve)
      })
    }
  }
  get queryQueue() {
    queryQueueDeprecationNotice()
    return this._queryQueue
  }
}

// expose a Query constructor
Client.Query = Query

module.exports = Client


/***/ }),

/***/ 646:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const dns = __nccwpck_require__(2250)

const defaults = __nccwpck_require__(8995)

const parse = (__nccwpck_require__(6122).parse) // parses a connection string

const val = function (key, config, envVar) {
  if (config[key]) {
    return config[key]
  }

  if (envVar === undefined) {
    envVar = process.env['PG' + key.toUpperCase()]
  } else if (envVar === false) {
    // do nothing ... use false
  } else {
    envVar = process.env[envVar]
  }

  return envVar || defaults[key]
}

const readSSLConfigFromEnvironment = function () {
  switch (process.env.PGSSLMODE) {
    case 'disable':
      return false
    case 'prefer':
    case 'require':
    case 'verify-ca':
    case 'verify-full':
      return true
    case 'no-verify':
      return { rejectUnauthorized: false }
  }
  return defaults.ssl
}

// Convert arg to a string, surround in single quotes, and escape single quotes and backslashes
const quoteParamValue = function (value) {
  return "'" + ('' + value).replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'"
}

const add = function (params, config, paramName) {
  const value = config[paramName]
  if (value !== undefined && value !== null) {
    params.push(paramName + '=' + quoteParamValue(value))
  }
}

class ConnectionParameters {
  constructor(config) {
    // if a string is passed, it is a raw connection string so we parse it into a config
    config = typeof config === 'string' ? parse(config) : config || {}

    // if the config has a connectionString defined, parse IT into the config we use
    // this will override other default values with what is stored in connectionString
    if (config.connectionString) {
      config = Object.assign({}, config, parse(config.connectionString))
    }

    this.user = val('user', config)
    this.database = val('database', config)

    if (this.database === undefined) {
      this.database = this.user
    }

    this.port = parseInt(val('port', config), 10)
    this.host = val('host', config)

    // "hiding" the password so it doesn't show up in stack traces
    // or if the client is console.logged
    Object.defineProperty(this, 'password', {
      configurable: true,
      enumerable: false,
      writable: true,
      value: val('password', config),
    })

    this.binary = val('binary', config)
    this.options = val('options', config)

    this.ssl = typeof config.ssl === 'undefined' ? readSSLConfigFromEnvironment() : config.ssl

    if (typeof this.ssl === 'string') {
      if (this.ssl === 'true') {
        this.ssl = true
      }
    }
    // support passing in ssl=no-verify via connection string
    if (this.ssl === 'no-verify') {
      this.ssl = { rejectUnauthorized: false }
    }
    if (this.ssl && this.ssl.key) {
      Object.defineProperty(this.ssl, 'key', {
        enumerable: false,
      })
    }

    // How to negotiate SSL: 'postgres' (default, the traditional SSLRequest
    // handshake) or 'direct' (start the TLS handshake immediately on connect).
    this.sslnegotiation = val('sslnegotiation', config, 'PGSSLNEGOTIATION')
    if (this.sslnegotiation !== undefined && this.sslnegotiation !== 'postgres' && this.sslnegotiation !== 'direct') {
      throw new Error(
        `Invalid sslnegotiation value: "${this.sslnegotiation}". Valid values are "postgres" and "direct".`
      )
    }
    if (this.sslnegotiation === 'direct' && !this.ssl) {
      throw new Error('sslnegotiation=direct requires SSL to be enabled')
    }

    this.client_encoding = val('client_encoding', config)
    this.replication = val('replication', config)
    // a domain socket begins with '/'
    this.isDomainSocket = !(this.host || '').indexOf('/')

    this.application_name = val('application_name', config, 'PGAPPNAME')
    this.fallback_application_name = val('fallback_application_name', config, false)
    this.statement_timeout = val('statement_timeout', config, false)
    this.lock_timeout = val('lock_timeout', config, false)
    this.idle_in_transaction_session_timeout = val('idle_in_transaction_session_timeout', config, false)
    this.query_timeout = val('query_timeout', config, false)

    if (config.connectionTimeoutMillis === undefined) {
      this.connect_timeout = process.env.PGCONNECT_TIMEOUT || 0
    } else {
      this.connect_timeout = Math.floor(config.connectionTimeoutMillis / 1000)
    }

    if (config.keepAlive === false) {
      this.keepalives = 0
    } else if (config.keepAlive === true) {
      this.keepalives = 1
    }

    if (typeof config.keepAliveInitialDelayMillis === 'number') {
      this.keepalives_idle = Math.floor(config.keepAliveInitialDelayMillis / 1000)
    }
  }

  getLibpqConnectionString(cb) {
    const params = []
    add(params, this, 'user')
    add(params, this, 'password')
    add(params, this, 'port')
    add(params, this, 'application_name')
    add(params, this, 'fallback_application_name')
    add(params, this, 'connect_timeout')
    add(params, this, 'options')

    const ssl = typeof this.ssl === 'object' ? this.ssl : this.ssl ? { sslmode: this.ssl } : {}
    add(params, ssl, 'sslmode')
    add(params, ssl, 'sslca')
    add(params, ssl, 'sslkey')
    add(params, ssl, 'sslcert')
    add(params, ssl, 'sslrootcert')
    add(params, this, 'sslnegotiation')

    if (this.database) {
      params.push('dbname=' + quoteParamValue(this.database))
    }
    if (this.replication) {
      params.push('replication=' + quoteParamValue(this.replication))
    }
    if (this.host) {
      params.push('host=' + quoteParamValue(this.host))
    }
    if (this.isDomainSocket) {
      return cb(null, params.join(' '))
    }
    if (this.client_encoding) {
      params.push('client_encoding=' + quoteParamValue(this.client_encoding))
    }
    dns.lookup(this.host, function (err, address) {
      if (err) return cb(err, null)
      params.push('hostaddr=' + quoteParamValue(address))
      return cb(null, params.join(' '))
    })
  }
}

module.exports = ConnectionParameters


/***/ }),

/***/ 9809:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const EventEmitter = (__nccwpck_require__(4434).EventEmitter)

const { parse, serialize } = __nccwpck_require__(4233)
const stream = __nccwpck_require__(829)
const { getStream } = stream

const flushBuffer = serialize.flush()
const syncBuffer = serialize.sync()
const endBuffer = serialize.end()

// TODO(bmc) support binary mode at some point
class Connection extends EventEmitter {
  constructor(config) {
    super()
    config = config || {}

    this.stream = config.stream || getStream(config.ssl)
    if (typeof this.stream === 'function') {
      this.stream = this.stream(config)
    }

    this._keepAlive = config.keepAlive
    this._keepAliveInitialDelayMillis = config.keepAliveInitialDelayMillis
    this.parsedStatements = {}
    this.submittedNamedStatements = {}
    this.ssl = config.ssl || false
    this.sslNegotiation = config.sslNegotiation || 'postgres'
    this._ending = false
    this._emitMessage = false
    const self = this
    this.on('newListener', function (eventName) {
      if (eventName === 'message') {
        self._emitMessage = true
      }
    })
  }

  connect(port, host) {
    const self = this

    this._connecting = true
    this.stream.setNoDelay(true)
    this.stream.connect(port, host)

    this.stream.once('connect', function () {
      if (self._keepAlive) {
        self.stream.setKeepAlive(true, self._keepAliveInitialDelayMillis)
      }
      self.emit('connect')
    })

    const reportStreamError = function (error) {
      // errors about disconnections should be ignored during disconnect
      if (self._ending && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
        return
      }
      self.emit('error', error)
    }
    this.stream.on('error', reportStreamError)

    this.stream.on('close', function () {
      self.emit('end')
    })

    if (!this.ssl) {
      return this.attachListeners(this.stream)
    }

    // With direct SSL negotiation the TLS handshake starts immediately on the
    // raw socket, skipping the SSLRequest packet and the server's 'S'/'N' reply.
    if (this.sslNegotiation === 'direct') {
      return this.stream.once('connect', function () {
        self.upgradeToSSL(host, reportStreamError)
      })
    }

    this.stream.once('data', function (buffer) {
      const responseCode = buffer.toString('utf8')
      switch (responseCode) {
        case 'S': // Server supports SSL connections, continue with a secure connection
          break
        case 'N': // Server does not support SSL connections
          self.stream.end()
          return self.emit('error', new Error('The server does not support SSL connections'))
        default:
          // Any other response byte, including 'E' (ErrorResponse) indicating a server error
          self.stream.end()
          return self.emit('error', new Error('There was an error establishing an SSL connection'))
      }
      self.upgradeToSSL(host, reportStreamError)
    })
  }

  upgradeToSSL(host, reportStreamError) {
    const self = this
    const options = {
      socket: self.stream,
      // tls.connect checks the server identity against `servername`, falling
      // back to `host` and then to 'localhost'. `servername` must stay unset
      // for IP addresses (see below), so `host` is needed to keep certificate
      // validation working when connecting to an IP address.
      host,
    }

    if (self.ssl !== true) {
      Object.assign(options, self.ssl)

      if ('key' in self.ssl) {
        options.key = self.ssl.key
      }
    }

    // Direct SSL negotiation requires ALPN so the server can confirm it is
    // speaking the PostgreSQL protocol over the TLS connection.
    if (self.sslNegotiation === 'direct') {
      options.ALPNProtocols = ['postgresql']
    }

    // SNI must not be set to an IP address (RFC 6066 section 3)
    const net = __nccwpck_require__(9278)
    if (net.isIP && net.isIP(host) === 0) {
      options.servername = host
    }
    try {
      self.stream = stream.getSecureStream(options)
    } catch (err) {
      return self.emit('error', err)
    }
    self.attachListeners(self.stream)
    self.stream.on('error', reportStreamError)

    self.emit('sslconnect')
  }

  attachListeners(stream) {
    parse(stream, (msg) => {
      const eventName = msg.name === 'error' ? 'errorMessage' : msg.name
      if (this._emitMessage) {
        this.emit('message', msg)
      }
      this.emit(eventName, msg)
    })
  }

  requestSsl() {
    this.stream.write(serialize.requestSsl())
  }

  startup(config) {
    this.stream.write(serialize.startup(config))
  }

  cancel(processID, secretKey) {
    this._send(serialize.cancel(processID, secretKey))
  }

  password(password) {
    this._send(serialize.password(password))
  }

  sendSASLInitialResponseMessage(mechanism, initialResponse) {
    this._send(serialize.sendSASLInitialResponseMessage(mechanism, initialResponse))
  }

  sendSCRAMClientFinalMessage(additionalData) {
    this._send(serialize.sendSCRAMClientFinalMessage(additionalData))
  }

  _send(buffer) {
    if (!this.stream.writable) {
      return false
    }
    return this.stream.write(buffer)
  }

  query(text) {
    this._send(serialize.query(text))
  }

  // send parse message
  parse(query) {
    this._send(serialize.parse(query))
  }

  // send bind message
  bind(config) {
    this._send(serialize.bind(config))
  }

  // send execute message
  execute(config) {
    this._send(serialize.execute(config))
  }

  flush() {
    if (this.stream.writable) {
      this.stream.write(flushBuffer)
    }
  }

  sync() {
    // Sync is the extended-query protocol barrier, not a disconnect.
    // Only end()/Terminate (and connect-timeout teardown) should set _ending.
    this._send(syncBuffer)
  }

  ref() {
    this.stream.ref()
  }

  unref() {
    this.stream.unref()
  }

  end() {
    // 0x58 = 'X'
    this._ending = true
    if (!this._connecting || !this.stream.writable) {
      this.stream.end()
      return
    }
    return this.stream.write(endBuffer, () => {
      this.stream.end()
    })
  }

  close(msg) {
    this._send(serialize.close(msg))
  }

  describe(msg) {
    this._send(serialize.describe(msg))
  }

  sendCopyFromChunk(chunk) {
    this._send(serialize.copyData(chunk))
  }

  endCopyFrom() {
    this._send(serialize.copyDone())
  }

  sendCopyFail(msg) {
    this._send(serialize.copyFail(msg))
  }
}

module.exports = Connection


/***/ }),

/***/ 9765:
/***/ ((module) => {

function x509Error(msg, cert) {
  return new Error('SASL channel binding: ' + msg + ' when parsing public certificate ' + cert.toString('base64'))
}

function readASN1Length(data, index) {
  let length = data[index++]
  if (length < 0x80) return { length, index }

  const lengthBytes = length & 0x7f
  if (lengthBytes > 4) throw x509Error('bad length', data)

  length = 0
  for (let i = 0; i < lengthBytes; i++) {
    length = (length << 8) | data[index++]
  }

  return { length, index }
}

function readASN1OID(data, index) {
  if (data[index++] !== 0x6) throw x509Error('non-OID data', data) // 6 = OID

  const { length: OIDLength, index: indexAfterOIDLength } = readASN1Length(data, index)
  index = indexAfterOIDLength
  const lastIndex = index + OIDLength

  const byte1 = data[index++]
  let oid = ((byte1 / 40) >> 0) + '.' + (byte1 % 40)

  while (index < lastIndex) {
    // loop over numbers in OID
    let value = 0
    while (index < lastIndex) {
      // loop over bytes in number
      const nextByte = data[index++]
      value = (value << 7) | (nextByte & 0x7f)
      if (nextByte < 0x80) break
    }
    oid += '.' + value
  }

  return { oid, index }
}

function expectASN1Seq(data, index) {
  if (data[index++] !== 0x30) throw x509Error('non-sequence data', data) // 30 = Sequence
  return readASN1Length(data, index)
}

function signatureAlgorithmHashFromCertificate(data, index) {
  // read this thread: https://www.postgresql.org/message-id/17760-b6c61e752ec07060%40postgresql.org
  if (index === undefined) index = 0
  index = expectASN1Seq(data, index).index
  const { length: certInfoLength, index: indexAfterCertInfoLength } = expectASN1Seq(data, index)
  index = indexAfterCertInfoLength + certInfoLength // skip over certificate info
  index = expectASN1Seq(data, index).index // skip over signature length field
  const { oid, index: indexAfterOID } = readASN1OID(data, index)
  switch (oid) {
    // RSA
    case '1.2.840.113549.1.1.4':
      return 'MD5'
    case '1.2.840.113549.1.1.5':
      return 'SHA-1'
    case '1.2.840.113549.1.1.11':
      return 'SHA-256'
    case '1.2.840.113549.1.1.12':
      return 'SHA-384'
    case '1.2.840.113549.1.1.13':
      return 'SHA-512'
    case '1.2.840.113549.1.1.14':
      return 'SHA-224'
    case '1.2.840.113549.1.1.15':
      return 'SHA512-224'
    case '1.2.840.113549.1.1.16':
      return 'SHA512-256'
    // ECDSA
    case '1.2.840.10045.4.1':
      return 'SHA-1'
    case '1.2.840.10045.4.3.1':
      return 'SHA-224'
    case '1.2.840.10045.4.3.2':
      return 'SHA-256'
    case '1.2.840.10045.4.3.3':
      return 'SHA-384'
    case '1.2.840.10045.4.3.4':
      return 'SHA-512'
    // RSASSA-PSS: hash is indicated separately
    case '1.2.840.113549.1.1.10': {
      index = indexAfterOID
      index = expectASN1Seq(data, index).index
      if (data[index++] !== 0xa0) throw x509Error('non-tag data', data) // a0 = constructed tag 0
      index = readASN1Length(data, index).index // skip over tag length field
      index = expectASN1Seq(data, index).index // skip over sequence length field
      const { oid: hashOID } = readASN1OID(data, index)
      switch (hashOID) {
        // standalone hash OIDs
        case '1.2.840.113549.2.5':
          return 'MD5'
        case '1.3.14.3.2.26':
          return 'SHA-1'
        case '2.16.840.1.101.3.4.2.1':
          return 'SHA-256'
        case '2.16.840.1.101.3.4.2.2':
          return 'SHA-384'
        case '2.16.840.1.101.3.4.2.3':
          return 'SHA-512'
      }
      throw x509Error('unknown hash OID ' + hashOID, data)
    }
    // Ed25519 -- see https://github.com/openssl/openssl/issues/15477
    case '1.3.101.110':
    case '1.3.101.112': // ph
      return 'SHA-512'
    // Ed448 -- still not in pg 17.2 (if supported, digest would be SHAKE256 x 64 bytes)
    case '1.3.101.111':
    case '1.3.101.113': // ph
      throw x509Error('Ed448 certificate channel binding is not currently supported by Postgres')
  }
  throw x509Error('unknown OID ' + oid, data)
}

module.exports = { signatureAlgorithmHashFromCertificate }


/***/ }),

/***/ 948:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {


const crypto = __nccwpck_require__(4150)
const { signatureAlgorithmHashFromCertificate } = __nccwpck_require__(9765)

// SASLprep (RFC 4013) — minimal in-tree implementation.
//
// Per RFC 5802 §2.2, the SCRAM-SHA-256 client must normalize the password via
// SASLprep before feeding it into PBKDF2. PostgreSQL's server applies the same
// SASLprep when computing the stored verifier, and libpq does the same client
// side, so passwords whose NFKC form differs from the raw form
// would otherwise authenticate against psql/libpq but fail against pg with `28P01`.
//
// We deliberately implement only the three steps that change the byte content:
//   1. RFC 3454 Table C.1.2 (non-ASCII space) → U+0020 SPACE.
//   2. RFC 3454 Table B.1 (commonly mapped to nothing) → empty.
//   3. NFKC normalization.
// We skip the prohibition (RFC 4013 §2.3) and bidi (RFC 3454 §6) checks.
// libpq is forgiving on those paths and Postgres's own SASLprep matches that
// leniency for legacy roles, so omitting the rejection logic keeps existing
// roles working without adding complexity.
function saslprep(password) {
  // RFC 3454 Table C.1.2 — non-ASCII space characters, mapped to U+0020.
  const nonAsciiSpace = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g
  // RFC 3454 Table B.1 — "commonly mapped to nothing". The set intentionally
  // contains zero-width joiners and variation selectors — the very characters
  // ESLint's no-misleading-character-class warns about — because they combine
  // with their neighbors and the RFC strips them for that reason.
  // eslint-disable-next-line no-misleading-character-class
  const mappedToNothing = /[\u00AD\u034F\u1806\u180B\u180C\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g
  return password.replace(nonAsciiSpace, ' ').replace(mappedToNothing, '').normalize('NFKC')
}

const DEFAULT_MAX_SCRAM_ITERATIONS = 100000

function startSession(mechanisms, stream, scramMaxIterations = DEFAULT_MAX_SCRAM_ITERATIONS) {
  const candidates = ['SCRAM-SHA-256']
  if (stream) candidates.unshift('SCRAM-SHA-256-PLUS') // higher-priority, so placed first

  const mechanism = candidates.find((candidate) => mechanisms.includes(candidate))

  if (!mechanism) {
    throw new Error('SASL: Only mechanism(s) ' + candidates.join(' and ') + ' are supported')
  }

  if (mechanism === 'SCRAM-SHA-256-PLUS' && typeof stream.getPeerCertificate !== 'function') {
    // this should never happen if we are really talking to a Postgres server
    throw new Error('SASL: Mechanism SCRAM-SHA-256-PLUS requires a certificate')
  }

  const clientNonce = crypto.randomBytes(18).toString('base64')
  const gs2Header = mechanism === 'SCRAM-SHA-256-PLUS' ? 'p=tls-server-end-point' : stream ? 'y' : 'n'

  return {
    mechanism,
    clientNonce,
    response: gs2Header + ',,n=*,r=' + clientNonce,
    message: 'SASLInitialResponse',
    scramMaxIterations,
  }
}

async function continueSession(session, password, serverData, stream) {
  if (session.message !== 'SASLInitialResponse') {
    throw new Error('SASL: Last message was not SASLInitialResponse')
  }
  if (typeof password !== 'string') {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string')
  }
  if (password === '') {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a non-empty string')
  }
  if (typeof serverData !== 'string') {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: serverData must be a string')
  }

  const sv = parseServerFirstMessage(serverData)

  if (!sv.nonce.startsWith(session.clientNonce)) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: server nonce does not start with client nonce')
  } else if (sv.nonce.length === session.clientNonce.length) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: server nonce is too short')
  }

  const scramMaxIterations =
    typeof session.scramMaxIterations === 'number' ? session.scramMaxIterations : DEFAULT_MAX_SCRAM_ITERATIONS
  // a value of 0 disables the iteration count check
  if (scramMaxIterations !== 0 && sv.iteration > scramMaxIterations) {
    throw new Error(
      'SASL: SCRAM-SERVER-FIRST-MESSAGE: iteration count ' +
        sv.iteration +
        ' exceeds scramMaxIterations of ' +
        scramMaxIterations
    )
  }

  const clientFirstMessageBare = 'n=*,r=' + session.clientNonce
  const serverFirstMessage = 'r=' + sv.nonce + ',s=' + sv.salt + ',i=' + sv.iteration

  // without channel binding:
  let channelBinding = stream ? 'eSws' : 'biws' // 'y,,' or 'n,,', base64-encoded

  // override if channel binding is in use:
  if (session.mechanism === 'SCRAM-SHA-256-PLUS') {
    const peerCert = stream.getPeerCertificate().raw
    let hashName = signatureAlgorithmHashFromCertificate(peerCert)
    if (hashName === 'MD5' || hashName === 'SHA-1') hashName = 'SHA-256'
    const certHash = await crypto.hashByName(hashName, peerCert)
    const bindingData = Buffer.concat([Buffer.from('p=tls-server-end-point,,'), Buffer.from(certHash)])
    channelBinding = bindingData.toString('base64')
  }

  const clientFinalMessageWithoutProof = 'c=' + channelBinding + ',r=' + sv.nonce
  const authMessage = clientFirstMessageBare + ',' + serverFirstMessage + ',' + clientFinalMessageWithoutProof

  const saltBytes = Buffer.from(sv.salt, 'base64')
  const saltedPassword = await crypto.deriveKey(saslprep(password), saltBytes, sv.iteration)
  const clientKey = await crypto.hmacSha256(saltedPassword, 'Client Key')
  const storedKey = await crypto.sha256(clientKey)
  const clientSignature = await crypto.hmacSha256(storedKey, authMessage)
  const clientProof = xorBuffers(Buffer.from(clientKey), Buffer.from(clientSignature)).toString('base64')
  const serverKey = await crypto.hmacSha256(saltedPassword, 'Server Key')
  const serverSignatureBytes = await crypto.hmacSha256(serverKey, authMessage)

  session.message = 'SASLResponse'
  session.serverSignature = Buffer.from(serverSignatureBytes).toString('base64')
  session.response = clientFinalMessageWithoutProof + ',p=' + clientProof
}

function finalizeSession(session, serverData) {
  if (session.message !== 'SASLResponse') {
    throw new Error('SASL: Last message was not SASLResponse')
  }
  if (typeof serverData !== 'string') {
    throw new Error('SASL: SCRAM-SERVER-FINAL-MESSAGE: serverData must be a string')
  }

  const { serverSignature } = parseServerFinalMessage(serverData)

  if (serverSignature !== session.serverSignature) {
    throw new Error('SASL: SCRAM-SERVER-FINAL-MESSAGE: server signature does not match')
  }
}

/**
 * printable       = %x21-2B / %x2D-7E
 *                   ;; Printable ASCII except ",".
 *                   ;; Note that any "printable" is also
 *                   ;; a valid "value".
 */
function isPrintableChars(text) {
  if (typeof text !== 'string') {
    throw new TypeError('SASL: text must be a string')
  }
  return text
    .split('')
    .map((_, i) => text.charCodeAt(i))
    .every((c) => (c >= 0x21 && c <= 0x2b) || (c >= 0x2d && c <= 0x7e))
}

/**
 * base64-char     = ALPHA / DIGIT / "/" / "+"
 *
 * base64-4        = 4base64-char
 *
 * base64-3        = 3base64-char "="
 *
 * base64-2        = 2base64-char "=="
 *
 * base64          = *base64-4 [base64-3 / base64-2]
 */
function isBase64(text) {
  return /^(?:[a-zA-Z0-9+/]{4})*(?:[a-zA-Z0-9+/]{2}==|[a-zA-Z0-9+/]{3}=)?$/.test(text)
}

function parseAttributePairs(text) {
  if (typeof text !== 'string') {
    throw new TypeError('SASL: attribute pairs text must be a string')
  }

  return new Map(
    text.split(',').map((attrValue) => {
      if (!/^.=/.test(attrValue)) {
        throw new Error('SASL: Invalid attribute pair entry')
      }
      const name = attrValue[0]
      const value = attrValue.substring(2)
      return [name, value]
    })
  )
}

function parseServerFirstMessage(data) {
  const attrPairs = parseAttributePairs(data)

  const nonce = attrPairs.get('r')
  if (!nonce) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: nonce missing')
  } else if (!isPrintableChars(nonce)) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: nonce must only contain printable characters')
  }
  const salt = attrPairs.get('s')
  if (!salt) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: salt missing')
  } else if (!isBase64(salt)) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: salt must be base64')
  }
  const iterationText = attrPairs.get('i')
  if (!iterationText) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: iteration missing')
  } else if (!/^[1-9][0-9]*$/.test(iterationText)) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: invalid iteration count')
  }
  const iteration = parseInt(iterationText, 10)

  return {
    nonce,
    salt,
    iteration,
  }
}

function parseServerFinalMessage(serverData) {
  const attrPairs = parseAttributePairs(serverData)
  const error = attrPairs.get('e')
  const serverSignature = attrPairs.get('v')

  if (error) {
    throw new Error(`SASL: SCRAM-SERVER-FINAL-MESSAGE: server returned error: "${error}"`)
  }

  if (!serverSignature) {
    throw new Error('SASL: SCRAM-SERVER-FINAL-MESSAGE: server signature is missing')
  } else if (!isBase64(serverSignature)) {
    throw new Error('SASL: SCRAM-SERVER-FINAL-MESSAGE: server signature must be base64')
  }
  return {
    serverSignature,
  }
}

function xorBuffers(a, b) {
  if (!Buffer.isBuffer(a)) {
    throw new TypeError('first argument must be a Buffer')
  }
  if (!Buffer.isBuffer(b)) {
    throw new TypeError('second argument must be a Buffer')
  }
  if (a.length !== b.length) {
    throw new Error('Buffer lengths must match')
  }
  if (a.length === 0) {
    throw new Error('Buffers cannot be empty')
  }
  return Buffer.from(a.map((_, i) => a[i] ^ b[i]))
}

module.exports = {
  startSession,
  continueSession,
  finalizeSession,
  DEFAULT_MAX_SCRAM_ITERATIONS,
}


/***/ }),

/***/ 4150:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

const nodeCrypto = __nccwpck_require__(6982)

module.exports = {
  postgresMd5PasswordHash,
  randomBytes,
  deriveKey,
  sha256,
  hashByName,
  hmacSha256,
  md5,
}

/**
 * The Web Crypto API - grabbed from the Node.js library or the global
 * @type Crypto
 */
// eslint-disable-next-line no-undef
const webCrypto = nodeCrypto.webcrypto || globalThis.crypto
/**
 * The SubtleCrypto API for low level crypto operations.
 * @type SubtleCrypto
 */
const subtleCrypto = webCrypto.subtle
const textEncoder = new TextEncoder()

/**
 *
 * @param {*} length
 * @returns
 */
function randomBytes(length) {
  return webCrypto.getRandomValues(Buffer.alloc(length))
}

async function md5(string) {
  try {
    return nodeCrypto.createHash('md5').update(string, 'utf-8').digest('hex')
  } catch (e) {
    // `createHash()` failed so we are probably not in Node.js, use the WebCrypto API instead.
    // Note that the MD5 algorithm on WebCrypto is not available in Node.js.
    // This is why we cannot just use WebCrypto in all environments.
    const data = typeof string === 'string' ? textEncoder.encode(string) : string
    const hash = await subtleCrypto.digest('MD5', data)
    return Array.from(new Uint8Array(hash))
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('')
  }
}

// See AuthenticationMD5Password at https://www.postgresql.org/docs/current/static/protocol-flow.html
async function postgresMd5PasswordHash(user, password, salt) {
  const inner = await md5(password + user)
  const outer = await md5(Buffer.concat([Buffer.from(inner), salt]))
  return 'md5' + outer
}

/**
 * Create a SHA-256 digest of the given data
 * @param {Buffer} data
 */
async function sha256(text) {
  return await subtleCrypto.digest('SHA-256', text)
}

async function hashByName(hashName, text) {
  return await subtleCrypto.digest(hashName, text)
}

/**
 * Sign the message with the given key
 * @param {ArrayBuffer} keyBuffer
 * @param {string} msg
 */
async function hmacSha256(keyBuffer, msg) {
  const key = await subtleCrypto.importKey('raw', keyBuffer, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  return await subtleCrypto.sign('HMAC', key, textEncoder.encode(msg))
}

/**
 * Derive a key from the password and salt
 * @param {string} password
 * @param {Uint8Array} salt
 * @param {number} iterations
 */
async function deriveKey(password, salt, iterations) {
  const key = await subtleCrypto.importKey('raw', textEncoder.encode(password), 'PBKDF2', false, ['deriveBits'])
  const params = { name: 'PBKDF2', hash: 'SHA-256', salt: salt, iterations: iterations }
  return await subtleCrypto.deriveBits(params, key, 32 * 8, ['deriveBits'])
}


/***/ }),

/***/ 8995:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



let user
try {
  user = process.platform === 'win32' ? process.env.USERNAME : process.env.USER
} catch {
  // ignore, e.g., Deno without --allow-env
}

module.exports = {
  // database host. defaults to localhost
  host: 'localhost',

  // database user's name
  user,

  // name of database to connect
  database: undefined,

  // database user's password
  password: null,

  // a Postgres connection string to be used instead of setting individual connection items
  // NOTE:  Setting this value will cause it to override any other value (such as database or user) defined
  // in the defaults object.
  connectionString: undefined,

  // database port
  port: 5432,

  // number of rows to return at a time from a prepared statement's
  // portal. 0 will return all rows at once
  rows: 0,

  // binary result mode
  binary: false,

  // Connection pool options - see https://github.com/brianc/node-pg-pool

  // number of connections to use in connection pool
  // 0 will disable connection pooling
  max: 10,

  // max milliseconds a client can go unused before it is removed
  // from the pool and destroyed
  idleTimeoutMillis: 30000,

  client_encoding: '',

  ssl: false,

  // SSL negotiation style: 'postgres' (traditional SSLRequest) or 'direct'
  sslnegotiation: undefined,

  application_name: undefined,

  fallback_application_name: undefined,

  options: undefined,

  parseInputDatesAsUTC: false,

  // max milliseconds any query using this connection will execute for before timing out in error.
  // false=unlimited
  statement_timeout: false,

  // Abort any statement that waits longer than the specified duration in milliseconds while attempting to acquire a lock.
  // false=unlimited
  lock_timeout: false,

  // Terminate any session with an open transaction that has been idle for longer than the specified duration in milliseconds
  // false=unlimited
  idle_in_transaction_session_timeout: false,

  // max milliseconds to wait for query to complete (client side)
  query_timeout: false,

  connect_timeout: 0,

  keepalives: 1,

  keepalives_idle: 0,
}

const pgTypes = __nccwpck_require__(1549)
// save default parsers
const parseBigInteger = pgTypes.getTypeParser(20, 'text')
const parseBigIntegerArray = pgTypes.getTypeParser(1016, 'text')

// parse int8 so you can get your count values as actual numbers
module.exports.__defineSetter__('parseInt8', function (val) {
  pgTypes.setTypeParser(20, 'text', val ? pgTypes.getTypeParser(23, 'text') : parseBigInteger)
  pgTypes.setTypeParser(1016, 'text', val ? pgTypes.getTypeParser(1007, 'text') : parseBigIntegerArray)
})


/***/ }),

/***/ 3273:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const Client = __nccwpck_require__(5042)
const defaults = __nccwpck_require__(8995)
const Connection = __nccwpck_require__(9809)
const Result = __nccwpck_require__(6424)
const utils = __nccwpck_require__(9652)
const Pool = __nccwpck_require__(7558)
const TypeOverrides = __nccwpck_require__(365)
const { DatabaseError } = __nccwpck_require__(4233)
const { escapeIdentifier, escapeLiteral } = __nccwpck_require__(9652)

const poolFactory = (Client) => {
  return class BoundPool extends Pool {
    constructor(options) {
      super(options, Client)
    }
  }
}

const PG = function (clientConstructor) {
  this.defaults = defaults
  this.Client = clientConstructor
  this.Query = this.Client.Query
  this.Pool = poolFactory(this.Client)
  this._pools = []
  this.Connection = Connection
  this.types = __nccwpck_require__(1549)
  this.DatabaseError = DatabaseError
  this.TypeOverrides = TypeOverrides
  this.escapeIdentifier = escapeIdentifier
  this.escapeLiteral = escapeLiteral
  this.Result = Result
  this.utils = utils
}

let clientConstructor = Client

let forceNative = false
try {
  forceNative = !!process.env.NODE_PG_FORCE_NATIVE
} catch {
  // ignore, e.g., Deno without --allow-env
}

if (forceNative) {
  clientConstructor = __nccwpck_require__(5301)
}

module.exports = new PG(clientConstructor)

// lazy require native module...the native module may not have installed
Object.defineProperty(module.exports, "native", ({
  configurable: true,
  enumerable: false,
  get() {
    let native = null
    try {
      native = new PG(__nccwpck_require__(5301))
    } catch (err) {
      if (err.code !== 'MODULE_NOT_FOUND') {
        throw err
      }
    }

    // overwrite module.exports.native so that getter is never called again
    Object.defineProperty(module.exports, "native", ({
      value: native,
    }))

    return native
  },
}))


/***/ }),

/***/ 8942:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

const nodeUtils = __nccwpck_require__(9023)
// eslint-disable-next-line
var Native
// eslint-disable-next-line no-useless-catch
try {
  // Wrap this `require()` in a try-catch to avoid upstream bundlers from complaining that this might not be available since it is an optional import
  Native = __nccwpck_require__(4390)
} catch (e) {
  throw e
}
const TypeOverrides = __nccwpck_require__(365)
const EventEmitter = (__nccwpck_require__(4434).EventEmitter)
const util = __nccwpck_require__(9023)
const ConnectionParameters = __nccwpck_require__(646)

const NativeQuery = __nccwpck_require__(7581)

const queryQueueLengthDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'Calling client.query() when the client is already executing a query is deprecated and will be removed in pg@9.0. Use async/await or an external async flow control mechanism instead.'
)

const Client = (module.exports = function (config) {
  EventEmitter.call(this)
  config = config || {}

  this._Promise = config.Promise || global.Promise
  this._types = new TypeOverrides(config.types)

  this.native = new Native({
    types: this._types,
  })

  this._queryQueue = []
  this._ending = false
  this._connecting = false
  this._connected = false
  this._queryable = true
  this.pipeline = Boolean(config.pipeline)
  this._pipelineInFlight = false

  // keep these on the object for legacy reasons
  // for the time being. TODO: deprecate all this jazz
  const cp = (this.connectionParameters = new ConnectionParameters(config))
  if (config.nativeConnectionString) cp.nativeConnectionString = config.nativeConnectionString
  this.user = cp.user

  // "hiding" the password so it doesn't show up in stack traces
  // or if the client is console.logged
  Object.defineProperty(this, 'password', {
    configurable: true,
    enumerable: false,
    writable: true,
    value: cp.password,
  })
  this.database = cp.database
  this.host = cp.host
  this.port = cp.port

  // a hash to hold named queries
  this.namedQueries = {}
})

Client.Query = NativeQuery

util.inherits(Client, EventEmitter)

Client.prototype._errorAllQueries = function (err) {
  const enqueueError = (query) => {
    process.nextTick(() => {
      query.native = this.native
      query.handleError(err)
    })
  }

  if (this._hasActiveQuery()) {
    enqueueError(this._activeQuery)
    this._activeQuery = null
  }

  this._queryQueue.forEach(enqueueError)
  this._queryQueue.length = 0
}

// connect to the backend
// pass an optional callback to be called once connected
// or with an error if there was a connection error
Client.prototype._connect = function (cb) {
  const self = this

  if (this._connecting) {
    process.nextTick(() => cb(new Error('Client has already been connected. You cannot reuse a client.')))
    return
  }

  this._connecting = true

  this.connectionParameters.getLibpqConnectionString(function (err, conString) {
    if (self.connectionParameters.nativeConnectionString) conString = self.connectionParameters.nativeConnectionString
    if (err) return cb(err)
    self.native.connect(conString, function (err) {
      if (err) {
        self.native.end()
        return cb(err)
      }

      // set internal states to connected
      self._connected = true

      // handle connection errors from the native layer
      self.native.on('error', function (err) {
        self._queryable = false
        self._errorAllQueries(err)
        self.emit('error', err)
      })

      self.native.on('notification', function (msg) {
        self.emit('notification', {
          channel: msg.relname,
          payload: msg.extra,
        })
      })

      // signal we are connected now
      self.emit('connect')
      self._pulseQueryQueue(true)

      cb(null, this)
    })
  })
}

Client.prototype.connect = function (callback) {
  if (callback) {
    this._connect(callback)
    return
  }

  return new this._Promise((resolve, reject) => {
    this._connect((error) => {
      if (error) {
        reject(error)
      } else {
        resolve(this)
      }
    })
  })
}

// send a query to the server
// this method is highly overloaded to take
// 1) string query, optional array of parameters, optional function callback
// 2) object query with {
//    string query
//    optional array values,
//    optional function callback instead of as a separate parameter
//    optional string name to name & cache the query plan
//    optional string rowMode = 'array' for an array of results
//  }
Client.prototype.query = function (config, values, callback) {
  let query
  let result
  let readTimeout
  let readTimeoutTimer
  let queryCallback

  if (config === null || config === undefined) {
    throw new TypeError('Client was passed a null or undefined query')
  } else if (typeof config.submit === 'function') {
    readTimeout = config.query_timeout || this.connectionParameters.query_timeout
    result = query = config
    // accept query(new Query(...), (err, res) => { }) style
    if (typeof values === 'function') {
      config.callback = values
    }
  } else {
    readTimeout = config.query_timeout || this.connectionParameters.query_timeout
    query = new NativeQuery(config, values, callback)
    if (!query.callback) {
      let resolveOut, rejectOut
      result = new this._Promise((resolve, reject) => {
        resolveOut = resolve
        rejectOut = reject
      }).catch((err) => {
        Error.captureStackTrace(err)
        throw err
      })
      query.callback = (err, res) => (err ? rejectOut(err) : resolveOut(res))
    }
  }

  if (readTimeout) {
    queryCallback = query.callback || (() => {})

    readTimeoutTimer = setTimeout(() => {
      const error = new Error('Query read timeout')

      process.nextTick(() => {
        query.handleError(error, this.connection)
      })

      queryCallback(error)

      // we already returned an error,
      // just do nothing if query completes
      query.callback = () => {}

      // Remove from queue
      const index = this._queryQueue.indexOf(query)
      if (index > -1) {
        this._queryQueue.splice(index, 1)
      }

      this._pulseQueryQueue()
    }, readTimeout)

    query.callback = (err, res) => {
      clearTimeout(readTimeoutTimer)
      queryCallback(err, res)
    }
  }

  if (!this._queryable) {
    query.native = this.native
    process.nextTick(() => {
      query.handleError(new Error('Client has encountered a connection error and is not queryable'))
    })
    return result
  }

  if (this._ending) {
    query.native = this.native
    process.nextTick(() => {
      query.handleError(new Error('Client was closed and is not queryable'))
    })
    return result
  }

  if (this._queryQueue.length > 0 && !this.pipeline) {
    queryQueueLengthDeprecationNotice()
  }

  this._queryQueue.push(query)
  this._pulseQueryQueue()
  return result
}

// disconnect from the backend server
Client.prototype.end = function (cb) {
  const self = this

  this._ending = true

  if (this._connecting && !this._connected) {
    this.once('connect', () => {
      this.end(() => {})
    })
  }
  let result
  if (!cb) {
    result = new this._Promise(function (resolve, reject) {
      cb = (err) => (err ? reject(err) : resolve())
    })
  }

  const doEnd = function () {
    self.native.end(function () {
      self._connected = false

      self._errorAllQueries(new Error('Connection terminated'))

      process.nextTick(() => {
        self.emit('end')
        if (cb) cb()
      })
    })
  }

  // If pipeline has in-flight or queued queries, wait for them to drain before closing
  if (this.pipeline && (this._pipelineInFlight || this._queryQueue.length > 0)) {
    this.once('drain', doEnd)
  } else {
    doEnd()
  }
  return result
}

Client.prototype._hasActiveQuery = function () {
  return this._activeQuery && this._activeQuery.state !== 'error' && this._activeQuery.state !== 'end'
}

Client.prototype._pulseQueryQueue = function (initialConnection) {
  if (!this._connected) {
    return
  }
  if (this.pipeline && !initialConnection) {
    return this._pulsePipelinedQueryQueue()
  }
  if (this._hasActiveQuery()) {
    return
  }
  const query = this._queryQueue.shift()
  if (!query) {
    if (!initialConnection) {
      this.emit('drain')
    }
    return
  }
  this._activeQuery = query
  query.submit(this)
  const self = this
  query.once('_done', function () {
    self._pulseQueryQueue()
  })
}

Client.prototype._pulsePipelinedQueryQueue = function () {
  if (!this._connected || this._pipelineInFlight) {
    return
  }
  if (this._queryQueue.length === 0) {
    if (this.hasExecuted) {
      this.emit('drain')
    }
    return
  }

  this._pipelineInFlight = true
  const self = this
  const queries = []
  const nativeQueries = []
  const utils = __nccwpck_require__(9652)

  while (this._queryQueue.length > 0) {
    const query = this._queryQueue.shift()
    this.hasExecuted = true
    nativeQueries.push(query)

    const values = query.values ? query.values.map(utils.prepareValue) : null
    const pipelineEntry = { text: query.text, name: query.name, arrayMode: query._arrayMode }
    if (values) {
      pipelineEntry.values = values
    }
    if (query.name && this.namedQueries[query.name]) {
      pipelineEntry._alreadyPrepared = true
    }
    queries.push(pipelineEntry)
  }

  this.native.pipeline(queries, function (err, results) {
    self._pipelineInFlight = false

    if (err) {
      // Total pipeline failure. Per-query errors arrive on results[i].err, so reaching here means
      // the connection itself is gone: mark it unusable and say so, the way the JS client and the
      // non-pipelined native path both do. Without this the client looks healthy after losing its
      // backend, a Pool never discards it, and everything routed to it fails one query at a time
      // for the life of the process.
      self._connected = false
      self._queryable = false
      for (let i = 0; i < nativeQueries.length; i++) {
        const q = nativeQueries[i]
        q.native = self.native
        q.handleError(err)
      }
      self._errorAllQueries(err)
      self.emit('error', err)
      self.emit('end')
      return
    }

    // Deliver results to each query
    for (let i = 0; i < nativeQueries.length; i++) {
      const q = nativeQueries[i]
      const r = results[i]
      q.native = self.native

      if (r.err) {
        q.handleError(r.err)
      } else {
        // Track named queries on success
        if (q.name) {
          self.namedQueries[q.name] = q.text
        }
        q.state = 'end'
        q.emit('end', r.result)
        if (q.callback) {
          q.callback(null, r.result)
        }
      }

      setImmediate(function () {
        q.emit('_done')
      })
    }

    // Process any queries that arrived while we were reading
    self._pulsePipelinedQueryQueue()
  })
}

// attempt to cancel an in-progress query
Client.prototype.cancel = function (query) {
  if (this._activeQuery === query) {
    this.native.cancel(function () {})
  } else if (this._queryQueue.indexOf(query) !== -1) {
    this._queryQueue.splice(this._queryQueue.indexOf(query), 1)
  }
}

Client.prototype.ref = function () {}
Client.prototype.unref = function () {}

Client.prototype.setTypeParser = function (oid, format, parseFn) {
  return this._types.setTypeParser(oid, format, parseFn)
}

Client.prototype.getTypeParser = function (oid, format) {
  return this._types.getTypeParser(oid, format)
}

Client.prototype.isConnected = function () {
  return this._connected
}

Client.prototype.getTransactionStatus = function () {
  return this.native.getTransactionStatus()
}


/***/ }),

/***/ 5301:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {


module.exports = __nccwpck_require__(8942)


/***/ }),

/***/ 7581:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const EventEmitter = (__nccwpck_require__(4434).EventEmitter)
const util = __nccwpck_require__(9023)
const utils = __nccwpck_require__(9652)

const NativeQuery = (module.exports = function (config, values, callback) {
  EventEmitter.call(this)
  config = utils.normalizeQueryConfig(config, values, callback)
  this.text = config.text
  this.values = config.values
  this.name = config.name
  this.queryMode = config.queryMode
  this.callback = config.callback
  this.state = 'new'
  this._arrayMode = config.rowMode === 'array'

  // if the 'row' event is listened for
  // then emit them as they come in
  // without setting singleRowMode to true
  // this has almost no meaning because libpq
  // reads all rows into memory before returning any
  this._emitRowEvents = false
  this.on(
    'newListener',
    function (event) {
      if (event === 'row') this._emitRowEvents = true
    }.bind(this)
  )
})

util.inherits(NativeQuery, EventEmitter)

const errorFieldMap = {
  sqlState: 'code',
  statementPosition: 'position',
  messagePrimary: 'message',
  messageDetail: 'detail',
  messageHint: 'hint',
  context: 'where',
  schemaName: 'schema',
  tableName: 'table',
  columnName: 'column',
  dataTypeName: 'dataType',
  constraintName: 'constraint',
  sourceFile: 'file',
  sourceLine: 'line',
  sourceFunction: 'routine',
}

NativeQuery.prototype.handleError = function (err) {
  // copy pq error fields into the error object
  const fields = this.native && this.native.pq.resultErrorFields()
  if (fields) {
    for (const key in fields) {
      const normalizedFieldName = errorFieldMap[key] || key
      err[normalizedFieldName] = fields[key]
    }
  }
  if (this.callback) {
    this.callback(err)
  } else {
    this.emit('error', err)
  }
  this.state = 'error'
}

NativeQuery.prototype.then = function (onSuccess, onFailure) {
  return this._getPromise().then(onSuccess, onFailure)
}

NativeQuery.prototype.catch = function (callback) {
  return this._getPromise().catch(callback)
}

NativeQuery.prototype._getPromise = function () {
  if (this._promise) return this._promise
  this._promise = new Promise(
    function (resolve, reject) {
      this._once('end', resolve)
      this._once('error', reject)
    }.bind(this)
  )
  return this._promise
}

NativeQuery.prototype.submit = function (client) {
  this.state = 'running'
  const self = this
  this.native = client.native
  client.native.arrayMode = this._arrayMode

  let after = function (err, rows, results) {
    client.native.arrayMode = false
    setImmediate(function () {
      self.emit('_done')
    })

    // handle possible query error
    if (err) {
      return self.handleError(err)
    }

    // emit row events for each row in the result
    if (self._emitRowEvents) {
      if (results.length > 1) {
        rows.forEach((rowOfRows, i) => {
          rowOfRows.forEach((row) => {
            self.emit('row', row, results[i])
          })
        })
      } else {
        rows.forEach(function (row) {
          self.emit('row', row, results)
        })
      }
    }

    // handle successful result
    self.state = 'end'
    self.emit('end', results)
    if (self.callback) {
      self.callback(null, results)
    }
  }

  if (process.domain) {
    after = process.domain.bind(after)
  }

  // named query
  if (this.name) {
    if (this.name.length > 63) {
      console.error('Warning! Postgres only supports 63 characters for query names.')
      console.error('You supplied %s (%s)', this.name, this.name.length)
      console.error('This can cause conflicts and silent errors executing queries')
    }
    const values = (this.values || []).map(utils.prepareValue)

    // check if the client has already executed this named query
    // if so...just execute it again - skip the planning phase
    if (client.namedQueries[this.name] !== undefined) {
      if (this.text && client.namedQueries[this.name] !== this.text) {
        const err = new Error(`Prepared statements must be unique - '${this.name}' was used for a different statement`)
        return after(err)
      }
      return client.native.execute(this.name, values, after)
    }
    // plan the named query the first time, then execute it
    return client.native.prepare(this.name, this.text, values.length, function (err) {
      if (err) return after(err)
      client.namedQueries[self.name] = self.text
      return self.native.execute(self.name, values, after)
    })
  } else if (this.values) {
    if (!Array.isArray(this.values)) {
      const err = new Error('Query values must be an array')
      return after(err)
    }
    const vals = this.values.map(utils.prepareValue)
    client.native.query(this.text, vals, after)
  } else if (this.queryMode === 'extended') {
    client.native.query(this.text, [], after)
  } else {
    client.native.query(this.text, after)
  }
}


/***/ }),

/***/ 4473:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const { EventEmitter } = __nccwpck_require__(4434)

const Result = __nccwpck_require__(6424)
const utils = __nccwpck_require__(9652)

class Query extends EventEmitter {
  constructor(config, values, callback) {
    super()

    config = utils.normalizeQueryConfig(config, values, callback)

    this.text = config.text
    this.values = config.values
    this.rows = config.rows
    this.types = config.types
    this.name = config.name
    this.queryMode = config.queryMode
    this.binary = config.binary
    // use unique portal name each time
    this.portal = config.portal || ''
    this.callback = config.callback
    this._rowMode = config.rowMode
    if (process.domain && config.callback) {
      this.callback = process.domain.bind(config.callback)
    }
    this._result = new Result(this._rowMode, this.types)

    // potential for multiple results
    this._results = this._result
    this._canceledDueToError = false
  }

  requiresPreparation() {
    if (this.queryMode === 'extended') {
      return true
    }

    // named queries must always be prepared
    if (this.name) {
      return true
    }
    // always prepare if there are max number of rows expected per
    // portal execution
    if (this.rows) {
      return true
    }
    // don't prepare empty text queries
    if (!this.text) {
      return false
    }
    // prepare if there are values
    if (!this.values) {
      return false
    }
    return this.values.length > 0
  }

  _checkForMultirow() {
    // if we already have a result with a command property
    // then we've already executed one query in a multi-statement simple query
    // turn our results into an array of results
    if (this._result.command) {
      if (!Array.isArray(this._results)) {
        this._results = [this._result]
      }
      this._result = new Result(this._rowMode, this._result._types)
      this._results.push(this._result)
    }
  }

  // associates row metadata from the supplied
  // message with this query object
  // metadata used when parsing row results
  handleRowDescription(msg) {
    this._checkForMultirow()
    this._result.addFields(msg.fields)
    this._accumulateRows = this.callback || !this.listeners('row').length
  }

  handleDataRow(msg) {
    let row

    if (this._canceledDueToError) {
      return
    }

    try {
      row = this._result.parseRow(msg.fields)
    } catch (err) {
      this._canceledDueToError = err
      return
    }

    this.emit('row', row, this._result)
    if (this._accumulateRows) {
      this._result.addRow(row)
    }
  }

  handleCommandComplete(msg, connection) {
    this._checkForMultirow()
    this._result.addCommandComplete(msg)
    // need to sync after each command complete of a prepared statement
    // if we were using a row count which results in multiple calls to _getRows
    if (this.rows) {
      connection.sync()
    }
  }

  // if a named prepared statement is created with empty query text
  // the backend will send an emptyQuery message but *not* a command complete message
  // since we pipeline sync immediately after execute we don't need to do anything here
  // unless we have rows specified, in which case we did not pipeline the initial sync call
  handleEmptyQuery(connection) {
    if (this.rows) {
      connection.sync()
    }
  }

  handleError(err, connection) {
    // need to sync after error during a prepared statement
    if (this._canceledDueToError) {
      err = this._canceledDueToError
      this._canceledDueToError = false
    }
    // if callback supplied do not emit error event as uncaught error
    // events will bubble up to node process
    if (this.callback) {
      return this.callback(err)
    }
    this.emit('error', err)
  }

  handleReadyForQuery(con) {
    if (this._canceledDueToError) {
      return this.handleError(this._canceledDueToError, con)
    }
    if (this.callback) {
      try {
        this.callback(null, this._results)
      } catch (err) {
        process.nextTick(() => {
          throw err
        })
      }
    }
    this.emit('end', this._results)
  }

  submit(connection) {
    if (typeof this.text !== 'string' && typeof this.name !== 'string') {
      return new Error('A query must have either text or a name. Supplying neither is unsupported.')
    }
    const previous = connection.parsedStatements[this.name] || connection.submittedNamedStatements[this.name]
    if (this.text && previous && this.text !== previous) {
      return new Error(`Prepared statements must be unique - '${this.name}' was used for a different statement`)
    }
    if (this.values && !Array.isArray(this.values)) {
      return new Error('Query values must be an array')
    }
    if (this.requiresPreparation()) {
      // If we're using the extended query protocol we fire off several separate commands
      // to the backend. On some versions of node & some operating system versions
      // the network stack writes each message separately instead of buffering them together
      // causing the client & network to send more slowly. Corking & uncorking the stream
      // allows node to buffer up the messages internally before sending them all off at once.
      // note: we're checking for existence of cork/uncork because some versions of streams
      // might not have this (cloudflare?)
      connection.stream.cork && connection.stream.cork()
      try {
        this.prepare(connection)
      } finally {
        // while unlikely for this.prepare to throw, if it does & we don't uncork this stream
        // this client becomes unresponsive, so put in finally block "just in case"
        connection.stream.uncork && connection.stream.uncork()
      }
    } else {
      connection.query(this.text)
    }
    return null
  }

  hasBeenParsed(connection) {
    return (
      this.name &&
      (connection.parsedStatements[this.name] !== undefined ||
        connection.submittedNamedStatements[this.name] !== undefined)
    )
  }

  handlePortalSuspended(connection) {
    this._getRows(connection, this.rows)
  }

  _getRows(connection, rows) {
    connection.execute({
      portal: this.portal,
      rows: rows,
    })
    // if we're not reading pages of rows send the sync command
    // to indicate the pipeline is finished
    if (!rows) {
      connection.sync()
    } else {
      // otherwise flush the call out to read more rows
      connection.flush()
    }
  }

  // http://developer.postgresql.org/pgdocs/postgres/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY
  prepare(connection) {
    // TODO refactor this poor encapsulation
    if (!this.hasBeenParsed(connection)) {
      connection.parse({
        text: this.text,
        name: this.name,
        types: this.types,
      })
      if (this.name) {
        connection.submittedNamedStatements[this.name] = this.text
      }
    }

    // because we're mapping user supplied values to
    // postgres wire protocol compatible values it could
    // throw an exception, so try/catch this section
    try {
      connection.bind({
        portal: this.portal,
        statement: this.name,
        values: this.values,
        binary: this.binary,
        valueMapper: utils.prepareValue,
      })
    } catch (err) {
      // we should close parse to avoid leaking connections
      connection.close({ type: 'S', name: this.name })
      connection.sync()

      this.handleError(err, connection)
      return
    }

    connection.describe({
      type: 'P',
      name: this.portal || '',
    })

    this._getRows(connection, this.rows)
  }

  handleCopyInResponse(connection) {
    connection.sendCopyFail('No source stream defined')
  }

  handleCopyData(msg, connection) {
    // noop
  }
}

module.exports = Query


/***/ }),

/***/ 6424:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const types = __nccwpck_require__(1549)

const matchRegexp = /^([A-Za-z]+)(?: (\d+))?(?: (\d+))?/

// result object returned from query
// in the 'end' event and also
// passed as second argument to provided callback
class Result {
  constructor(rowMode, types) {
    this.command = null
    this.rowCount = null
    this.oid = null
    this.rows = []
    this.fields = []
    this._parsers = undefined
    this._types = types
    this.RowCtor = null
    this.rowAsArray = rowMode === 'array'
    if (this.rowAsArray) {
      this.parseRow = this._parseRowAsArray
    }
    this._prebuiltEmptyResultObject = null
  }

  // adds a command complete message
  addCommandComplete(msg) {
    let match
    if (msg.text) {
      // pure javascript
      match = matchRegexp.exec(msg.text)
    } else {
      // native bindings
      match = matchRegexp.exec(msg.command)
    }
    if (match) {
      this.command = match[1]
      if (match[3]) {
        // COMMAND OID ROWS
        this.oid = parseInt(match[2], 10)
        this.rowCount = parseInt(match[3], 10)
      } else if (match[2]) {
        // COMMAND ROWS
        this.rowCount = parseInt(match[2], 10)
      }
    }
  }

  _parseRowAsArray(rowData) {
    const row = new Array(rowData.length)
    for (let i = 0, len = rowData.length; i < len; i++) {
      const rawValue = rowData[i]
      if (rawValue !== null) {
        row[i] = this._parsers[i](rawValue)
      } else {
        row[i] = null
      }
    }
    return row
  }

  parseRow(rowData) {
    const row = { ...this._prebuiltEmptyResultObject }
    for (let i = 0, len = rowData.length; i < len; i++) {
      const rawValue = rowData[i]
      const field = this.fields[i].name
      if (rawValue !== null) {
        const v = this.fields[i].format === 'binary' ? Buffer.from(rawValue) : rawValue
        row[field] = this._parsers[i](v)
      } else {
        row[field] = null
      }
    }
    return row
  }

  addRow(row) {
    this.rows.push(row)
  }

  addFields(fieldDescriptions) {
    // clears field definitions
    // multiple query statements in 1 action can result in multiple sets
    // of rowDescriptions...eg: 'select NOW(); select 1::int;'
    // you need to reset the fields
    this.fields = fieldDescriptions
    if (this.fields.length) {
      this._parsers = new Array(fieldDescriptions.length)
    }

    const row = Object.create(null)

    for (let i = 0; i < fieldDescriptions.length; i++) {
      const desc = fieldDescriptions[i]
      row[desc.name] = null

      if (this._types) {
        this._parsers[i] = this._types.getTypeParser(desc.dataTypeID, desc.format || 'text')
      } else {
        this._parsers[i] = types.getTypeParser(desc.dataTypeID, desc.format || 'text')
      }
    }

    this._prebuiltEmptyResultObject = { ...row }
  }
}

module.exports = Result


/***/ }),

/***/ 829:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

const { getStream, getSecureStream } = getStreamFuncs()

module.exports = {
  /**
   * Get a socket stream compatible with the current runtime environment.
   * @returns {Duplex}
   */
  getStream,
  /**
   * Get a TLS secured socket, compatible with the current environment,
   * using the socket and other settings given in `options`.
   * @returns {Duplex}
   */
  getSecureStream,
}

/**
 * The stream functions that work in Node.js
 */
function getNodejsStreamFuncs() {
  function getStream(ssl) {
    const net = __nccwpck_require__(9278)
    return new net.Socket()
  }

  function getSecureStream(options) {
    const tls = __nccwpck_require__(4756)
    return tls.connect(options)
  }
  return {
    getStream,
    getSecureStream,
  }
}

/**
 * The stream functions that work in Cloudflare Workers
 */
function getCloudflareStreamFuncs() {
  function getStream(ssl) {
    const { CloudflareSocket } = __nccwpck_require__(785)
    return new CloudflareSocket(ssl)
  }

  function getSecureStream(options) {
    options.socket.startTls(options)
    return options.socket
  }
  return {
    getStream,
    getSecureStream,
  }
}

/**
 * Are we running in a Cloudflare Worker?
 *
 * @returns true if the code is currently running inside a Cloudflare Worker.
 */
function isCloudflareRuntime() {
  // Since 2022-03-21 the `global_navigator` compatibility flag is on for Cloudflare Workers
  // which means that `navigator.userAgent` will be defined.
  // eslint-disable-next-line no-undef
  if (typeof navigator === 'object' && navigator !== null && typeof navigator.userAgent === 'string') {
    // eslint-disable-next-line no-undef
    return navigator.userAgent === 'Cloudflare-Workers'
  }
  // In case `navigator` or `navigator.userAgent` is not defined then try a more sneaky approach
  if (typeof Response === 'function') {
    const resp = new Response(null, { cf: { thing: true } })
    if (typeof resp.cf === 'object' && resp.cf !== null && resp.cf.thing) {
      return true
    }
  }
  return false
}

function getStreamFuncs() {
  if (isCloudflareRuntime()) {
    return getCloudflareStreamFuncs()
  }
  return getNodejsStreamFuncs()
}


/***/ }),

/***/ 365:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const types = __nccwpck_require__(1549)

function TypeOverrides(userTypes) {
  this._types = userTypes || types
  this.text = {}
  this.binary = {}
}

TypeOverrides.prototype.getOverrides = function (format) {
  switch (format) {
    case 'text':
      return this.text
    case 'binary':
      return this.binary
    default:
      return {}
  }
}

TypeOverrides.prototype.setTypeParser = function (oid, format, parseFn) {
  if (typeof format === 'function') {
    parseFn = format
    format = 'text'
  }
  this.getOverrides(format)[oid] = parseFn
}

TypeOverrides.prototype.getTypeParser = function (oid, format) {
  format = format || 'text'
  return this.getOverrides(format)[oid] || this._types.getTypeParser(oid, format)
}

module.exports = TypeOverrides


/***/ }),

/***/ 9652:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const defaults = __nccwpck_require__(8995)
const nodeUtils = __nccwpck_require__(9023)

const { isDate } = __nccwpck_require__(8253)

const invalidDateDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'Sending an invalid date to Postgres is deprecated and will throw an error in the next major version of pg. Ensure any Date object passed as a query parameter is valid.',
  'PG_INVALID_DATE'
)

function escapeElement(elementRepresentation) {
  const escaped = elementRepresentation.replace(/\\/g, '\\\\').replace(/"/g, '\\"')

  return '"' + escaped + '"'
}

// convert a JS array to a postgres array literal
// uses comma separator so won't work for types like box that use
// a different array separator.
function arrayString(val) {
  let result = '{'
  for (let i = 0; i < val.length; i++) {
    if (i > 0) {
      result += ','
    }
    let item = val[i]
    if (item == null) {
      result += 'NULL'
    } else if (Array.isArray(item)) {
      result += arrayString(item)
    } else if (ArrayBuffer.isView(item)) {
      if (!(item instanceof Buffer)) {
        item = Buffer.from(item.buffer, item.byteOffset, item.byteLength)
      }
      result += '\\\\x' + item.toString('hex')
    } else {
      result += escapeElement(prepareValue(item))
    }
  }
  result += '}'
  return result
}

// converts values from javascript types
// to their 'raw' counterparts for use as a postgres parameter
// note: you can override this function to provide your own conversion mechanism
// for complex types, etc...
const prepareValue = function (val, seen) {
  // null and undefined are both null for postgres
  if (val == null) {
    return null
  }
  if (typeof val === 'object') {
    if (val instanceof Buffer) {
      return val
    }
    if (ArrayBuffer.isView(val)) {
      return Buffer.from(val.buffer, val.byteOffset, val.byteLength)
    }
    if (isDate(val)) {
      if (isNaN(val.getTime())) {
        invalidDateDeprecationNotice()
      }
      if (defaults.parseInputDatesAsUTC) {
        return dateToStringUTC(val)
      } else {
        return dateToString(val)
      }
    }
    if (Array.isArray(val)) {
      return arrayString(val)
    }

    return prepareObject(val, seen)
  }
  return val.toString()
}

function prepareObject(val, seen) {
  if (val && typeof val.toPostgres === 'function') {
    seen = seen || []
    if (seen.indexOf(val) !== -1) {
      throw new Error('circular reference detected while preparing "' + val + '" for query')
    }
    seen.push(val)

    return prepareValue(val.toPostgres(prepareValue), seen)
  }
  return JSON.stringify(val)
}

function dateToString(date) {
  let offset = -date.getTimezoneOffset()

  let year = date.getFullYear()
  const isBCYear = year < 1
  if (isBCYear) year = Math.abs(year) + 1 // negative years are 1 off their BC representation

  let ret =
    String(year).padStart(4, '0') +
    '-' +
    String(date.getMonth() + 1).padStart(2, '0') +
    '-' +
    String(date.getDate()).padStart(2, '0') +
    'T' +
    String(date.getHours()).padStart(2, '0') +
    ':' +
    String(date.getMinutes()).padStart(2, '0') +
    ':' +
    String(date.getSeconds()).padStart(2, '0') +
    '.' +
    String(date.getMilliseconds()).padStart(3, '0')

  if (offset < 0) {
    ret += '-'
    offset *= -1
  } else {
    ret += '+'
  }

  ret += String(Math.floor(offset / 60)).padStart(2, '0') + ':' + String(offset % 60).padStart(2, '0')
  if (isBCYear) ret += ' BC'
  return ret
}

function dateToStringUTC(date) {
  let year = date.getUTCFullYear()
  const isBCYear = year < 1
  if (isBCYear) year = Math.abs(year) + 1 // negative years are 1 off their BC representation

  let ret =
    String(year).padStart(4, '0') +
    '-' +
    String(date.getUTCMonth() + 1).padStart(2, '0') +
    '-' +
    String(date.getUTCDate()).padStart(2, '0') +
    'T' +
    String(date.getUTCHours()).padStart(2, '0') +
    ':' +
    String(date.getUTCMinutes()).padStart(2, '0') +
    ':' +
    String(date.getUTCSeconds()).padStart(2, '0') +
    '.' +
    String(date.getUTCMilliseconds()).padStart(3, '0')

  ret += '+00:00'
  if (isBCYear) ret += ' BC'
  return ret
}

function normalizeQueryConfig(config, values, callback) {
  // can take in strings or config objects
  // Copy config so normalization does not mutate the caller's object.
  config = typeof config === 'string' ? { text: config } : cloneQueryConfig(config)
  if (values) {
    if (typeof values === 'function') {
      config.callback = values
    } else {
      config.values = values
    }
  }
  if (callback) {
    config.callback = callback
  }
  return config
}

function cloneQueryConfig(config) {
  if (config == null) {
    return config
  }
  return Object.defineProperties(Object.create(Object.getPrototypeOf(config)), Object.getOwnPropertyDescriptors(config))
}

// Ported from PostgreSQL 9.2.4 source code in src/interfaces/libpq/fe-exec.c
const escapeIdentifier = function (str) {
  return '"' + str.replace(/"/g, '""') + '"'
}

const escapeLiteral = function (str) {
  let hasBackslash = false
  let escaped = "'"

  if (str == null) {
    return "''"
  }

  if (typeof str !== 'string') {
    return "''"
  }

  for (let i = 0; i < str.length; i++) {
    const c = str[i]
    if (c === "'") {
      escaped += c + c
    } else if (c === '\\') {
      escaped += c + c
      hasBackslash = true
    } else {
      escaped += c
    }
  }

  escaped += "'"

  if (hasBackslash === true) {
    escaped = ' E' + escaped
  }

  return escaped
}

module.exports = {
  prepareValue: function prepareValueWrapper(value) {
    // this ensures that extra arguments do not get passed into prepareValue
    // by accident, eg: from calling values.map(utils.prepareValue)
    return prepareValue(value)
  },
  normalizeQueryConfig,
  escapeIdentifier,
  escapeLiteral,
}


/***/ }),

/***/ 8702:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



var path = __nccwpck_require__(6928)
  , Stream = (__nccwpck_require__(2203).Stream)
  , split = __nccwpck_require__(5286)
  , util = __nccwpck_require__(9023)
  , defaultPort = 5432
  , isWin = (process.platform === 'win32')
  , warnStream = process.stderr
;


var S_IRWXG = 56     //    00070(8)
  , S_IRWXO = 7      //    00007(8)
  , S_IFMT  = 61440  // 00170000(8)
  , S_IFREG = 32768  //  0100000(8)
;
function isRegFile(mode) {
    return ((mode & S_IFMT) == S_IFREG);
}

var fieldNames = [ 'host', 'port', 'database', 'user', 'password' ];
var nrOfFields = fieldNames.length;
var passKey = fieldNames[ nrOfFields -1 ];


function warn() {
    var isWritable = (
        warnStream instanceof Stream &&
          true === warnStream.writable
    );

    if (isWritable) {
        var args = Array.prototype.slice.call(arguments).concat("\n");
        warnStream.write( util.format.apply(util, args) );
    }
}


Object.defineProperty(module.exports, "isWin", ({
    get : function() {
        return isWin;
    } ,
    set : function(val) {
        isWin = val;
    }
}));


module.exports.warnTo = function(stream) {
    var old = warnStream;
    warnStream = stream;
    return old;
};

module.exports.getFileName = function(rawEnv){
    var env = rawEnv || process.env;
    var file = env.PGPASSFILE || (
        isWin ?
          path.join( env.APPDATA || './' , 'postgresql', 'pgpass.conf' ) :
          path.join( env.HOME || './', '.pgpass' )
    );
    return file;
};

module.exports.usePgPass = function(stats, fname) {
    if (Object.prototype.hasOwnProperty.call(process.env, 'PGPASSWORD')) {
        return false;
    }

    if (isWin) {
        return true;
    }

    fname = fname || '<unkn>';

    if (! isRegFile(stats.mode)) {
        warn('WARNING: password file "%s" is not a plain file', fname);
        return false;
    }

    if (stats.mode & (S_IRWXG | S_IRWXO)) {
        /* If password file is insecure, alert the user and ignore it. */
        warn('WARNING: password file "%s" has group or world access; permissions should be u=rw (0600) or less', fname);
        return false;
    }

    return true;
};


var matcher = module.exports.match = function(connInfo, entry) {
    return fieldNames.slice(0, -1).reduce(function(prev, field, idx){
        if (idx == 1) {
            // the port
            if ( Number( connInfo[field] || defaultPort ) === Number( entry[field] ) ) {
                return prev && true;
            }
        }
        return prev && (
            entry[field] === '*' ||
              entry[field] === connInfo[field]
        );
    }, true);
};


module.exports.getPassword = function(connInfo, stream, cb) {
    var pass;
    var lineStream = stream.pipe(split());

    function onLine(line) {
        var entry = parseLine(line);
        if (entry && isValidEntry(entry) && matcher(connInfo, entry)) {
            pass = entry[passKey];
            lineStream.end(); // -> calls onEnd(), but pass is set now
        }
    }

    var onEnd = function() {
        stream.destroy();
        cb(pass);
    };

    var onErr = function(err) {
        stream.destroy();
        warn('WARNING: error on reading file: %s', err);
        cb(undefined);
    };

    stream.on('error', onErr);
    lineStream
        .on('data', onLine)
        .on('end', onEnd)
        .on('error', onErr)
    ;

};


var parseLine = module.exports.parseLine = function(line) {
    if (line.length < 11 || line.match(/^\s+#/)) {
        return null;
    }

    var curChar = '';
    var prevChar = '';
    var fieldIdx = 0;
    var startIdx = 0;
    var endIdx = 0;
    var obj = {};
    var isLastField = false;
    var addToObj = function(idx, i0, i1) {
        var field = line.substring(i0, i1);

        if (! Object.hasOwnProperty.call(process.env, 'PGPASS_NO_DEESCAPE')) {
            field = field.replace(/\\([:\\])/g, '$1');
        }

        obj[ fieldNames[idx] ] = field;
    };

    for (var i = 0 ; i < line.length-1 ; i += 1) {
        curChar = line.charAt(i+1);
        prevChar = line.charAt(i);

        isLastField = (fieldIdx == nrOfFields-1);

        if (isLastField) {
            addToObj(fieldIdx, startIdx);
            break;
        }

        if (i >= 0 && curChar == ':' && prevChar !== '\\') {
            addToObj(fieldIdx, startIdx, i+1);

            startIdx = i+2;
            fieldIdx += 1;
        }
    }

    obj = ( Object.keys(obj).length === nrOfFields ) ? obj : null;

    return obj;
};


var isValidEntry = module.exports.isValidEntry = function(entry){
    var rules = {
        // host
        0 : function(x){
            return x.length > 0;
        } ,
        // port
        1 : function(x){
            if (x === '*') {
                return true;
            }
            x = Number(x);
            return (
                isFinite(x) &&
                  x > 0 &&
                  x < 9007199254740992 &&
                  Math.floor(x) === x
            );
        } ,
        // database
        2 : function(x){
            return x.length > 0;
        } ,
        // username
        3 : function(x){
            return x.length > 0;
        } ,
        // password
        4 : function(x){
            return x.length > 0;
        }
    };

    for (var idx = 0 ; idx < fieldNames.length ; idx += 1) {
        var rule = rules[idx];
        var value = entry[ fieldNames[idx] ] || '';

        var res = rule(value);
        if (!res) {
            return false;
        }
    }

    return true;
};



/***/ }),

/***/ 3272:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



var path = __nccwpck_require__(6928)
  , fs = __nccwpck_require__(9896)
  , helper = __nccwpck_require__(8702)
;


module.exports = function(connInfo, cb) {
    var file = helper.getFileName();
    
    fs.stat(file, function(err, stat){
        if (err || !helper.usePgPass(stat, file)) {
            return cb(undefined);
        }

        var st = fs.createReadStream(file);

        helper.getPassword(connInfo, st, cb);
    });
};

module.exports.warnTo = helper.warnTo;


/***/ }),

/***/ 3879:
/***/ ((__unused_webpack_module, exports) => {



exports.parse = function (source, transform) {
  return new ArrayParser(source, transform).parse()
}

class ArrayParser {
  constructor (source, transform) {
    this.source = source
    this.transform = transform || identity
    this.position = 0
    this.entries = []
    this.recorded = []
    this.dimension = 0
  }

  isEof () {
    return this.position >= this.source.length
  }

  nextCharacter () {
    var character = this.source[this.position++]
    if (character === '\\') {
      return {
        value: this.source[this.position++],
        escaped: true
      }
    }
    return {
      value: character,
      escaped: false
    }
  }

  record (character) {
    this.recorded.push(character)
  }

  newEntry (includeEmpty) {
    var entry
    if (this.recorded.length > 0 || includeEmpty) {
      entry = this.recorded.join('')
      if (entry === 'NULL' && !includeEmpty) {
        entry = null
      }
      if (entry !== null) entry = this.transform(entry)
      this.entries.push(entry)
      this.recorded = []
    }
  }

  consumeDimensions () {
    if (this.source[0] === '[') {
      while (!this.isEof()) {
        var char = this.nextCharacter()
        if (char.value === '=') break
      }
    }
  }

  parse (nested) {
    var character, parser, quote
    this.consumeDimensions()
    while (!this.isEof()) {
      character = this.nextCharacter()
      if (character.value === '{' && !quote) {
        this.dimension++
        if (this.dimension > 1) {
          parser = new ArrayParser(this.source.substr(this.position - 1), this.transform)
          this.entries.push(parser.parse(true))
          this.position += parser.position - 2
        }
      } else if (character.value === '}' && !quote) {
        this.dimension--
        if (!this.dimension) {
          this.newEntry()
          if (nested) return this.entries
        }
      } else if (character.value === '"' && !character.escaped) {
        if (quote) this.newEntry(true)
        quote = !quote
      } else if (character.value === ',' && !quote) {
        this.newEntry()
      } else {
        this.record(character.value)
      }
    }
    if (this.dimension !== 0) {
      throw new Error('array dimension not balanced')
    }
    return this.entries
  }
}

function identity (value) {
  return value
}


/***/ }),

/***/ 463:
/***/ ((module) => {



var bufferFrom = Buffer.from || Buffer

module.exports = function parseBytea (input) {
  if (/^\\x/.test(input)) {
    // new 'hex' style response (pg >9.0)
    return bufferFrom(input.substr(2), 'hex')
  }
  var output = ''
  var i = 0
  while (i < input.length) {
    if (input[i] !== '\\') {
      output += input[i]
      ++i
    } else {
      if (/[0-7]{3}/.test(input.substr(i + 1, 3))) {
        output += String.fromCharCode(parseInt(input.substr(i + 1, 3), 8))
        i += 4
      } else {
        var backslashes = 1
        while (i + backslashes < input.length && input[i + backslashes] === '\\') {
          backslashes++
        }
        for (var k = 0; k < Math.floor(backslashes / 2); ++k) {
          output += '\\'
        }
        i += Math.floor(backslashes / 2) * 2
      }
    }
  }
  return bufferFrom(output, 'binary')
}


/***/ }),

/***/ 2690:
/***/ ((module) => {



var DATE_TIME = /(\d{1,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,})?.*?( BC)?$/
var DATE = /^(\d{1,})-(\d{2})-(\d{2})( BC)?$/
var TIME_ZONE = /([Z+-])(\d{2})?:?(\d{2})?:?(\d{2})?/
var INFINITY = /^-?infinity$/

module.exports = function parseDate (isoDate) {
  if (INFINITY.test(isoDate)) {
    // Capitalize to Infinity before passing to Number
    return Number(isoDate.replace('i', 'I'))
  }
  var matches = DATE_TIME.exec(isoDate)

  if (!matches) {
    // Force YYYY-MM-DD dates to be parsed as local time
    return getDate(isoDate) || null
  }

  var isBC = !!matches[8]
  var year = parseInt(matches[1], 10)
  if (isBC) {
    year = bcYearToNegativeYear(year)
  }

  var month = parseInt(matches[2], 10) - 1
  var day = matches[3]
  var hour = parseInt(matches[4], 10)
  var minute = parseInt(matches[5], 10)
  var second = parseInt(matches[6], 10)

  var ms = matches[7]
  ms = ms ? 1000 * parseFloat(ms) : 0

  var date
  var offset = timeZoneOffset(isoDate)
  if (offset != null) {
    date = new Date(Date.UTC(year, month, day, hour, minute, second, ms))

    // Account for years from 0 to 99 being interpreted as 1900-1999
    // by Date.UTC / the multi-argument form of the Date constructor
    if (is0To99(year)) {
      date.setUTCFullYear(year)
    }

    if (offset !== 0) {
      date.setTime(date.getTime() - offset)
    }
  } else {
    date = new Date(year, month, day, hour, minute, second, ms)

    if (is0To99(year)) {
      date.setFullYear(year)
    }
  }

  return date
}

function getDate (isoDate) {
  var matches = DATE.exec(isoDate)
  if (!matches) {
    return
  }

  var year = parseInt(matches[1], 10)
  var isBC = !!matches[4]
  if (isBC) {
    year = bcYearToNegativeYear(year)
  }

  var month = parseInt(matches[2], 10) - 1
  var day = matches[3]
  // YYYY-MM-DD will be parsed as local time
  var date = new Date(year, month, day)

  if (is0To99(year)) {
    date.setFullYear(year)
  }

  return date
}

// match timezones:
// Z (UTC)
// -05
// +06:30
function timeZoneOffset (isoDate) {
  if (isoDate.endsWith('+00')) {
    return 0
  }

  var zone = TIME_ZONE.exec(isoDate.split(' ')[1])
  if (!zone) return
  var type = zone[1]

  if (type === 'Z') {
    return 0
  }
  var sign = type === '-' ? -1 : 1
  var offset = parseInt(zone[2], 10) * 3600 +
    parseInt(zone[3] || 0, 10) * 60 +
    parseInt(zone[4] || 0, 10)

  return offset * sign * 1000
}

function bcYearToNegativeYear (year) {
  // Account for numerical difference between representations of BC years
  // See: https://github.com/bendrucker/postgres-date/issues/5
  return -(year - 1)
}

function is0To99 (num) {
  return num >= 0 && num < 100
}


/***/ }),

/***/ 8755:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



var extend = __nccwpck_require__(223)

module.exports = PostgresInterval

function PostgresInterval (raw) {
  if (!(this instanceof PostgresInterval)) {
    return new PostgresInterval(raw)
  }
  extend(this, parse(raw))
}
var properties = ['seconds', 'minutes', 'hours', 'days', 'months', 'years']
PostgresInterval.prototype.toPostgres = function () {
  var filtered = properties.filter(this.hasOwnProperty, this)

  // In addition to `properties`, we need to account for fractions of seconds.
  if (this.milliseconds && filtered.indexOf('seconds') < 0) {
    filtered.push('seconds')
  }

  if (filtered.length === 0) return '0'
  return filtered
    .map(function (property) {
      var value = this[property] || 0

      // Account for fractional part of seconds,
      // remove trailing zeroes.
      if (property === 'seconds' && this.milliseconds) {
        value = (value + this.milliseconds / 1000).toFixed(6).replace(/\.?0+$/, '')
      }

      return value + ' ' + property
    }, this)
    .join(' ')
}

var propertiesISOEquivalent = {
  years: 'Y',
  months: 'M',
  days: 'D',
  hours: 'H',
  minutes: 'M',
  seconds: 'S'
}
var dateProperties = ['years', 'months', 'days']
var timeProperties = ['hours', 'minutes', 'seconds']
// according to ISO 8601
PostgresInterval.prototype.toISOString = PostgresInterval.prototype.toISO = function () {
  var datePart = dateProperties
    .map(buildProperty, this)
    .join('')

  var timePart = timeProperties
    .map(buildProperty, this)
    .join('')

  return 'P' + datePart + 'T' + timePart

  function buildProperty (property) {
    var value = this[property] || 0

    // Account for fractional part of seconds,
    // remove trailing zeroes.
    if (property === 'seconds' && this.milliseconds) {
      value = (value + this.milliseconds / 1000).toFixed(6).replace(/0+$/, '')
    }

    return value + propertiesISOEquivalent[property]
  }
}

var NUMBER = '([+-]?\\d+)'
var YEAR = NUMBER + '\\s+years?'
var MONTH = NUMBER + '\\s+mons?'
var DAY = NUMBER + '\\s+days?'
var TIME = '([+-])?([\\d]*):(\\d\\d):(\\d\\d)\\.?(\\d{1,6})?'
var INTERVAL = new RegExp([YEAR, MONTH, DAY, TIME].map(function (regexString) {
  return '(' + regexString + ')?'
})
  .join('\\s*'))

// Positions of values in regex match
var positions = {
  years: 2,
  months: 4,
  days: 6,
  hours: 9,
  minutes: 10,
  seconds: 11,
  milliseconds: 12
}
// We can use negative time
var negatives = ['hours', 'minutes', 'seconds', 'milliseconds']

function parseMilliseconds (fraction) {
  // add omitted zeroes
  var microseconds = fraction + '000000'.slice(fraction.length)
  return parseInt(microseconds, 10) / 1000
}

function parse (interval) {
  if (!interval) return {}
  var matches = INTERVAL.exec(interval)
  var isNegative = matches[8] === '-'
  return Object.keys(positions)
    .reduce(function (parsed, property) {
      var position = positions[property]
      var value = matches[position]
      // no empty string
      if (!value) return parsed
      // milliseconds are actually microseconds (up to 6 digits)
      // with omitted trailing zeroes.
      value = property === 'milliseconds'
        ? parseMilliseconds(value)
        : parseInt(value, 10)
      // no zeros
      if (!value) return parsed
      if (isNegative && ~negatives.indexOf(property)) {
        value *= -1
      }
      parsed[property] = value
      return parsed
    }, {})
}


/***/ }),

/***/ 5286:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

/*
Copyright (c) 2014-2021, Matteo Collina <hello@matteocollina.com>

Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.

THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF OR
IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
*/



const { Transform } = __nccwpck_require__(2203)
const { StringDecoder } = __nccwpck_require__(3193)
const kLast = Symbol('last')
const kDecoder = Symbol('decoder')

function transform (chunk, enc, cb) {
  let list
  if (this.overflow) { // Line buffer is full. Skip to start of next line.
    const buf = this[kDecoder].write(chunk)
    list = buf.split(this.matcher)

    if (list.length === 1) return cb() // Line ending not found. Discard entire chunk.

    // Line ending found. Discard trailing fragment of previous line and reset overflow state.
    list.shift()
    this.overflow = false
  } else {
    this[kLast] += this[kDecoder].write(chunk)
    list = this[kLast].split(this.matcher)
  }

  this[kLast] = list.pop()

  for (let i = 0; i < list.length; i++) {
    try {
      push(this, this.mapper(list[i]))
    } catch (error) {
      return cb(error)
    }
  }

  this.overflow = this[kLast].length > this.maxLength
  if (this.overflow && !this.skipOverflow) {
    cb(new Error('maximum buffer reached'))
    return
  }

  cb()
}

function flush (cb) {
  // forward any gibberish left in there
  this[kLast] += this[kDecoder].end()

  if (this[kLast]) {
    try {
      push(this, this.mapper(this[kLast]))
    } catch (error) {
      return cb(error)
    }
  }

  cb()
}

function push (self, val) {
  if (val !== undefined) {
    self.push(val)
  }
}

function noop (incoming) {
  return incoming
}

function split (matcher, mapper, options) {
  // Set defaults for any arguments not supplied.
  matcher = matcher || /\r?\n/
  mapper = mapper || noop
  options = options || {}

  // Test arguments explicitly.
  switch (arguments.length) {
    case 1:
      // If mapper is only argument.
      if (typeof matcher === 'function') {
        mapper = matcher
        matcher = /\r?\n/
      // If options is only argument.
      } else if (typeof matcher === 'object' && !(matcher instanceof RegExp) && !matcher[Symbol.split]) {
        options = matcher
        matcher = /\r?\n/
      }
      break

    case 2:
      // If mapper and options are arguments.
      if (typeof matcher === 'function') {
        options = mapper
        mapper = matcher
        matcher = /\r?\n/
      // If matcher and options are arguments.
      } else if (typeof mapper === 'object') {
        options = mapper
        mapper = noop
      }
  }

  options = Object.assign({}, options)
  options.autoDestroy = true
  options.transform = transform
  options.flush = flush
  options.readableObjectMode = true

  const stream = new Transform(options)

  stream[kLast] = ''
  stream[kDecoder] = new StringDecoder('utf8')
  stream.matcher = matcher
  stream.mapper = mapper
  stream.maxLength = options.maxLength
  stream.skipOverflow = options.skipOverflow || false
  stream.overflow = false
  stream._destroy = function (err, cb) {
    // Weird Node v12 bug that we need to work around
    this._writableState.errorEmitted = false
    cb(err)
  }

  return stream
}

module.exports = split


/***/ }),

/***/ 223:
/***/ ((module) => {

module.exports = extend

var hasOwnProperty = Object.prototype.hasOwnProperty;

function extend(target) {
    for (var i = 1; i < arguments.length; i++) {
        var source = arguments[i]

        for (var key in source) {
            if (hasOwnProperty.call(source, key)) {
                target[key] = source[key]
            }
        }
    }

    return target
}


/***/ }),

/***/ 241:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
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


/***/ }),

/***/ 397:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   D0: () => (/* binding */ TEMP_FILE_PREFIX),
/* harmony export */   Mw: () => (/* binding */ assertValidKey),
/* harmony export */   YD: () => (/* binding */ compareKeys),
/* harmony export */   x3: () => (/* binding */ assertValidPrefix)
/* harmony export */ });
/* harmony import */ var _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(241);
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

/***/ 7468:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   EZ: () => (/* binding */ formatStorageUrl),
/* harmony export */   Yu: () => (/* binding */ parseStorageUrl)
/* harmony export */ });
/* unused harmony export problemWithBucketName */
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(6760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__nccwpck_require__.n(node_path__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_url__WEBPACK_IMPORTED_MODULE_1__ = __nccwpck_require__(3136);
/* harmony import */ var node_url__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__nccwpck_require__.n(node_url__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var _domain_errors_js__WEBPACK_IMPORTED_MODULE_2__ = __nccwpck_require__(241);
/**
 * The storage location the user names: `s3://bucket/prefix`, `file:///absolute/path` or a plain
 * directory path. Pure: the working directory comes in as an argument.
 */



const EXPECTED = "expected s3://bucket/prefix, file:///absolute/path or a directory path";
/** A scheme of two or more characters, so a Windows drive letter ("C:") is not one. */
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]+):/;
function parseStorageUrl(text, options) {
    const input = options.input ?? "storage";
    const fail = (why) => {
        const detail = why ? `${why}; ${EXPECTED}` : EXPECTED;
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_2__/* .InputError */ .dz(`--${input} ${JSON.stringify(text)}: ${detail}`, { input });
    };
    const value = text.trim();
    if (value === "")
        return fail("empty");
    const scheme = SCHEME.exec(value)?.[1]?.toLowerCase();
    if (scheme === undefined)
        return { kind: "local", path: (0,node_path__WEBPACK_IMPORTED_MODULE_0__.resolve)(options.cwd, value) };
    if (scheme === "s3") {
        const rest = value.slice("s3:".length);
        if (!rest.startsWith("//"))
            return fail();
        const [bucket = "", ...path] = rest.slice(2).split("/");
        if (bucket === "")
            return fail("no bucket");
        const bucketProblem = problemWithBucketName(bucket);
        if (bucketProblem)
            return fail(`bucket "${bucket}" ${bucketProblem}`);
        return { kind: "s3", bucket, prefix: path.join("/").replace(/^\/+|\/+$/g, "") };
    }
    if (scheme === "file") {
        let url;
        try {
            url = new URL(value);
        }
        catch {
            return fail();
        }
        if (url.host !== "")
            return fail(`a file URL names no host ("${url.host}")`);
        if (url.search !== "" || url.hash !== "")
            return fail("a file URL has no query or fragment");
        const path = (0,node_url__WEBPACK_IMPORTED_MODULE_1__.fileURLToPath)(url);
        return { kind: "local", path: path.length > 1 ? path.replace(/\/+$/, "") : path };
    }
    return fail();
}
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
/** The canonical text of a location, without credentials: `s3://bucket/prefix` or `file:///path`. */
function formatStorageUrl(url) {
    if (url.kind === "s3")
        return url.prefix ? `s3://${url.bucket}/${url.prefix}` : `s3://${url.bucket}`;
    return (0,node_url__WEBPACK_IMPORTED_MODULE_1__.pathToFileURL)(url.path).href;
}


/***/ }),

/***/ 4390:
/***/ ((module) => {

module.exports = eval("require")("pg-native");


/***/ }),

/***/ 181:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("buffer");

/***/ }),

/***/ 6982:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("crypto");

/***/ }),

/***/ 2250:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("dns");

/***/ }),

/***/ 4434:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("events");

/***/ }),

/***/ 9896:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("fs");

/***/ }),

/***/ 9278:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("net");

/***/ }),

/***/ 6698:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:async_hooks");

/***/ }),

/***/ 1421:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:child_process");

/***/ }),

/***/ 7598:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:crypto");

/***/ }),

/***/ 3024:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:fs");

/***/ }),

/***/ 1455:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:fs/promises");

/***/ }),

/***/ 7067:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:http");

/***/ }),

/***/ 2467:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:http2");

/***/ }),

/***/ 4708:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:https");

/***/ }),

/***/ 8161:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:os");

/***/ }),

/***/ 6760:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:path");

/***/ }),

/***/ 1708:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:process");

/***/ }),

/***/ 7075:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:stream");

/***/ }),

/***/ 3136:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:url");

/***/ }),

/***/ 7975:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:util");

/***/ }),

/***/ 8522:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:zlib");

/***/ }),

/***/ 6928:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("path");

/***/ }),

/***/ 2203:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("stream");

/***/ }),

/***/ 3193:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("string_decoder");

/***/ }),

/***/ 4756:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("tls");

/***/ }),

/***/ 9023:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("util");

/***/ }),

/***/ 8253:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("util/types");

/***/ })

/******/ });
/************************************************************************/
/******/ // The module cache
/******/ var __webpack_module_cache__ = {};
/******/ 
/******/ // The require function
/******/ function __nccwpck_require__(moduleId) {
/******/ 	// Check if module is in cache
/******/ 	var cachedModule = __webpack_module_cache__[moduleId];
/******/ 	if (cachedModule !== undefined) {
/******/ 		return cachedModule.exports;
/******/ 	}
/******/ 	// Create a new module (and put it into the cache)
/******/ 	var module = __webpack_module_cache__[moduleId] = {
/******/ 		// no module.id needed
/******/ 		// no module.loaded needed
/******/ 		exports: {}
/******/ 	};
/******/ 
/******/ 	// Execute the module function
/******/ 	var threw = true;
/******/ 	try {
/******/ 		__webpack_modules__[moduleId].call(module.exports, module, module.exports, __nccwpck_require__);
/******/ 		threw = false;
/******/ 	} finally {
/******/ 		if(threw) delete __webpack_module_cache__[moduleId];
/******/ 	}
/******/ 
/******/ 	// Return the exports of the module
/******/ 	return module.exports;
/******/ }
/******/ 
/******/ // expose the modules object (__webpack_modules__)
/******/ __nccwpck_require__.m = __webpack_modules__;
/******/ 
/************************************************************************/
/******/ /* webpack/runtime/asset-relocator-loader */
/******/ if (typeof __nccwpck_require__ !== 'undefined') __nccwpck_require__.ab = decodeURIComponent(new URL('.', import.meta.url).pathname).slice(import.meta.url.match(/^file:\/\/\/\w:/) ? 1 : 0, -1) + "/";
/******/ 
/******/ /* webpack/runtime/compat get default export */
/******/ (() => {
/******/ 	// getDefaultExport function for compatibility with non-harmony modules
/******/ 	__nccwpck_require__.n = (module) => {
/******/ 		var getter = module && module.__esModule ?
/******/ 			() => (module['default']) :
/******/ 			() => (module);
/******/ 		__nccwpck_require__.d(getter, { a: getter });
/******/ 		return getter;
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/create fake namespace object */
/******/ (() => {
/******/ 	var getProto = Object.getPrototypeOf ? (obj) => (Object.getPrototypeOf(obj)) : (obj) => (obj.__proto__);
/******/ 	var leafPrototypes;
/******/ 	// create a fake namespace object
/******/ 	// mode & 1: value is a module id, require it
/******/ 	// mode & 2: merge all properties of value into the ns
/******/ 	// mode & 4: return value when already ns object
/******/ 	// mode & 16: return value when it's Promise-like
/******/ 	// mode & 8|1: behave like require
/******/ 	__nccwpck_require__.t = function(value, mode) {
/******/ 		if(mode & 1) value = this(value);
/******/ 		if(mode & 8) return value;
/******/ 		if(typeof value === 'object' && value) {
/******/ 			if((mode & 4) && value.__esModule) return value;
/******/ 			if((mode & 16) && typeof value.then === 'function') return value;
/******/ 		}
/******/ 		var ns = Object.create(null);
/******/ 		__nccwpck_require__.r(ns);
/******/ 		var def = {};
/******/ 		leafPrototypes = leafPrototypes || [null, getProto({}), getProto([]), getProto(getProto)];
/******/ 		for(var current = mode & 2 && value; typeof current == 'object' && !~leafPrototypes.indexOf(current); current = getProto(current)) {
/******/ 			Object.getOwnPropertyNames(current).forEach((key) => (def[key] = () => (value[key])));
/******/ 		}
/******/ 		def['default'] = () => (value);
/******/ 		__nccwpck_require__.d(ns, def);
/******/ 		return ns;
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/define property getters */
/******/ (() => {
/******/ 	// define getter functions for harmony exports
/******/ 	__nccwpck_require__.d = (exports, definition) => {
/******/ 		for(var key in definition) {
/******/ 			if(__nccwpck_require__.o(definition, key) && !__nccwpck_require__.o(exports, key)) {
/******/ 				Object.defineProperty(exports, key, { enumerable: true, get: definition[key] });
/******/ 			}
/******/ 		}
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/ensure chunk */
/******/ (() => {
/******/ 	__nccwpck_require__.f = {};
/******/ 	// This file contains only the entry chunk.
/******/ 	// The chunk loading function for additional chunks
/******/ 	__nccwpck_require__.e = (chunkId) => {
/******/ 		return Promise.all(Object.keys(__nccwpck_require__.f).reduce((promises, key) => {
/******/ 			__nccwpck_require__.f[key](chunkId, promises);
/******/ 			return promises;
/******/ 		}, []));
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/get javascript chunk filename */
/******/ (() => {
/******/ 	// This function allow to reference async chunks
/******/ 	__nccwpck_require__.u = (chunkId) => {
/******/ 		// return url for filenames based on template
/******/ 		return "" + chunkId + ".index.js";
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/hasOwnProperty shorthand */
/******/ (() => {
/******/ 	__nccwpck_require__.o = (obj, prop) => (Object.prototype.hasOwnProperty.call(obj, prop))
/******/ })();
/******/ 
/******/ /* webpack/runtime/make namespace object */
/******/ (() => {
/******/ 	// define __esModule on exports
/******/ 	__nccwpck_require__.r = (exports) => {
/******/ 		if(typeof Symbol !== 'undefined' && Symbol.toStringTag) {
/******/ 			Object.defineProperty(exports, Symbol.toStringTag, { value: 'Module' });
/******/ 		}
/******/ 		Object.defineProperty(exports, '__esModule', { value: true });
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/import chunk loading */
/******/ (() => {
/******/ 	// no baseURI
/******/ 	
/******/ 	// object to store loaded and loading chunks
/******/ 	// undefined = chunk not loaded, null = chunk preloaded/prefetched
/******/ 	// [resolve, Promise] = chunk loading, 0 = chunk loaded
/******/ 	var installedChunks = {
/******/ 		792: 0
/******/ 	};
/******/ 	
/******/ 	var installChunk = (data) => {
/******/ 		var {ids, modules, runtime} = data;
/******/ 		// add "modules" to the modules object,
/******/ 		// then flag all "ids" as loaded and fire callback
/******/ 		var moduleId, chunkId, i = 0;
/******/ 		for(moduleId in modules) {
/******/ 			if(__nccwpck_require__.o(modules, moduleId)) {
/******/ 				__nccwpck_require__.m[moduleId] = modules[moduleId];
/******/ 			}
/******/ 		}
/******/ 		if(runtime) runtime(__nccwpck_require__);
/******/ 		for(;i < ids.length; i++) {
/******/ 			chunkId = ids[i];
/******/ 			if(__nccwpck_require__.o(installedChunks, chunkId) && installedChunks[chunkId]) {
/******/ 				installedChunks[chunkId][0]();
/******/ 			}
/******/ 			installedChunks[ids[i]] = 0;
/******/ 		}
/******/ 	
/******/ 	}
/******/ 	
/******/ 	__nccwpck_require__.f.j = (chunkId, promises) => {
/******/ 			// import() chunk loading for javascript
/******/ 			var installedChunkData = __nccwpck_require__.o(installedChunks, chunkId) ? installedChunks[chunkId] : undefined;
/******/ 			if(installedChunkData !== 0) { // 0 means "already installed".
/******/ 	
/******/ 				// a Promise means "currently loading".
/******/ 				if(installedChunkData) {
/******/ 					promises.push(installedChunkData[1]);
/******/ 				} else {
/******/ 					if(true) { // all chunks have JS
/******/ 						// setup Promise in chunk cache
/******/ 						var promise = import("./" + __nccwpck_require__.u(chunkId)).then(installChunk, (e) => {
/******/ 							if(installedChunks[chunkId] !== 0) installedChunks[chunkId] = undefined;
/******/ 							throw e;
/******/ 						});
/******/ 						var promise = Promise.race([promise, new Promise((resolve) => (installedChunkData = installedChunks[chunkId] = [resolve]))])
/******/ 						promises.push(installedChunkData[1] = promise);
/******/ 					}
/******/ 				}
/******/ 			}
/******/ 	};
/******/ 	
/******/ 	// no prefetching
/******/ 	
/******/ 	// no preloaded
/******/ 	
/******/ 	// no external install chunk
/******/ 	
/******/ 	// no on chunks loaded
/******/ })();
/******/ 
/************************************************************************/
var __webpack_exports__ = {};

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __nccwpck_require__(3024);
// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __nccwpck_require__(7075);
;// CONCATENATED MODULE: external "node:stream/promises"
const promises_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:stream/promises");
// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __nccwpck_require__(7598);
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

// EXTERNAL MODULE: ./src/domain/errors.ts
var domain_errors = __nccwpck_require__(241);
;// CONCATENATED MODULE: ./src/domain/dump-plan.ts
/**
 * pg_dump's command line, built from the user's scope: pure, so the same arguments are tested,
 * recorded in the manifest and run.
 */

const LEVELS = { gzip: [1, 9], lz4: [1, 12], zstd: [1, 22] };
/**
 * `auto` picks what compresses fastest for a size close to pg_dump's default: zstd on pg_dump 16
 * and later, gzip level 1 on older ones (about twice as fast as the default level 6 for ~4% more
 * bytes, measured in docs/benchmarks.md).
 */
function parseCompression(text, pgDumpMajor) {
    const value = text.trim().toLowerCase();
    const fail = (why) => {
        throw new domain_errors/* InputError */.dz(`--compression "${text}": ${why}`, { input: "compression" });
    };
    if (value === "" || value === "auto") {
        return pgDumpMajor >= 16 ? { method: "zstd", level: undefined } : { method: "gzip", level: 1 };
    }
    if (value === "none" || value === "0")
        return { method: "none" };
    const match = /^(gzip|lz4|zstd)(?::(\d+))?$/.exec(value) ?? /^()(\d)$/.exec(value);
    if (!match)
        return fail("expected auto, none, gzip[:1-9], lz4[:1-12] or zstd[:1-22]");
    const method = (match[1] || "gzip");
    const level = match[2] === undefined ? undefined : Number(match[2]);
    const [min, max] = LEVELS[method];
    if (level !== undefined && (level < min || level > max)) {
        fail(`${method} levels go from ${min} to ${max}`);
    }
    if (method !== "gzip" && pgDumpMajor < 16) {
        fail(`${method} needs pg_dump 16 or later; this pg_dump is ${pgDumpMajor} (use gzip:1 to 9, or none)`);
    }
    if (method === "gzip")
        return { method, level: level ?? 1 };
    return { method, level };
}
function formatCompression(compression) {
    if (compression.method === "none")
        return "none";
    return compression.level === undefined ? compression.method : `${compression.method}:${compression.level}`;
}
function compressArgument(compression, pgDumpMajor) {
    if (pgDumpMajor < 16) {
        // pg_dump 15 and older take a gzip level only.
        return `--compress=${compression.method === "gzip" ? compression.level : 0}`;
    }
    return `--compress=${formatCompression(compression)}`;
}
/**
 * Flags the extra arguments may not carry: the pipeline owns output, format, connection and
 * snapshot; the scope has options of its own so that the row counts follow it.
 */
const OWNED = {
    "-f": "the output goes to the store",
    "--file": "the output goes to the store",
    "-F": "the format is always custom",
    "--format": "the format is always custom",
    "-j": "a streamed dump is single-threaded",
    "--jobs": "a streamed dump is single-threaded",
    "-Z": "use --compression",
    "--compress": "use --compression",
    "--snapshot": "lifeboat exports the snapshot itself",
    "-d": "use --database-url",
    "--dbname": "use --database-url",
    "-h": "use --database-url",
    "--host": "use --database-url",
    "-p": "use --database-url",
    "--port": "use --database-url",
    "-U": "use --database-url",
    "--username": "use --database-url",
    "-W": "the password comes from --database-url",
    "--password": "the password comes from --database-url",
    "-n": "use --include-schema",
    "--schema": "use --include-schema",
    "-N": "use --exclude-schema",
    "--exclude-schema": "use --exclude-schema",
    "-t": "use --include-table",
    "--table": "use --include-table",
    "-T": "use --exclude-table",
    "--exclude-table": "use --exclude-table",
    "--exclude-table-data": "use --exclude-table-data",
    "--table-and-children": "use --include-table",
    "--exclude-table-and-children": "use --exclude-table",
    "--exclude-table-data-and-children": "use --exclude-table-data",
    "-a": "use --data-only",
    "--data-only": "use --data-only",
    "-s": "use --schema-only",
    "--schema-only": "use --schema-only",
    "--serializable-deferrable": "the dump runs in lifeboat's exported snapshot",
    "--include-foreign-data": "foreign data is not counted or verified",
    "-V": "not a dump option",
    "--version": "not a dump option",
    "-?": "not a dump option",
    "--help": "not a dump option",
};
function validateExtraArgs(args) {
    for (const arg of args) {
        const flag = arg.startsWith("--") ? arg.split("=")[0] : arg.slice(0, 2);
        const reason = arg.startsWith("-") ? OWNED[flag] : undefined;
        if (reason) {
            throw new domain_errors/* InputError */.dz(`--pg-dump-args: "${arg}" is not allowed (${reason})`, { input: "pg-dump-args" });
        }
    }
    return [...args];
}
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
function validateScope(scope) {
    if (scope.schemaOnly && scope.dataOnly) {
        throw new domain_errors/* InputError */.dz("--schema-only and --data-only: choose one, not both", { input: "schema-only" });
    }
    return scope;
}
/** pg_dump's arguments, connection excepted (the adapter adds --dbname and the password env). */
function buildPgDumpArgs(options) {
    const { scope } = options;
    const args = [
        "--format=custom",
        compressArgument(options.compression, options.pgDumpMajor),
        "--no-password",
    ];
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

;// CONCATENATED MODULE: ./src/domain/layout.ts
/**
 * Where things live in a store, relative to its root (the storage URL's prefix):
 *
 *   <label>/<backup-id>/dump.age            the age-encrypted pg_dump archive (dump.pgdump when unencrypted)
 *   <label>/<backup-id>/roles.sql.age       the roles, when included (roles.sql when unencrypted)
 *   <label>/<backup-id>/manifest.json       written last: the commit marker
 *   <label>/<backup-id>/checks/<timestamp>-<kind>-<pass|fail>.json
 *
 * A folder without a manifest is not a backup: it is in flight, or it failed.
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

;// CONCATENATED MODULE: ./src/domain/manifest.ts
/**
 * manifest.json, schema version 1: what a backup holds and how to prove it. Written last, as the
 * commit marker. Plain JSON with no secrets: no password, no full connection string, no identity.
 * Every field is described in docs/format.md.
 */

const MANIFEST_SCHEMA_VERSION = 1;
const SHA256 = /^[0-9a-f]{64}$/;
/**
 * Reads a manifest from its JSON text and checks the fields readers rely on. Throws when the
 * text is not a schema-1 manifest; the caller decides what that means (a corrupt backup).
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
    return value;
}
/** Empty when `value` has the shape of a schema-1 manifest; otherwise what is wrong with it. */
function manifestProblems(value) {
    if (typeof value !== "object" || value === null)
        return ["not an object"];
    const m = value;
    const problems = [];
    if (m.schemaVersion !== MANIFEST_SCHEMA_VERSION) {
        problems.push(`schemaVersion ${JSON.stringify(m.schemaVersion)} is not ${MANIFEST_SCHEMA_VERSION}`);
    }
    if (typeof m.backupId !== "string")
        problems.push("backupId missing");
    if (typeof m.label !== "string")
        problems.push("label missing");
    if (typeof m.startedAt !== "string" || Number.isNaN(Date.parse(m.startedAt)))
        problems.push("startedAt");
    if (!m.object || typeof m.object.name !== "string" || !/^[A-Za-z0-9._-]+$/.test(m.object.name)) {
        problems.push("object.name");
    }
    if (!m.object || !Number.isSafeInteger(m.object.bytes) || !SHA256.test(String(m.object.sha256))) {
        problems.push("object size or sha256");
    }
    if (!m.dump?.plaintext || !SHA256.test(String(m.dump.plaintext.sha256)))
        problems.push("dump.plaintext");
    if (!m.encryption || !["age-v1", "none"].includes(m.encryption.format))
        problems.push("encryption.format");
    if (m.roles !== undefined) {
        const roles = m.roles;
        if (typeof roles !== "object" ||
            roles === null ||
            typeof roles.name !== "string" ||
            !/^[A-Za-z0-9._-]+$/.test(roles.name) ||
            roles.name === m.object?.name ||
            !Number.isSafeInteger(roles.bytes) ||
            !SHA256.test(String(roles.sha256)) ||
            !SHA256.test(String(roles.plaintext?.sha256))) {
            problems.push("roles");
        }
    }
    if (!Array.isArray(m.tables))
        problems.push("tables");
    else if (m.tables.some((t) => !Number.isSafeInteger(t.rows) || t.rows < 0))
        problems.push("tables[].rows");
    return problems;
}
function serializeManifest(manifest) {
    return JSON.stringify(manifest, null, 2) + "\n";
}

;// CONCATENATED MODULE: ./src/domain/supabase-preset.ts
/**
 * The `supabase` preset, pure: which schemas a Supabase project's dump leaves out, which
 * extensions it keeps, which roles are the platform's own. Decisions and sources: docs/supabase.md
 * (the lists follow the Supabase CLI's `db dump`, pkg/migration/dump.go).
 */

const PRESETS = ["none", "supabase"];
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
function parsePreset(text) {
    const value = (text ?? "none").trim().toLowerCase() || "none";
    if (!PRESETS.includes(value)) {
        throw new domain_errors/* InputError */.dz(`--preset "${text}": expected none or supabase`, { input: "preset" });
    }
    return value;
}
/** include-roles: auto means true with the supabase preset, false without. */
function parseIncludeRoles(text, preset) {
    const value = (text ?? "auto").trim().toLowerCase() || "auto";
    if (value === "auto")
        return preset === "supabase";
    if (["true", "yes", "1", "on"].includes(value))
        return true;
    if (["false", "no", "0", "off"].includes(value))
        return false;
    throw new domain_errors/* InputError */.dz(`--include-roles "${text}": expected auto, true or false`, { input: "include-roles" });
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
    return new domain_errors/* OperationError */.OK(`the file's age header is malformed: ${detail}`);
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
            throw new domain_errors/* OperationError */.OK(`the file's scrypt work factor 2^${encodedWorkFactor.slice(0, 10)} is above the accepted maximum 2^${this.maxWorkFactor}`);
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
function tampered(detail) {
    return new domain_errors/* OperationError */.OK(`the file is corrupted or was tampered with: ${detail}`);
}
function truncated(detail) {
    return new domain_errors/* OperationError */.OK(`the file is truncated: ${detail}`);
}
/** Rejects input that is not a binary age v1 file as soon as its first bytes show it. */
function checkStart(start) {
    if (start.startsWith(VERSION_LINE))
        return;
    // Too short to tell yet which of the cases below it is.
    if (start.length < VERSION_LINE.length &&
        [VERSION_LINE, ARMOR_BEGIN].some((known) => known.startsWith(start))) {
        return;
    }
    if (start.startsWith(ARMOR_BEGIN.slice(0, VERSION_LINE.length))) {
        throw new domain_errors/* OperationError */.OK("the file is ASCII-armored (age -a), which is not supported: decode it with age first");
    }
    if (start.startsWith("age-encryption.org/")) {
        throw new domain_errors/* OperationError */.OK("the file is in an unsupported age format version (expected age-encryption.org/v1)");
    }
    throw new domain_errors/* OperationError */.OK("the input is not an age file: it does not start with age-encryption.org/v1");
}
function noMatch(stanzas, identities) {
    if (stanzas.length === 1 && stanzas[0].type === STANZA_TYPE) {
        return new domain_errors/* OperationError */.OK(identities.some((identity) => identity.kind === "scrypt")
            ? "the passphrase is incorrect for this file"
            : "the file is encrypted with a passphrase, and no passphrase was given");
    }
    const counts = new Map();
    for (const { type } of stanzas)
        counts.set(type.slice(0, 40), (counts.get(type.slice(0, 40)) ?? 0) + 1);
    const types = [...counts].map(([type, count]) => `${count} ${type}`).join(", ");
    return new domain_errors/* OperationError */.OK(`no identity matches any recipient of this file (its recipients: ${types})`);
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
            throw tampered("the header's MAC does not match");
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
            checkStart(header.toString("latin1", 0, VERSION_LINE.length));
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
                throw tampered(`chunk ${this.#counter + 1} failed authentication`);
            // An authentic last chunk with data appended after it: released (as the reference
            // implementation does), and then the stream fails.
            this.push(last);
            throw tampered(`there is trailing data after the last chunk (chunk ${this.#counter + 1})`);
        }
        this.#counter++;
        this.push(plaintext);
    }
    /** At the end of the input, the pending bytes must be the last chunk. */
    #finish() {
        if (this.#state === "header") {
            if (this.#headerLength === 0)
                throw new domain_errors/* OperationError */.OK("the input is empty, not an age file");
            throw truncated("it ends inside the age header");
        }
        if (this.#state === "nonce")
            throw truncated("it ends before the payload's nonce is complete");
        const chunk = this.#counter + 1;
        if (this.#pendingLength < TAG_LENGTH) {
            throw this.#counter === 0 && this.#pendingLength === 0
                ? truncated("the payload has no chunks")
                : truncated(`chunk ${chunk} is shorter than its 16-byte authentication tag`);
        }
        const sealed = this.#pending.subarray(0, this.#pendingLength);
        const plaintext = openChunk(this.#key, this.#counter, true, sealed);
        if (plaintext && plaintext.length === 0 && this.#counter > 0) {
            throw tampered(`chunk ${chunk} is an empty last chunk after other chunks, which the format forbids`);
        }
        if (!plaintext) {
            const middle = this.#pendingLength === ENCRYPTED_CHUNK_SIZE
                ? openChunk(this.#key, this.#counter, false, sealed)
                : undefined;
            if (!middle)
                throw tampered(`chunk ${chunk} failed authentication`);
            // An authentic chunk that is not the last: released (as the reference implementation does),
            // and then the stream fails, as the chunks after it are missing.
            this.push(middle);
            throw truncated(`it ends after chunk ${chunk}, which is not marked as the last chunk`);
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






// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __nccwpck_require__(8161);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __nccwpck_require__(6760);
// EXTERNAL MODULE: ./node_modules/pg/lib/index.js
var lib = __nccwpck_require__(3273);
;// CONCATENATED MODULE: ./node_modules/pg/esm/index.mjs
// ESM wrapper for pg


// Re-export all the properties
const Client = lib.Client
const Pool = lib.Pool
const Connection = lib.Connection
const types = lib.types
const Query = lib.Query
const DatabaseError = lib.DatabaseError
const escapeIdentifier = lib.escapeIdentifier
const escapeLiteral = lib.escapeLiteral
const Result = lib.Result
const TypeOverrides = lib.TypeOverrides

// Also export the defaults
const defaults = lib.defaults

// Re-export the default
/* harmony default export */ const esm = (lib);

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
    const client = new esm.Client({
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

;// CONCATENATED MODULE: external "node:dns/promises"
const external_node_dns_promises_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:dns/promises");
;// CONCATENATED MODULE: external "node:net"
const external_node_net_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:net");
;// CONCATENATED MODULE: external "node:tls"
const external_node_tls_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:tls");
// EXTERNAL MODULE: external "node:child_process"
var external_node_child_process_ = __nccwpck_require__(1421);
// EXTERNAL MODULE: external "node:util"
var external_node_util_ = __nccwpck_require__(7975);
// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __nccwpck_require__(1455);
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
    await (0,promises_.mkdir)(partsDir, { recursive: true });
    if (source.kind === "custom") {
        await (0,promises_.writeFile)((0,external_node_path_.join)(work, "sources.list"), source.list);
        for (const [name, content] of Object.entries(source.parts))
            await (0,promises_.writeFile)((0,external_node_path_.join)(partsDir, name), content);
        return;
    }
    let key = PGDG_KEY;
    if (!(0,external_node_fs_.existsSync)(key)) {
        key = (0,external_node_path_.join)(work, "pgdg.asc");
        await (0,promises_.writeFile)(key, `${PGDG_KEY_ASC}\n`);
    }
    await (0,promises_.writeFile)((0,external_node_path_.join)(work, "sources.list"), `deb [signed-by=${key}] ${PGDG_URL} ${source.codename}-pgdg main\n`);
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
    const work = await (0,promises_.mkdtemp)((0,external_node_path_.join)((0,external_node_os_.tmpdir)(), "lifeboat-apt-"));
    let staging;
    try {
        await (0,promises_.mkdir)((0,external_node_path_.dirname)(dir), { recursive: true });
        staging = await (0,promises_.mkdtemp)((0,external_node_path_.join)((0,external_node_path_.dirname)(dir), `.${(0,external_node_path_.basename)(dir)}.partial-`));
        const debs = (0,external_node_path_.join)(work, "debs");
        for (const path of [
            debs,
            (0,external_node_path_.join)(work, "state", "lists", "partial"),
            (0,external_node_path_.join)(work, "cache", "archives", "partial"),
        ]) {
            await (0,promises_.mkdir)(path, { recursive: true });
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
        const files = (await (0,promises_.readdir)(debs)).filter((name) => name.endsWith(".deb"));
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
        await (0,promises_.writeFile)((0,external_node_path_.join)(staging, MARKER), `${JSON.stringify(marker, null, 2)}\n`);
        if (readInstalled(dir, major)) {
            // Another run finished first: its copy is as good as ours.
            await (0,promises_.rm)(staging, { recursive: true, force: true });
        }
        else {
            await (0,promises_.rm)(dir, { recursive: true, force: true });
            await (0,promises_.rename)(staging, dir);
        }
        const result = readInstalled(dir, major);
        if (!result)
            throw new domain_errors/* OperationError */.OK(`--install-pg-client auto: ${dir} is incomplete after the install`);
        log.info(`Installed ${pkg} ${result.packageVersion} into ${dir}`);
        return result;
    }
    catch (error) {
        if (staging)
            await (0,promises_.rm)(staging, { recursive: true, force: true }).catch(() => undefined);
        if (error instanceof domain_errors/* InputError */.dz || error instanceof domain_errors/* OperationError */.OK)
            throw error;
        throw new domain_errors/* OperationError */.OK(`--install-pg-client auto: could not install ${tried}: ${(0,domain_errors/* describeError */.Uc)(error)}`, {
            cause: error,
        });
    }
    finally {
        await (0,promises_.rm)(work, { recursive: true, force: true }).catch(() => undefined);
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

;// CONCATENATED MODULE: ./src/postgres/doctor.ts
/**
 * The connection doctor: `preflight` runs before any connection (backup, restore) and turns what
 * can be known from the URL and DNS into one-line exit-2 errors; `runDoctor` goes on through TCP,
 * TLS, authentication, the server, its session settings, privileges and pg_dump, and reports
 * every check (docs/connections.md).
 */










async function systemLookup(host) {
    const found = await (0,external_node_dns_promises_namespaceObject.lookup)(host, { all: true, verbatim: true });
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
    const family = (0,external_node_net_namespaceObject.isIP)(host);
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
            ? (0,external_node_net_namespaceObject.connect)({ path: socketPath(url) })
            : (0,external_node_net_namespaceObject.connect)({ host: bareHost(url.host), port: url.port });
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
            const tls = (0,external_node_tls_namespaceObject.connect)({ ...options, socket, host, ...((0,external_node_net_namespaceObject.isIP)(host) ? {} : { servername: host }) });
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
/** The one place the doctor looks for a pg_dump, with the same options as backup. */
function findDumpTool(settings, server, deps) {
    return findPgTool({
        name: "pg_dump",
        serverMajor: server.major,
        serverVersion: server.version,
        pgBinDir: settings.pgBinDir,
        pgVersion: settings.pgVersion,
        installPgClient: settings.installPgClient,
        env: deps.env,
        ...(deps.log ? { log: deps.log } : {}),
    });
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
        const tool = await findDumpTool(settings, server, deps);
        report.pgDump = { version: tool.version, path: tool.path };
        return ok(`pg_dump ${tool.version} (${tool.path}) can dump PostgreSQL ${server.version}`);
    });
    if (report.failure)
        report.exitCode = report.failure.exitCode;
    return report;
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
    const tool = toolSpawn(options.pgDump, options.env);
    const env = { ...tool.env, PGAPPNAME: "lifeboat pg_dump", PGCONNECT_TIMEOUT: "15" };
    // The password travels in the environment, never on the command line.
    delete env.PGPASSWORD;
    if (options.url.password !== undefined)
        env.PGPASSWORD = options.url.password;
    // Its own process group: a terminal's Ctrl-C reaches us, not pg_dump, and stopping it stops
    // anything it started (a wrapper script's children too).
    const child = (0,external_node_child_process_.spawn)(tool.path, [...options.args, `--dbname=${options.url.withoutPassword}`], {
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

;// CONCATENATED MODULE: ./src/postgres/snapshot.ts


async function exportSnapshot(client) {
    // Long dumps must not be cancelled by the server's timeouts (connect() turns them off too; this
    // session holds the snapshot and counts, so it makes sure); row security off makes a count
    // that RLS would filter fail loudly, the way pg_dump itself does, instead of counting less.
    await disableTimeouts(client);
    await client.query("SET row_security = off");
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    const { rows } = await client.query("SELECT pg_export_snapshot() AS id");
    let open = true;
    return {
        id: rows[0].id,
        async countRows(scope, options) {
            if (scope.schemaOnly)
                return [];
            const tables = await listDumpedTables(client, scope, options);
            const counts = [];
            for (const table of tables) {
                const result = await client.query(`SELECT count(*) AS rows FROM ONLY ${quoteIdent(table.schema)}.${quoteIdent(table.table)}`);
                counts.push({ ...table, rows: Number(result.rows[0].rows) });
            }
            return counts;
        },
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
/**
 * The ordinary tables pg_dump writes data for under the scope: user schemas only, extension
 * members and foreign tables left out (pg_dump does not dump their data either), -n/-N/-t/-T and
 * --exclude-table-data applied with pg_dump's own pattern rules.
 */
async function listDumpedTables(client, scope, options) {
    const values = [];
    const param = (value) => {
        values.push(value);
        return `$${values.length}`;
    };
    const tableMatch = (pattern) => {
        const parsed = parseNamePattern(pattern);
        const name = `c.relname ~ ${param(parsed.name)}`;
        return parsed.schema
            ? `(${name} AND n.nspname ~ ${param(parsed.schema)})`
            : `(${name} AND pg_catalog.pg_table_is_visible(c.oid))`;
    };
    const conditions = [
        "c.relkind = 'r'",
        "n.nspname NOT IN ('pg_catalog', 'information_schema')",
        "n.nspname NOT LIKE 'pg\\_toast%'",
        "n.nspname NOT LIKE 'pg\\_temp\\_%'",
        "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')",
    ];
    if (options.excludeUnlogged)
        conditions.push("c.relpersistence <> 'u'");
    if (scope.includeTables.length > 0) {
        // As in pg_dump, -n/-N have no effect once -t selects tables.
        conditions.push(`(${scope.includeTables.map(tableMatch).join(" OR ")})`);
    }
    else {
        if (scope.includeSchemas.length > 0) {
            conditions.push(`(${scope.includeSchemas.map((p) => `n.nspname ~ ${param(schemaPatternRegex(p))}`).join(" OR ")})`);
        }
        for (const pattern of scope.excludeSchemas)
            conditions.push(`n.nspname !~ ${param(schemaPatternRegex(pattern))}`);
    }
    for (const pattern of [...scope.excludeTables, ...scope.excludeTableData]) {
        conditions.push(`NOT ${tableMatch(pattern)}`);
    }
    const { rows } = await client.query(`SELECT n.nspname AS schema, c.relname AS table
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE ${conditions.join("\n        AND ")}
      ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`, values);
    return rows;
}

;// CONCATENATED MODULE: ./src/postgres/extensions.ts
async function listExtensions(client) {
    const { rows } = await client.query(`SELECT e.extname AS name, n.nspname AS schema
       FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      ORDER BY e.extname COLLATE "C"`);
    return rows;
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

;// CONCATENATED MODULE: ./src/domain/roles-sql.ts
/**
 * The roles object's SQL, pure: `pg_dumpall --roles-only --no-role-passwords` output with the
 * reserved roles' statements left out, and the same statements classified again when they are
 * applied. Works statement by statement (not line by line), so a comment spanning lines or a
 * quoted name stays whole.
 */


const NAME = String.raw `(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
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
    let match = new RegExp(`^(CREATE|ALTER|COMMENT ON) ROLE (${NAME})`, "i").exec(sql);
    if (match) {
        const verb = match[1].toUpperCase();
        const kind = verb === "CREATE" ? "create" : verb === "ALTER" ? "alter" : "comment";
        return { kind, role: unquote(match[2]), sql };
    }
    match = new RegExp(`^GRANT (${NAME}) TO (${NAME})(.*?)(?: GRANTED BY (${NAME}))?$`, "is").exec(sql);
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
    const withAttributes = new RegExp(`^(ALTER ROLE ${NAME} WITH)(.*)$`, "is").exec(sql);
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
    const { path, env } = toolSpawn({ path: (0,external_node_path_.join)(options.pgDump.binDir, "pg_dumpall"), env: options.pgDump.env }, { ...options.env, PGAPPNAME: "lifeboat pg_dumpall", PGCONNECT_TIMEOUT: "15" });
    // The password travels in the environment, never on the command line.
    delete env.PGPASSWORD;
    if (options.url.password !== undefined)
        env.PGPASSWORD = options.url.password;
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
            errors.push(`${(0,domain_errors/* describeError */.Uc)(error)} (${oneLine(text)})`);
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
function oneLine(text) {
    const line = text.replace(/\s+/g, " ").trim();
    return line.length > 100 ? `${line.slice(0, 97)}...` : line;
}

;// CONCATENATED MODULE: ./src/streams/hash-tap.ts


/** Passes bytes through unchanged while counting them and computing their sha256. */
class HashTap extends external_node_stream_.Transform {
    hash = (0,external_node_crypto_.createHash)("sha256");
    count = 0;
    hex;
    _transform(chunk, _encoding, callback) {
        this.hash.update(chunk);
        this.count += chunk.length;
        callback(null, chunk);
    }
    _flush(callback) {
        this.hex = this.hash.digest("hex");
        callback();
    }
    get bytes() {
        return this.count;
    }
    /** Available once the stream has ended. */
    get sha256() {
        if (this.hex === undefined)
            throw new Error("HashTap: sha256 read before the stream ended");
        return this.hex;
    }
}

;// CONCATENATED MODULE: ./src/commands/roles-object.ts
/**
 * The roles object beside a dump (`roles.sql.age`, or `roles.sql` unencrypted): written by backup
 * before the manifest, checked by verify, decrypted and applied by restore-test. It is small (a
 * few KiB), so it is encrypted and read in memory.
 */







/** Encrypts the roles SQL with `encrypt` (a fresh stream to the backup's recipients) and stores it. */
async function putRolesObject(options) {
    const plain = new HashTap();
    const stored = new HashTap();
    const chunks = [];
    await (0,promises_namespaceObject.pipeline)(external_node_stream_.Readable.from([Buffer.from(options.sql, "utf8")]), plain, options.encrypt, stored, new external_node_stream_.Writable({
        write(chunk, _encoding, callback) {
            chunks.push(chunk);
            callback();
        },
    }));
    const body = Buffer.concat(chunks);
    await options.store.put(options.key, external_node_stream_.Readable.from([body]), {
        ...options.put,
        contentType: "application/octet-stream",
        sizeHint: body.length,
    });
    return {
        name: options.key.slice(options.key.lastIndexOf("/") + 1),
        bytes: stored.bytes,
        sha256: stored.sha256,
        plaintext: { bytes: plain.bytes, sha256: plain.sha256 },
        count: options.count,
    };
}
/**
 * Reads the roles object and checks it against the manifest: the stored bytes' size and sha256,
 * and with `identities` (an empty list for an unencrypted backup) the plaintext's too.
 */
async function readRolesObject(store, manifest, identities) {
    const roles = manifest.roles;
    if (!roles)
        return { problems: [], sql: undefined };
    const key = `${backupPrefix(manifest.label, manifest.backupId)}${roles.name}`;
    const stored = new HashTap();
    const plain = new HashTap();
    const chunks = [];
    const sink = new external_node_stream_.Writable({
        write(chunk, _encoding, callback) {
            chunks.push(chunk);
            callback();
        },
    });
    const decrypting = identities !== undefined && identities.length > 0;
    try {
        const chain = [
            await store.get(key),
            stored,
            ...(decrypting ? [createDecryptStream(identities)] : []),
            plain,
            sink,
        ];
        await (0,promises_namespaceObject.pipeline)(chain);
    }
    catch (error) {
        if (stored.bytes !== roles.bytes) {
            return {
                problems: [`${roles.name}: ${stored.bytes} bytes read, the manifest says ${roles.bytes}`],
                sql: undefined,
            };
        }
        return { problems: [`reading ${roles.name} failed: ${(0,domain_errors/* describeError */.Uc)(error)}`], sql: undefined };
    }
    if (stored.bytes !== roles.bytes || stored.sha256 !== roles.sha256) {
        return {
            problems: [
                `${roles.name}: ${stored.bytes} bytes with sha256 ${stored.sha256}; the manifest says ${roles.bytes} bytes, sha256 ${roles.sha256}`,
            ],
            sql: undefined,
        };
    }
    if (identities === undefined)
        return { problems: [], sql: undefined };
    if (plain.bytes !== roles.plaintext.bytes || plain.sha256 !== roles.plaintext.sha256) {
        return {
            problems: [
                `${roles.name} decrypts to ${plain.bytes} bytes with sha256 ${plain.sha256}; the manifest says ${roles.plaintext.bytes} bytes, sha256 ${roles.plaintext.sha256}`,
            ],
            sql: undefined,
        };
    }
    return { problems: [], sql: Buffer.concat(chunks).toString("utf8") };
}
/** Reads, checks and applies the backup's roles object to a server (restore-test's scratch server). */
async function applyRolesObject(client, store, manifest, identities) {
    const read = await readRolesObject(store, manifest, identities);
    if (read.sql === undefined) {
        throw new domain_errors/* OperationError */.OK(read.problems[0] ?? `${manifest.roles?.name ?? "the roles object"} could not be read`);
    }
    return applyRoles(client, read.sql);
}

;// CONCATENATED MODULE: ./src/version.ts
/** The package version, recorded in manifests; a test keeps it equal to package.json's. */
const LIFEBOAT_VERSION = "0.1.0";

;// CONCATENATED MODULE: ./src/commands/backup.ts
/**
 * backup: preflight, dump, encrypt, stream into the store, count rows in the dump's snapshot, and
 * commit by writing the manifest last. Anything that fails before the manifest is written leaves
 * no object behind and no manifest: the next run starts clean.
 */




















function encryptionFor(settings) {
    const { encryption } = settings;
    if (encryption.kind === "none")
        return { stream: new external_node_stream_.PassThrough(), info: { format: "none" } };
    if (encryption.kind === "passphrase") {
        return {
            stream: createEncryptStream([passphraseRecipient(encryption.passphrase)]),
            info: { format: "age-v1", recipients: [], passphrase: true },
        };
    }
    // The same key given twice would only add an identical stanza: keep each once.
    const unique = new Map(encryption.recipients
        .map((text) => parseRecipient(text))
        .map((recipient) => [recipient.toString(), recipient]));
    return {
        stream: createEncryptStream([...unique.values()]),
        info: { format: "age-v1", recipients: [...unique.keys()], passphrase: false },
    };
}
async function runBackup(settings, deps) {
    const { store, log } = deps;
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
        const pgDump = await findPgTool({
            name: "pg_dump",
            serverMajor: server.major,
            serverVersion: server.version,
            pgBinDir: settings.pgBinDir,
            pgVersion: settings.pgVersion,
            installPgClient: settings.installPgClient,
            env: deps.env,
            cache: deps.toolCache,
            log,
        });
        const compression = parseCompression(settings.compression, pgDump.major);
        // The store is checked once the database side is known to work, so a typo in the URL
        // leaves not even an empty directory behind.
        await store.check();
        log.info(`PostgreSQL ${server.version} at ${settings.databaseUrl.host}:${settings.databaseUrl.port}/${server.database}; pg_dump ${pgDump.version} (${pgDump.path}); compression ${formatCompression(compression)}`);
        const backupId = newBackupId(started);
        const retention = settings.objectLock && {
            mode: settings.objectLock.mode,
            until: new Date(started.getTime() + settings.objectLock.days * 86_400_000),
        };
        const encrypted = encryption.info.format !== "none";
        const objectKey = dumpKey(settings.label, backupId, encrypted);
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
        const args = buildPgDumpArgs({
            scope: settings.scope,
            compression,
            pgDumpMajor: pgDump.major,
            snapshot: snapshot.id,
            extraArgs: [...settings.extraArgs, ...presetArgs],
        });
        log.info(`Backing up into ${store.url}/${objectKey}`);
        const { tables, plain, stored } = await streamDump({
            dump: startPgDump({ pgDump, args, url: settings.databaseUrl, env: deps.env }),
            encrypt: encryption.stream,
            store,
            objectKey,
            sizeHint: dumpSizeCeiling(server.databaseBytes),
            retention,
            counting: snapshot
                .countRows(settings.scope, {
                excludeUnlogged: settings.extraArgs.includes("--no-unlogged-table-data"),
            })
                .catch((error) => {
                throw new domain_errors/* OperationError */.OK(`counting rows in the dump's snapshot failed: ${(0,domain_errors/* describeError */.Uc)(error)}`, {
                    cause: error,
                });
            }),
            signal: deps.signal,
        }).finally(async () => {
            await snapshot.release().catch(() => undefined);
            await closeClient();
        });
        // The roles object goes in before the manifest, like the dump; a failure takes both back.
        const rolesObjectKey = roles && rolesKey(settings.label, backupId, encrypted);
        let rolesInfo;
        if (roles && rolesObjectKey) {
            try {
                rolesInfo = await putRolesObject({
                    store,
                    key: rolesObjectKey,
                    sql: roles.sql,
                    count: roles.roles.length,
                    encrypt: encryptionFor(settings).stream,
                    put: { signal: deps.signal, retention },
                });
            }
            catch (error) {
                await store.deleteMany([objectKey, rolesObjectKey]).catch(() => undefined);
                throw asOperationError(error);
            }
            log.info(`Roles: ${roles.roles.length} in ${rolesInfo.name}${roles.left.length > 0 ? `; reserved, left out: ${roles.left.join(", ")}` : ""}`);
        }
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
            dump: {
                format: "custom",
                compression: formatCompression(compression),
                scope: settings.scope,
                plaintext: { bytes: plain.bytes, sha256: plain.sha256 },
            },
            object: {
                name: encrypted ? ENCRYPTED_DUMP_FILE : PLAIN_DUMP_FILE,
                bytes: stored.bytes,
                sha256: stored.sha256,
            },
            encryption: encryption.info,
            preset,
            ...(rolesInfo ? { roles: rolesInfo } : {}),
            tables,
            totalRows: tables.reduce((sum, table) => sum + table.rows, 0),
            objectLock: retention ? { mode: retention.mode, retainUntil: retention.until.toISOString() } : null,
            provenance: provenanceFromEnv(deps.env),
        };
        const key = manifestKey(settings.label, backupId);
        try {
            await store.put(key, external_node_stream_.Readable.from([Buffer.from(serializeManifest(manifest))]), {
                contentType: "application/json",
                signal: deps.signal,
                retention,
            });
        }
        catch (error) {
            await store.deleteMany([objectKey, ...(rolesObjectKey ? [rolesObjectKey] : [])]).catch(() => undefined);
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
 * pg_dump -> sha256 -> age -> sha256 -> store, with the row counts running beside it. The first
 * failure anywhere (pg_dump, the store, the counts, an interrupt) stops everything else: pg_dump is
 * killed, the upload aborted, and an object that was completed anyway is deleted again.
 */
async function streamDump(options) {
    const { dump, store, objectKey, signal } = options;
    const plain = new HashTap();
    const stored = new HashTap();
    const controller = new AbortController();
    let firstError;
    const stop = (error) => {
        if (firstError !== undefined)
            return;
        firstError = error;
        controller.abort(error);
        dump.kill((0,domain_errors/* describeError */.Uc)(error));
        stored.destroy(error instanceof Error ? error : new Error(String(error)));
    };
    const onInterrupt = () => stop(new domain_errors/* OperationError */.OK(`interrupted: ${(0,domain_errors/* describeError */.Uc)(signal?.reason)}`));
    if (signal?.aborted)
        onInterrupt();
    signal?.addEventListener("abort", onInterrupt, { once: true });
    const watch = (promise) => promise.catch((error) => {
        stop(error);
        throw error;
    });
    const [piped, put, counted] = await Promise.allSettled([
        watch((0,promises_namespaceObject.pipeline)(dump.output, plain, options.encrypt, stored)),
        watch(store.put(objectKey, stored, {
            signal: controller.signal,
            contentType: "application/octet-stream",
            sizeHint: options.sizeHint,
            retention: options.retention,
        })),
        watch(options.counting),
    ]);
    signal?.removeEventListener("abort", onInterrupt);
    const takeBack = () => store.deleteMany([objectKey]).catch(() => undefined);
    if (piped.status === "rejected" || put.status === "rejected" || counted.status === "rejected") {
        // The put is all or nothing; if it completed before something else failed, take it back.
        if (put.status === "fulfilled")
            await takeBack();
        // Every rejection went through stop(), so firstError came first; but a store that fails hands
        // its raw error to the stream too, and its own put error says more (which object, which store).
        const explained = [firstError, put, piped, counted]
            .map((result) => (isRejected(result) ? result.reason : result))
            .find((error) => error instanceof domain_errors/* LifeboatError */.H3);
        throw asOperationError(explained ?? firstError);
    }
    if (firstError !== undefined) {
        // Interrupted after every part had finished: nothing is committed.
        await takeBack();
        throw asOperationError(firstError);
    }
    if (put.value.bytes !== stored.bytes) {
        await takeBack();
        throw new domain_errors/* OperationError */.OK(`the store took ${put.value.bytes} bytes of the ${stored.bytes} sent`);
    }
    return { tables: counted.value, plain, stored };
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

;// CONCATENATED MODULE: ./src/domain/size.ts

const UNITS = {
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
    const factor = match ? UNITS[match[2].toLowerCase()] : undefined;
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

const duration_UNITS = [
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
        const unit = duration_UNITS.findIndex(([name]) => name === match[2]);
        // Largest unit first and each unit once: "1h1d" and "1h2h" are typos, not durations.
        if (unit <= lastUnit)
            return undefined;
        lastUnit = unit;
        total += Number(match[1]) * duration_UNITS[unit][1];
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
        throw new domain_errors/* InputError */.dz(`--${input} "${text}": expected ${DURATION_FORMS}`, { input });
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
    for (const [name, size] of duration_UNITS) {
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
    const committed = sorted.filter((backup) => backup.committed);
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
    const decisions = sorted.map((backup) => {
        const why = reasons.get(backup);
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

;// CONCATENATED MODULE: ./src/settings/settings.ts
/**
 * Raw option values (from CLI flags and the environment, or from action inputs) parsed once into
 * typed settings. Every error names the option and what was expected, and is raised before
 * anything is read from or written to a database or a store.
 */











function settings_text(raw, name) {
    const value = raw[name];
    if (Array.isArray(value))
        return value.at(-1)?.trim() || undefined;
    if (typeof value === "boolean")
        return String(value);
    return value?.trim() || undefined;
}
function required(raw, name, expected) {
    const value = settings_text(raw, name);
    if (value === undefined)
        throw new domain_errors/* InputError */.dz(`--${name}: required; expected ${expected}`, { input: name });
    return value;
}
/** A list option: repeated flags, and each value split on new lines (action inputs) and commas. */
function list(raw, name) {
    const value = raw[name];
    const values = Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
    return values
        .flatMap((item) => item.split(/[\n,]/))
        .map((item) => item.trim())
        .filter((item) => item !== "" && !item.startsWith("#"));
}
function flag(raw, name) {
    const value = raw[name];
    if (value === undefined || value === "")
        return false;
    if (typeof value === "boolean")
        return value;
    const normalized = String(Array.isArray(value) ? value.at(-1) : value)
        .trim()
        .toLowerCase();
    if (["true", "yes", "1", "on"].includes(normalized))
        return true;
    if (["false", "no", "0", "off", ""].includes(normalized))
        return false;
    throw new domain_errors/* InputError */.dz(`--${name} "${String(value)}": expected true or false`, { input: name });
}
function oneOf(raw, name, choices, fallback) {
    const value = settings_text(raw, name) ?? fallback;
    if (!choices.includes(value)) {
        throw new domain_errors/* InputError */.dz(`--${name} "${value}": expected ${choices.join(" or ")}`, { input: name });
    }
    return value;
}
/** pg-bin-dir, pg-version (auto or a major such as 17) and install-pg-client (auto or never). */
function parsePgClientSettings(raw) {
    const versionText = settings_text(raw, "pg-version") ?? "auto";
    let pgVersion = "auto";
    if (versionText.toLowerCase() !== "auto") {
        if (!/^\d{2}$/.test(versionText)) {
            throw new domain_errors/* InputError */.dz(`--pg-version "${versionText}": expected auto or a major version such as 17`, {
                input: "pg-version",
            });
        }
        pgVersion = Number(versionText);
    }
    return {
        pgBinDir: settings_text(raw, "pg-bin-dir"),
        pgVersion,
        installPgClient: oneOf(raw, "install-pg-client", ["auto", "never"], "auto"),
    };
}
function parseStorageSettings(raw) {
    const sse = settings_text(raw, "s3-sse");
    if (sse !== undefined && sse !== "AES256" && sse !== "aws:kms") {
        throw new domain_errors/* InputError */.dz(`--s3-sse "${sse}": expected AES256 or aws:kms`, { input: "s3-sse" });
    }
    const sseKmsKeyId = settings_text(raw, "s3-sse-kms-key-id");
    if (sseKmsKeyId !== undefined && sse !== "aws:kms") {
        throw new domain_errors/* InputError */.dz(`--s3-sse-kms-key-id: only used with --s3-sse aws:kms`, {
            input: "s3-sse-kms-key-id",
        });
    }
    const endpoint = settings_text(raw, "s3-endpoint");
    if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint)) {
        throw new domain_errors/* InputError */.dz(`--s3-endpoint "${endpoint}": expected an http:// or https:// URL`, {
            input: "s3-endpoint",
        });
    }
    return {
        storage: required(raw, "storage", "s3://bucket/prefix, file:///absolute/path or a directory path"),
        label: validateLabel(settings_text(raw, "label") ?? "default"),
        s3: {
            endpoint,
            region: settings_text(raw, "s3-region"),
            forcePathStyle: flag(raw, "s3-force-path-style"),
            checksums: oneOf(raw, "s3-checksums", ["when-required", "when-supported"], "when-required"),
            sse,
            sseKmsKeyId,
        },
    };
}
function readPassphraseFile(path) {
    let passphrase;
    try {
        passphrase = (0,external_node_fs_.readFileSync)(path, "utf8").split(/\r?\n/)[0];
    }
    catch (error) {
        throw new domain_errors/* InputError */.dz(`--passphrase-file "${path}": cannot read it (${error.code ?? "error"})`, { input: "passphrase-file" });
    }
    if (!passphrase) {
        throw new domain_errors/* InputError */.dz(`--passphrase-file "${path}": the first line is empty`, {
            input: "passphrase-file",
        });
    }
    return passphrase;
}
/**
 * Encryption: public recipients, or one passphrase, or an explicit `none`. Neither is a bad input:
 * an unencrypted backup is never made by accident.
 */
function parseEncryptionSettings(raw) {
    const mode = flag(raw, "no-encryption")
        ? "none"
        : oneOf(raw, "encryption", ["age", "none"], "age");
    const recipients = list(raw, "recipient");
    const passphraseFile = settings_text(raw, "passphrase-file");
    let passphrase = settings_text(raw, "passphrase");
    if (passphraseFile !== undefined)
        passphrase = readPassphraseFile(passphraseFile);
    if (mode === "none") {
        if (recipients.length > 0 || passphrase !== undefined) {
            throw new domain_errors/* InputError */.dz("--encryption none: remove --recipient and the passphrase, or drop --encryption none", {
                input: "encryption",
            });
        }
        return { kind: "none" };
    }
    if (recipients.length > 0 && passphrase !== undefined) {
        throw new domain_errors/* InputError */.dz("--recipient and a passphrase: choose one (age allows a passphrase only on its own)", {
            input: "recipient",
        });
    }
    if (passphrase !== undefined)
        return { kind: "passphrase", passphrase };
    if (recipients.length === 0) {
        throw new domain_errors/* InputError */.dz("--recipient: required; expected an age public key (age1...), or a passphrase (--passphrase-file / LIFEBOAT_PASSPHRASE), or --encryption none to opt out of encryption", { input: "recipient" });
    }
    return { kind: "recipients", recipients };
}
/**
 * Object Lock needs both options, an s3:// storage, and request checksums: S3 refuses locked
 * uploads without one, so the checksum mode follows unless the user set it otherwise.
 */
function parseObjectLock(raw, storage) {
    const modeText = settings_text(raw, "object-lock-mode");
    const daysText = settings_text(raw, "object-lock-days");
    if (modeText === undefined && daysText === undefined)
        return undefined;
    if (modeText === undefined || daysText === undefined) {
        const missing = modeText === undefined ? "object-lock-mode" : "object-lock-days";
        throw new domain_errors/* InputError */.dz(`--${missing}: required with --object-lock-mode and --object-lock-days together`, {
            input: missing,
        });
    }
    const mode = modeText.toUpperCase();
    if (mode !== "GOVERNANCE" && mode !== "COMPLIANCE") {
        throw new domain_errors/* InputError */.dz(`--object-lock-mode "${modeText}": expected GOVERNANCE or COMPLIANCE`, {
            input: "object-lock-mode",
        });
    }
    const days = Number(daysText);
    if (!Number.isInteger(days) || days < 1 || days > 36500) {
        throw new domain_errors/* InputError */.dz(`--object-lock-days "${daysText}": expected a whole number of days from 1 to 36500`, {
            input: "object-lock-days",
        });
    }
    if (!storage.storage.startsWith("s3://")) {
        throw new domain_errors/* InputError */.dz(`--object-lock-mode: needs s3:// storage with Object Lock enabled on the bucket`, {
            input: "object-lock-mode",
        });
    }
    if (settings_text(raw, "s3-checksums") === "when-required") {
        throw new domain_errors/* InputError */.dz("--s3-checksums when-required: S3 refuses object-locked uploads without a checksum; drop it or use when-supported", { input: "s3-checksums" });
    }
    storage.s3.checksums = "when-supported";
    return { mode, days };
}
function parseBackupSettings(raw) {
    const databaseUrl = parseDatabaseUrl(required(raw, "database-url", "postgresql://user:password@host:port/database"));
    const storage = parseStorageSettings(raw);
    const preset = parsePreset(settings_text(raw, "preset"));
    const includeRoles = parseIncludeRoles(settings_text(raw, "include-roles"), preset);
    const scope = validateScope(applyPreset(preset, {
        ...emptyScope(),
        schemaOnly: flag(raw, "schema-only"),
        dataOnly: flag(raw, "data-only"),
        includeSchemas: list(raw, "include-schema"),
        excludeSchemas: list(raw, "exclude-schema"),
        includeTables: list(raw, "include-table"),
        excludeTables: list(raw, "exclude-table"),
        excludeTableData: list(raw, "exclude-table-data"),
    }));
    const extraArgs = validateExtraArgs((settings_text(raw, "pg-dump-args") ?? "").split(/\s+/).filter(Boolean));
    const objectLock = parseObjectLock(raw, storage);
    return {
        ...storage,
        objectLock,
        databaseUrl,
        encryption: parseEncryptionSettings(raw),
        compression: settings_text(raw, "compression") ?? "auto",
        scope,
        extraArgs,
        ...parsePgClientSettings(raw),
        preset,
        includeRoles,
    };
}
/** A whole number >= 0 (`--keep-daily 7`); `fallback` when the option is absent. */
function wholeNumber(raw, name, fallback) {
    const value = settings_text(raw, name);
    if (value === undefined)
        return fallback;
    const number = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(number)) {
        throw new domain_errors/* InputError */.dz(`--${name} "${value}": expected a whole number >= 0`, { input: name });
    }
    return number;
}
/** A folder without a manifest younger than this may be a backup in flight: never less than 1 hour. */
const MIN_SAFE_AGE_MS = 3_600_000;
function parsePruneSettings(raw) {
    const within = settings_text(raw, "keep-within");
    const safeAgeText = settings_text(raw, "safe-age") ?? "24h";
    const policy = {
        keepLast: wholeNumber(raw, "keep-last", 0),
        keepHourly: wholeNumber(raw, "keep-hourly", 0),
        keepDaily: wholeNumber(raw, "keep-daily", 0),
        keepWeekly: wholeNumber(raw, "keep-weekly", 0),
        keepMonthly: wholeNumber(raw, "keep-monthly", 0),
        keepYearly: wholeNumber(raw, "keep-yearly", 0),
        keepWithinMs: within === undefined ? 0 : parseDurationOption(within, "keep-within"),
        minVerified: wholeNumber(raw, "min-verified", 1),
        safeAgeMs: parseDurationOption(safeAgeText, "safe-age"),
    };
    if (policy.safeAgeMs < MIN_SAFE_AGE_MS) {
        throw new domain_errors/* InputError */.dz(`--safe-age "${safeAgeText}": expected at least ${formatDuration(MIN_SAFE_AGE_MS)}, so that a backup in flight is never removed`, { input: "safe-age" });
    }
    validatePolicy(policy);
    return { ...parseStorageSettings(raw), policy, dryRun: flag(raw, "dry-run") };
}
/** The key that decrypts a backup: an identity (file in the CLI, text in the action) or a passphrase. */
function parseDecryptionKeys(raw) {
    const identityFile = settings_text(raw, "identity-file");
    let identityText = settings_text(raw, "identity");
    if (identityFile !== undefined) {
        try {
            identityText = (0,external_node_fs_.readFileSync)(identityFile, "utf8");
        }
        catch (error) {
            throw new domain_errors/* InputError */.dz(`--identity-file "${identityFile}": cannot read it (${error.code ?? "error"})`, { input: "identity-file" });
        }
    }
    const passphraseFile = settings_text(raw, "passphrase-file");
    let passphrase = settings_text(raw, "passphrase");
    if (passphraseFile !== undefined)
        passphrase = readPassphraseFile(passphraseFile);
    if (identityText !== undefined && passphrase !== undefined) {
        throw new domain_errors/* InputError */.dz("--identity-file and a passphrase: give the one the backup was made with", {
            input: "identity-file",
        });
    }
    return { identityText, passphrase };
}
function parseVerifySettings(raw) {
    const maxAge = settings_text(raw, "max-age");
    const maxSizeChange = settings_text(raw, "max-size-change");
    const minSize = settings_text(raw, "min-size");
    return {
        ...parseStorageSettings(raw),
        backup: settings_text(raw, "backup") ?? "latest",
        keys: parseDecryptionKeys(raw),
        ...parsePgClientSettings(raw),
        gates: {
            maxAgeSeconds: maxAge === undefined ? undefined : parseDurationOption(maxAge, "max-age") / 1000,
            maxSizeChange: maxSizeChange === undefined ? undefined : parsePercent(maxSizeChange, "max-size-change"),
            sizeChangeAction: oneOf(raw, "size-change-action", ["fail", "warn"], "fail"),
            minSizeBytes: minSize === undefined ? undefined : parseSize(minSize, "min-size"),
        },
    };
}
/** pg_restore flags the restore owns: where it reads from, where it writes to, what it does. */
const PG_RESTORE_OWNED = [
    "-d",
    "--dbname",
    "-f",
    "--file",
    "-l",
    "--list",
    "-L",
    "--use-list",
    "-j",
    "--jobs",
    "-h",
    "--host",
    "-p",
    "--port",
    "-U",
    "--username",
    "-W",
    "--password",
    "-e",
    "--exit-on-error",
    "-F",
    "--format",
    "-C",
    "--create",
];
/** pg_restore's default parallelism: the CPUs, at most 4 (more rarely helps a scratch server). */
function defaultJobs() {
    return Math.max(1, Math.min(4, (0,external_node_os_.availableParallelism)()));
}
function parseRestoreTestSettings(raw) {
    const assertionsPath = settings_text(raw, "assertions");
    let assertions;
    if (assertionsPath !== undefined) {
        let sql;
        try {
            sql = (0,external_node_fs_.readFileSync)(assertionsPath, "utf8");
        }
        catch (error) {
            throw new domain_errors/* InputError */.dz(`--assertions "${assertionsPath}": cannot read it (${error.code ?? "error"})`, { input: "assertions" });
        }
        const split = splitSqlStatements(sql);
        if (split.problem) {
            throw new domain_errors/* InputError */.dz(`--assertions "${assertionsPath}": does not parse: ${split.problem}`, {
                input: "assertions",
            });
        }
        if (split.statements.length === 0) {
            throw new domain_errors/* InputError */.dz(`--assertions "${assertionsPath}": holds no SQL statement`, {
                input: "assertions",
            });
        }
        assertions = { path: assertionsPath, statements: split.statements };
    }
    const tolerate = list(raw, "tolerate").map((pattern) => {
        try {
            return new RegExp(pattern);
        }
        catch (error) {
            throw new domain_errors/* InputError */.dz(`--tolerate "${pattern}": not a regular expression (${error.message})`, {
                input: "tolerate",
            });
        }
    });
    const pgRestoreArgs = (settings_text(raw, "pg-restore-args") ?? "").split(/\s+/).filter(Boolean);
    for (const arg of pgRestoreArgs) {
        const flag = arg.startsWith("--") ? arg.split("=")[0] : arg.slice(0, 2);
        if (PG_RESTORE_OWNED.includes(flag)) {
            throw new domain_errors/* InputError */.dz(`--pg-restore-args: "${arg}" is not allowed (the restore-test sets it)`, {
                input: "pg-restore-args",
            });
        }
    }
    const jobsText = settings_text(raw, "jobs");
    const jobs = jobsText === undefined ? defaultJobs() : Number(jobsText);
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) {
        throw new domain_errors/* InputError */.dz(`--jobs "${jobsText}": expected a whole number from 1 to 64`, { input: "jobs" });
    }
    return {
        ...parseStorageSettings(raw),
        backup: settings_text(raw, "backup") ?? "latest",
        keys: parseDecryptionKeys(raw),
        scratchUrl: parseDatabaseUrl(required(raw, "scratch-database-url", "postgresql://user:password@host:port/postgres"), "scratch-database-url"),
        assertions,
        run: settings_text(raw, "run"),
        tolerate,
        keepOnFailure: flag(raw, "keep-on-failure"),
        decryptToDisk: oneOf(raw, "decrypt-to-disk", ["auto", "never"], "auto"),
        jobs,
        pgRestoreArgs,
        ...parsePgClientSettings(raw),
    };
}
/**
 * restore: the target and its confirmation are checked here (the name typed in `confirm` against
 * the database name in the URL) and again against current_database() once connected.
 */
function parseRestoreSettings(raw) {
    const targetUrl = parseDatabaseUrl(required(raw, "target-database-url", "postgresql://user:password@host:port/database"), "target-database-url");
    const confirm = settings_text(raw, "confirm");
    if (confirm === undefined) {
        throw new domain_errors/* InputError */.dz(`--confirm: required; expected the target database's name ("${targetUrl.database}"), typed out to confirm that it is overwritten`, { input: "confirm" });
    }
    if (confirm !== targetUrl.database) {
        throw new domain_errors/* InputError */.dz(`--confirm "${confirm}": expected the target database's name "${targetUrl.database}" (from --target-database-url); nothing was restored`, { input: "confirm" });
    }
    const storage = parseStorageSettings(raw);
    const safetyLabelText = settings_text(raw, "safety-label");
    const safetyLabel = safetyLabelText ?? `${storage.label}-safety`;
    try {
        validateLabel(safetyLabel);
    }
    catch (error) {
        if (safetyLabelText !== undefined)
            throw error;
        throw new domain_errors/* InputError */.dz(`--label "${storage.label}": the safety label "${safetyLabel}" is too long; give --safety-label`, { input: "safety-label" });
    }
    if (safetyLabel === storage.label) {
        throw new domain_errors/* InputError */.dz(`--safety-label "${safetyLabel}": expected a label other than the one being restored from`, { input: "safety-label" });
    }
    return {
        ...storage,
        backup: settings_text(raw, "backup") ?? "latest",
        keys: parseDecryptionKeys(raw),
        targetUrl,
        confirm,
        safetyBackup: raw["safety-backup"] === undefined ? true : flag(raw, "safety-backup"),
        safetyLabel,
        schemas: list(raw, "schema"),
        tables: list(raw, "table"),
        clean: flag(raw, "clean"),
        noOwner: flag(raw, "no-owner"),
        noPrivileges: flag(raw, "no-privileges"),
        ...parsePgClientSettings(raw),
    };
}

;// CONCATENATED MODULE: ./src/commands/doctor.ts
/**
 * doctor: every check between this machine and a backup of the database, each with a one-line
 * result, so a failing URL is diagnosed in one run rather than one error at a time.
 */





function parseDoctorSettings(raw) {
    return {
        databaseUrl: parseDatabaseUrl(required(raw, "database-url", "postgresql://user:password@host:port/database")),
        ...parsePgClientSettings(raw),
        preset: parsePreset(settings_text(raw, "preset")),
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
async function runDoctorCommand(settings, deps) {
    const report = await runDoctor(settings, deps);
    return {
        json: {
            ok: report.ok,
            exitCode: report.exitCode,
            ...(report.failure ? { error: report.failure.message } : {}),
            database: settings.databaseUrl.redacted,
            sslmode: settings.databaseUrl.sslmode,
            checks: report.checks,
            ...(report.server ? { server: report.server } : {}),
            ...(report.pgDump ? { pgDump: report.pgDump } : {}),
        },
        text: formatDoctorReport(report),
        ...(report.failure ? { failure: report.failure } : {}),
    };
}

;// CONCATENATED MODULE: ./src/commands/list.ts

/** The committed backups under the label, newest first, from one listing of the label's prefix. */
async function listBackups(settings, deps) {
    await deps.store.check();
    const objects = [];
    for await (const object of deps.store.list(`${settings.label}/`))
        objects.push(object);
    const now = deps.now().getTime();
    return groupBackupFolders(settings.label, objects)
        .filter((folder) => folder.committed)
        .map((folder) => {
        const dump = folder.objects.find((object) => object.key.endsWith(`/${ENCRYPTED_DUMP_FILE}`) || object.key.endsWith(`/${PLAIN_DUMP_FILE}`));
        const last = folder.checks.at(-1);
        return {
            backupId: folder.backupId,
            startedAt: folder.startedAt.toISOString(),
            ageSeconds: Math.max(0, Math.round((now - folder.startedAt.getTime()) / 1000)),
            storedBytes: dump?.size ?? 0,
            lastCheck: last ? { kind: last.kind, passed: last.passed, at: last.time.toISOString() } : null,
        };
    });
}

;// CONCATENATED MODULE: ./src/domain/verify-gates.ts
function storedSize(folder) {
    return folder.objects.find((object) => /\/dump\.(age|pgdump)$/.test(object.key))?.size;
}
function evaluateGates(input) {
    const { manifest, committed, gates } = input;
    const failures = [];
    const warnings = [];
    const newest = committed[0];
    if (gates.maxAgeSeconds !== undefined && newest) {
        const age = (input.now.getTime() - newest.startedAt.getTime()) / 1000;
        if (age > gates.maxAgeSeconds) {
            failures.push(`the newest backup (${newest.backupId}) is ${formatHours(age)} old, more than max-age ${formatHours(gates.maxAgeSeconds)}`);
        }
    }
    if (gates.minSizeBytes !== undefined && manifest.object.bytes < gates.minSizeBytes) {
        failures.push(`the stored object is ${manifest.object.bytes} bytes, less than min-size ${gates.minSizeBytes}`);
    }
    if (gates.maxSizeChange !== undefined) {
        const index = committed.findIndex((folder) => folder.backupId === manifest.backupId);
        const previous = index >= 0 ? committed[index + 1] : undefined;
        const previousSize = previous ? storedSize(previous) : undefined;
        if (previous && previousSize && previousSize > 0) {
            const change = (manifest.object.bytes - previousSize) / previousSize;
            if (Math.abs(change) > gates.maxSizeChange) {
                const message = `the stored size changed by ${(change * 100).toFixed(1)}% against the previous backup ${previous.backupId} (${previousSize} -> ${manifest.object.bytes} bytes), more than max-size-change ${(gates.maxSizeChange * 100).toFixed(0)}%`;
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
    const tool = toolSpawn(pgRestore, process.env);
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

;// CONCATENATED MODULE: ./src/commands/catalog.ts
/**
 * What a label holds: one listing of `<label>/` grouped into backup folders, and the manifest of
 * the backup a command asked for (an id, or `latest`: the newest committed one).
 */




async function listFolders(store, label) {
    const objects = [];
    for await (const object of store.list(`${label}/`))
        objects.push(object);
    return groupBackupFolders(label, objects);
}
async function readText(store, key) {
    const chunks = [];
    for await (const chunk of await store.get(key))
        chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks).toString("utf8");
}
async function readManifest(store, label, backupId) {
    const key = manifestKey(label, backupId);
    let text;
    try {
        text = await readText(store, key);
    }
    catch (error) {
        if (error instanceof domain_errors/* NotFoundError */.m_)
            throw error;
        throw new domain_errors/* OperationError */.OK(`reading ${store.url}/${key} failed: ${(0,domain_errors/* describeError */.Uc)(error)}`, { cause: error });
    }
    try {
        const manifest = parseManifest(text, `${store.url}/${key}`);
        if (manifest.backupId !== backupId || manifest.label !== label) {
            throw new domain_errors/* OperationError */.OK(`${store.url}/${key} names backup ${manifest.label}/${manifest.backupId}, not ${label}/${backupId}: the manifest does not belong to its folder`);
        }
        return manifest;
    }
    catch (error) {
        // A manifest that does not parse is a damaged backup, not bad input.
        if (error instanceof domain_errors/* InputError */.dz)
            throw new domain_errors/* OperationError */.OK(error.message, { cause: error });
        throw error;
    }
}
/**
 * The backup `selector` names under the label: `latest` (the newest committed one) or a backup id.
 * An unknown id, a folder without a manifest or an empty label is bad input (exit 2).
 */
async function resolveBackup(store, label, selector) {
    const folders = await listFolders(store, label);
    const committed = folders.filter((folder) => folder.committed);
    let folder;
    if (selector === "latest") {
        folder = committed[0];
        if (!folder)
            throw new domain_errors/* InputError */.dz(`--label "${label}": no backups under ${store.url}/${label}/`, { input: "label" });
    }
    else {
        if (!isBackupId(selector)) {
            throw new domain_errors/* InputError */.dz(`--backup "${selector}": expected latest or a backup id such as 20261122T010500Z-abc123`, {
                input: "backup",
            });
        }
        folder = folders.find((candidate) => candidate.backupId === selector);
        if (!folder) {
            throw new domain_errors/* InputError */.dz(`--backup "${selector}": no such backup under ${store.url}/${label}/`, {
                input: "backup",
            });
        }
        if (!folder.committed) {
            throw new domain_errors/* InputError */.dz(`--backup "${selector}": the folder has no manifest, so it is not a backup (in flight, or failed)`, { input: "backup" });
        }
    }
    return { folder, manifest: await readManifest(store, label, folder.backupId), committed };
}

;// CONCATENATED MODULE: ./src/commands/check-record.ts
/**
 * Check records: one JSON file per verification, beside the backup it checked, named so that a
 * listing alone tells what was checked when, and with which outcome:
 * `<label>/<backup-id>/checks/<timestamp>-<kind>-<pass|fail>.json`.
 */



async function writeCheckRecord(store, record, at) {
    const full = {
        schemaVersion: 1,
        ...record,
        at: at.toISOString(),
        tool: { name: "lifeboat", version: LIFEBOAT_VERSION },
    };
    const key = checkKey(record.label, record.backupId, at, record.kind, record.passed);
    await store.put(key, external_node_stream_.Readable.from([Buffer.from(JSON.stringify(full, null, 2) + "\n")]), {
        contentType: "application/json",
    });
    return key;
}

;// CONCATENATED MODULE: ./src/commands/read-backup.ts





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
/**
 * Streams a backup's object: `decrypt` undefined reads the stored bytes only; otherwise the chain
 * ends in the plaintext archive (decrypted with these identities, or as stored when the backup is
 * unencrypted and `decrypt` is an empty list).
 */
async function openBackup(store, manifest, decrypt) {
    const key = `${backupPrefix(manifest.label, manifest.backupId)}${manifest.object.name}`;
    const stored = new HashTap();
    const chain = [await store.get(key), stored];
    if (decrypt === undefined)
        return { stored, plain: undefined, chain };
    if (decrypt.length > 0)
        chain.push(createDecryptStream(decrypt));
    const plain = new HashTap();
    chain.push(plain);
    return { stored, plain, chain };
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

;// CONCATENATED MODULE: ./src/commands/verify.ts
/**
 * verify: the chosen backup against its manifest. Without a key: the stored object's size and
 * sha256, streamed. With one: also decrypted, the plaintext's sha256, and the archive's table of
 * contents read by pg_restore (every table the manifest counts must be in it). Then the gates
 * (max-age, max-size-change, min-size), and a check record beside the backup.
 */









async function runVerify(settings, deps) {
    const { store, log } = deps;
    await store.check();
    const { folder, manifest, committed } = await resolveBackup(store, settings.label, settings.backup);
    const name = `${settings.label}/${manifest.backupId}`;
    const unencrypted = manifest.encryption.format === "none";
    const deep = unencrypted || settings.keys.identityText !== undefined || settings.keys.passphrase !== undefined;
    // Keys and tools are checked before a byte is downloaded.
    const identities = deep ? identitiesFor(manifest, settings.keys, name) : undefined;
    const pgRestore = deep ? await findPgRestoreFor(manifest, settings, deps) : undefined;
    const kind = deep ? "verify-deep" : "verify";
    log.info(`Verifying ${store.url}/${name} (${deep ? "decrypt and read the archive" : "stored object only"})`);
    const failures = [];
    const listedSize = storedSize(folder);
    if (listedSize !== manifest.object.bytes) {
        failures.push(`the store holds ${listedSize ?? "no"} bytes of ${manifest.object.name}; the manifest says ${manifest.object.bytes}`);
    }
    const opened = await openBackup(store, manifest, identities);
    const listing = pgRestore ? listArchive(pgRestore) : undefined;
    const sink = listing?.sink ??
        new external_node_stream_.Writable({
            write: (_chunk, _encoding, callback) => callback(),
        });
    let tablesListed;
    let readWhole = true;
    try {
        await (0,promises_namespaceObject.pipeline)([...opened.chain, sink]);
    }
    catch (error) {
        readWhole = false;
        failures.push(`reading the backup failed: ${(0,domain_errors/* describeError */.Uc)(error)}`);
    }
    // Hashes exist only once the whole stream was read.
    const { stored, plain } = opened;
    if (readWhole && stored.bytes !== manifest.object.bytes) {
        failures.push(`read ${stored.bytes} bytes of ${manifest.object.name}; the manifest says ${manifest.object.bytes}`);
    }
    else if (readWhole && stored.sha256 !== manifest.object.sha256) {
        failures.push(`the sha256 of ${manifest.object.name} is ${stored.sha256}; the manifest says ${manifest.object.sha256}`);
    }
    else if (readWhole && plain) {
        const expected = manifest.dump.plaintext;
        if (plain.bytes !== expected.bytes || plain.sha256 !== expected.sha256) {
            failures.push(`the decrypted archive (${plain.bytes} bytes, sha256 ${plain.sha256}) differs from the manifest's (${expected.bytes} bytes, sha256 ${expected.sha256})`);
        }
    }
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
    if (manifest.roles) {
        const roles = manifest.roles;
        const listedRoles = folder.objects.find((object) => object.key.endsWith(`/${roles.name}`))?.size;
        if (listedRoles !== roles.bytes) {
            failures.push(`the store holds ${listedRoles ?? "no"} bytes of ${roles.name}; the manifest says ${roles.bytes}`);
        }
        else {
            failures.push(...(await readRolesObject(store, manifest, identities)).problems);
        }
    }
    const now = deps.now();
    const gates = evaluateGates({ manifest, committed, now, gates: settings.gates });
    failures.push(...gates.failures);
    for (const warning of gates.warnings)
        log.warn(warning);
    const verified = failures.length === 0;
    const checkKey = await writeCheckRecord(store, {
        kind,
        label: settings.label,
        backupId: manifest.backupId,
        passed: verified,
        failures,
        warnings: gates.warnings,
        details: {
            deep,
            storedBytes: stored.bytes,
            storedSha256: readWhole ? stored.sha256 : null,
            plaintextBytes: plain?.bytes ?? null,
            plaintextSha256: readWhole && plain ? plain.sha256 : null,
            tablesListed: tablesListed ?? null,
        },
    }, now).catch((error) => {
        throw error instanceof domain_errors/* LifeboatError */.H3
            ? error
            : new domain_errors/* OperationError */.OK(`writing the check record failed: ${(0,domain_errors/* describeError */.Uc)(error)}`);
    });
    return {
        verified,
        kind,
        backupId: manifest.backupId,
        backupAgeSeconds: Math.round((now.getTime() - Date.parse(manifest.startedAt)) / 1000),
        storedBytes: manifest.object.bytes,
        tablesListed,
        failures,
        warnings: gates.warnings,
        checkKey,
    };
}
/** The one-line error for a failed verification, or undefined when it passed. */
function verifyFailureMessage(result) {
    if (result.verified)
        return undefined;
    const more = result.failures.length > 1 ? ` (and ${result.failures.length - 1} more)` : "";
    return `backup ${result.backupId} failed verification: ${result.failures[0]}${more}`;
}

;// CONCATENATED MODULE: ./src/postgres/pg-restore.ts
/**
 * Runs pg_restore into a database, from a file (which allows --jobs) or from a stream. pg_restore
 * keeps going past errors here, so that the caller can tell tolerated errors (a missing role on a
 * scratch server) from real ones; every "error:" line it printed comes back.
 */





const LOG_KEEP = 64 * 1024;
async function runPgRestore(options) {
    const tool = toolSpawn(options.pgRestore, options.env);
    const env = { ...tool.env, PGAPPNAME: "lifeboat pg_restore" };
    delete env.PGPASSWORD;
    if (options.target.password !== undefined)
        env.PGPASSWORD = options.target.password;
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
            await (0,promises_namespaceObject.pipeline)([...options.input, child.stdin]);
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
async function createScratchDatabase(client, name, input) {
    try {
        await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
    }
    catch (error) {
        const code = error.code;
        if (code === "42501") {
            throw new domain_errors/* InputError */.dz(`--${input}: the role may not CREATE DATABASE on that server (${(0,domain_errors/* describeError */.Uc)(error)}); use a connection where it may, such as a service container's superuser`, { input, cause: error });
        }
        throw new domain_errors/* OperationError */.OK(`creating the scratch database ${name} failed: ${(0,domain_errors/* describeError */.Uc)(error)}`, {
            cause: error,
        });
    }
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

;// CONCATENATED MODULE: ./src/commands/restore-test.ts
/**
 * restore-test: the proof that a backup restores. Into a fresh scratch database on a server the
 * user names: decrypt (to a local file when it fits, for a parallel pg_restore; streamed otherwise),
 * restore, compare every table's row count with the manifest's exact counts, run the user's SQL
 * assertions and command (a migration tool) against the restored copy, measure, drop the scratch
 * database, and write a check record.
 */


















const OUTPUT_KEEP = 32 * 1024;
async function runRestoreTest(settings, deps) {
    const { store, log } = deps;
    await store.check();
    const { manifest } = await resolveBackup(store, settings.label, settings.backup);
    const name = `${settings.label}/${manifest.backupId}`;
    const identities = identitiesFor(manifest, settings.keys, name);
    const pgRestore = await findPgRestoreFor(manifest, settings, deps);
    await preflight(settings.scratchUrl, "scratch-database-url", { log });
    const admin = await connect(settings.scratchUrl, "scratch-database-url");
    const database = scratchName(manifest.backupId);
    const failures = [];
    let result;
    let roles = null;
    try {
        if (settings.assertions)
            await checkAssertionSyntax(admin, settings.assertions);
        await createScratchDatabase(admin, database, "scratch-database-url");
        if (manifest.roles) {
            // Roles are cluster-wide: only missing ones are created, and none is dropped afterwards.
            roles = await applyRolesObject(admin, store, manifest, identities);
            log.info(`Roles from ${manifest.roles.name}: created ${roles.created.join(", ") || "none"}; already there: ${roles.existing.join(", ") || "none"}`);
            for (const error of roles.errors.filter((text) => !settings.tolerate.some((p) => p.test(text)))) {
                failures.push(`applying ${manifest.roles.name}: ${error}`);
            }
        }
        log.info(`Restoring ${store.url}/${name} into scratch database ${database} on ${settings.scratchUrl.host}:${settings.scratchUrl.port}`);
        const target = withDatabase(settings.scratchUrl, database);
        result = await restoreAndCheck(settings, { ...deps, manifestTables: manifest.tables }, {
            store,
            manifest,
            identities,
            pgRestore,
            target,
            database,
            failures,
        });
    }
    catch (error) {
        if (error instanceof domain_errors/* InputError */.dz) {
            await dropScratchDatabase(admin, database).catch(() => undefined);
            await admin.end().catch(() => undefined);
            throw error;
        }
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
    };
    const checkKey = await writeCheckRecord(store, {
        kind: "restore-test",
        label: settings.label,
        backupId: manifest.backupId,
        passed,
        failures,
        warnings: full.toleratedErrors.map((error) => `tolerated pg_restore error: ${error}`),
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
        },
    }, deps.now());
    return { ...full, checkKey };
}
async function restoreAndCheck(settings, deps, context) {
    const { manifest, failures } = context;
    const started = performance.now();
    const opened = await openBackup(context.store, manifest, context.identities);
    const workDir = await (0,promises_.mkdtemp)((0,external_node_path_.join)((0,external_node_os_.tmpdir)(), "lifeboat-restore-"));
    const mode = settings.decryptToDisk === "auto" && (await fitsOnDisk(workDir, manifest.dump.plaintext.bytes))
        ? "file"
        : "stream";
    let outcome;
    try {
        if (mode === "file") {
            const file = (0,external_node_path_.join)(workDir, "dump.pgdump");
            await (0,promises_namespaceObject.pipeline)([...opened.chain, (0,external_node_fs_.createWriteStream)(file, { mode: 0o600 })]);
            checkPlaintext(opened, manifest);
            outcome = await runPgRestore({
                pgRestore: context.pgRestore,
                target: context.target,
                args: settings.pgRestoreArgs,
                input: file,
                jobs: settings.jobs,
                env: deps.env,
            });
        }
        else {
            outcome = await runPgRestore({
                pgRestore: context.pgRestore,
                target: context.target,
                args: settings.pgRestoreArgs,
                input: opened.chain,
                jobs: 1,
                env: deps.env,
            });
            checkPlaintext(opened, manifest);
        }
    }
    finally {
        await (0,promises_.rm)(workDir, { recursive: true, force: true });
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
        const assertions = settings.assertions ? await runAssertions(client, settings.assertions.statements) : [];
        for (const assertion of assertions.filter((a) => !a.passed)) {
            failures.push(`assertion failed: ${restore_test_oneLine(assertion.sql)}: ${assertion.detail}`);
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
function checkPlaintext(opened, manifest) {
    const plain = opened.plain;
    const expected = manifest.dump.plaintext;
    if (plain.bytes !== expected.bytes || plain.sha256 !== expected.sha256) {
        throw new domain_errors/* OperationError */.OK(`the decrypted archive (${plain.bytes} bytes, sha256 ${plain.sha256}) differs from the manifest's (${expected.bytes} bytes, sha256 ${expected.sha256})`);
    }
}
/** Room for the decrypted archive with 10% and 256 MiB to spare, so a parallel restore is safe. */
async function fitsOnDisk(dir, bytes) {
    try {
        const stats = await (0,promises_.statfs)(dir);
        return stats.bavail * stats.bsize > bytes * 1.1 + 256 * 1024 * 1024;
    }
    catch {
        return false;
    }
}
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
/**
 * What the user's command inherits: the job's environment without Lifeboat's own inputs and
 * secrets. The command is often a pull request's own code (a migration), and in the actions the
 * age identity, the GitHub token and the Slack webhook sit in INPUT_* variables; it gets the
 * scratch database's connection and nothing that opens production's backups.
 */
function commandEnv(env) {
    const kept = {};
    for (const [key, value] of Object.entries(env)) {
        if (key.startsWith("INPUT_") || key.startsWith("LIFEBOAT_") || /^PG[A-Z]+$/.test(key))
            continue;
        kept[key] = value;
    }
    return kept;
}
async function runCommand(command, target, env) {
    const child = (0,external_node_child_process_.spawn)("sh", ["-c", command], {
        env: {
            ...commandEnv(env),
            DATABASE_URL: connectionString(target),
            PGHOST: target.host,
            PGPORT: String(target.port),
            PGDATABASE: target.database,
            ...(target.user ? { PGUSER: target.user } : {}),
            ...(target.password !== undefined ? { PGPASSWORD: target.password } : {}),
        },
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
function restore_test_oneLine(text) {
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

;// CONCATENATED MODULE: ./src/commands/restore.ts
/**
 * restore (action restore-db): a chosen backup restored into a target database that already
 * exists, typically the one it was taken from. Refused unless `confirm` names the target database;
 * by default a safety backup of the target is taken first, into the same storage and encrypted to
 * the same keys, so that the restore itself can be undone. Everything that can be checked is
 * checked before anything is written: the backup, the key, the target, the confirmation.
 */













async function runRestore(settings, deps) {
    const { store, log } = deps;
    await store.check();
    const manifest = await chooseBackup(store, settings.label, settings.backup);
    const name = `${settings.label}/${manifest.backupId}`;
    const identities = identitiesFor(manifest, settings.keys, name);
    await probeDecryption(store, manifest, identities);
    const pgRestore = await findPgRestoreFor(manifest, settings, deps);
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
    if (manifest.roles) {
        // A restore goes into an existing database, whose cluster normally has the roles already.
        log.info(`${manifest.roles.name} (${manifest.roles.count} roles) is not applied by restore; apply it first by hand if the target's server lacks them (docs/supabase.md)`);
    }
    log.info(`Restoring ${store.url}/${name} (${formatBytes(manifest.object.bytes)}) into ${where}${args.length ? ` with ${args.join(" ")}` : ""}`);
    const failures = [];
    const started = performance.now();
    const progress = new ProgressTap();
    const every = deps.progressEveryMs ?? 5000;
    const timer = setInterval(() => log.info(progressLine(progress.bytes, manifest.object.bytes, started)), every);
    timer.unref();
    let outcome;
    let plainError;
    try {
        const opened = await openBackup(store, manifest, identities);
        const [first, ...rest] = opened.chain;
        outcome = await runPgRestore({
            pgRestore,
            target,
            args,
            input: [first, progress, ...rest],
            jobs: 1,
            env: deps.env,
        });
        const plain = opened.plain;
        const expected = manifest.dump.plaintext;
        if (plain.bytes !== expected.bytes || plain.sha256 !== expected.sha256) {
            plainError = `the decrypted archive (${plain.bytes} bytes, sha256 ${plain.sha256}) differs from the manifest's (${expected.bytes} bytes, sha256 ${expected.sha256})`;
        }
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
/** latest, a backup id, or before:<ISO time>: the newest committed backup started at or before it. */
async function chooseBackup(store, label, selector) {
    if (!selector.startsWith("before:"))
        return (await resolveBackup(store, label, selector)).manifest;
    const text = selector.slice("before:".length);
    const time = parseTime(text);
    const folders = await listFolders(store, label);
    const folder = folders.find((candidate) => candidate.committed && candidate.startedAt.getTime() <= time.getTime());
    if (!folder) {
        throw new domain_errors/* InputError */.dz(`--backup "${selector}": no backup under ${store.url}/${label}/ started at or before ${time.toISOString()}`, { input: "backup" });
    }
    return readManifest(store, label, folder.backupId);
}
function parseTime(text) {
    const asId = parseBackupIdTime(`${text}-aaaaaa`);
    const time = asId ?? (/^\d{4}-\d{2}-\d{2}/.test(text) ? new Date(text) : new Date(Number.NaN));
    if (Number.isNaN(time.getTime())) {
        throw new domain_errors/* InputError */.dz(`--backup "before:${text}": expected an ISO 8601 time such as before:2026-11-22T01:00:00Z`, { input: "backup" });
    }
    return time;
}
/**
 * Decrypts the start of the object, so that a wrong passphrase (which no public key reveals) is
 * bad input found before the safety backup and the restore, not halfway through.
 */
async function probeDecryption(store, manifest, identities) {
    if (identities.length === 0)
        return;
    const opened = await openBackup(store, manifest, identities);
    const enough = new Error("probe: first plaintext bytes arrived");
    const sink = new external_node_stream_.Writable({ write: (_chunk, _encoding, callback) => callback(enough) });
    try {
        await (0,promises_namespaceObject.pipeline)([...opened.chain, sink]);
    }
    catch (error) {
        if (error === enough)
            return;
        const text = (0,domain_errors/* describeError */.Uc)(error);
        if (manifest.encryption.format !== "none" &&
            manifest.encryption.passphrase &&
            /passphrase is incorrect|no identity matches/.test(text)) {
            throw new domain_errors/* InputError */.dz(`--passphrase-file: the passphrase does not decrypt backup ${manifest.label}/${manifest.backupId}`, { input: "passphrase-file" });
        }
        throw error instanceof domain_errors/* LifeboatError */.H3 ? error : new domain_errors/* OperationError */.OK(text, { cause: error });
    }
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
        const mismatches = await restore_compareRowCounts(client, manifest);
        for (const mismatch of mismatches.slice(0, 5)) {
            log.warn(`${mismatch.table}: ${mismatch.actual === null ? "missing" : `${mismatch.actual} rows`} after the restore, the manifest counted ${mismatch.expected}${clean ? "" : " (without clean, rows already in the target stay)"}`);
        }
        return { tablesChecked: manifest.tables.length, mismatches };
    }
    finally {
        await client.end().catch(() => undefined);
    }
}
async function restore_compareRowCounts(client, manifest) {
    const mismatches = [];
    for (const { schema, table, rows } of manifest.tables) {
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
class ProgressTap extends external_node_stream_.Transform {
    bytes = 0;
    _transform(chunk, _encoding, callback) {
        this.bytes += chunk.length;
        callback(null, chunk);
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

;// CONCATENATED MODULE: ./src/commands/prune.ts
/**
 * prune: list the label once, ask the store for object locks on what would go, decide with the
 * pure retention policy (src/domain/retention.ts), print, and delete.
 *
 * Deletion runs in two passes so that a partial failure never leaves a backup that looks whole but
 * is not: first the manifests of the backups to remove (each one then stops being a backup), then
 * the rest of the folders whose manifest is gone. Each pass sends at most 1000 keys per
 * deleteMany (one S3 DeleteObjects). Keys that could not be deleted are reported, never hidden.
 */



/** Keys per deleteMany call: S3's DeleteObjects limit. */
const DELETE_BATCH_KEYS = 1000;
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
function stateOf(folder, lock) {
    const newestObject = folder.objects.reduce((latest, object) => (!latest || object.lastModified > latest ? object.lastModified : latest), undefined);
    const state = {
        id: folder.backupId,
        time: folder.startedAt,
        bytes: folder.bytes,
        committed: folder.committed,
        verified: isVerified(folder.checks),
    };
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
async function planWithLocks(folders, settings, store, now) {
    const locks = new Map();
    const byId = new Map(folders.map((folder) => [folder.backupId, folder]));
    for (;;) {
        const states = folders.map((folder) => stateOf(folder, locks.get(folder.backupId)));
        const plan = planRetention(states, settings.policy, now);
        if (!store.objectLocks)
            return plan;
        const unasked = plan.decisions.filter((decision) => !decision.keep && !locks.has(decision.backup.id));
        if (unasked.length === 0)
            return plan;
        const keys = unasked.flatMap((decision) => byId.get(decision.backup.id).objects.map((object) => object.key));
        const found = await store.objectLocks(keys);
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
/** deleteMany in batches of DELETE_BATCH_KEYS; a batch that throws counts as failed for each key. */
async function deleteInBatches(store, keys, log, progress) {
    const result = { deleted: [], failed: [] };
    for (let start = 0; start < keys.length; start += DELETE_BATCH_KEYS) {
        const batch = keys.slice(start, start + DELETE_BATCH_KEYS);
        try {
            const outcome = await store.deleteMany(batch);
            result.deleted.push(...outcome.deleted);
            result.failed.push(...outcome.failed);
        }
        catch (error) {
            const reason = (0,domain_errors/* describeError */.Uc)(error);
            for (const key of batch)
                result.failed.push({ key, reason });
        }
        progress.done += batch.length;
        if (progress.total > DELETE_BATCH_KEYS)
            log.info(`deleted ${progress.done} of ${progress.total} objects`);
    }
    return result;
}
async function runPrune(settings, deps) {
    const { store, log } = deps;
    const { label } = settings;
    await store.check();
    const root = `${label}/`;
    const objects = [];
    for await (const object of store.list(root))
        objects.push(object);
    const folders = groupBackupFolders(label, objects);
    const now = deps.now();
    const plan = await planWithLocks(folders, settings, store, now);
    for (const warning of plan.warnings)
        log.warn(warning);
    const byId = new Map(folders.map((folder) => [folder.backupId, folder]));
    const decisions = plan.decisions.map((decision) => {
        const folder = byId.get(decision.backup.id);
        return {
            backupId: folder.backupId,
            startedAt: folder.startedAt.toISOString(),
            committed: folder.committed,
            verified: decision.backup.verified,
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
        storage: store.url,
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
        log.info(`deleting ${doomed.length} folder(s), ${sizes.size} object(s), under ${store.url}/${root}`);
    }
    const manifestOf = (decision) => `${root}${decision.backupId}/${MANIFEST_FILE}`;
    const first = await deleteInBatches(store, doomed.filter((decision) => decision.committed).map(manifestOf), log, progress);
    const uncommitted = new Set(first.deleted);
    // A backup whose manifest could not be deleted stays whole: nothing else of it is touched.
    const rest = doomed.filter((decision) => !decision.committed || uncommitted.has(manifestOf(decision)));
    const second = await deleteInBatches(store, rest.flatMap((decision) => keysOf(decision)
        .map((object) => object.key)
        .filter((key) => !uncommitted.has(key))), log, progress);
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

;// CONCATENATED MODULE: ./src/settings/spec.ts
const storageOptions = [
    {
        name: "storage",
        description: "Where backups live: s3://bucket/prefix (AWS S3 or any S3-compatible store), file:///absolute/path, or a directory path.",
        type: "string",
        required: true,
        cliDefault: "./backups",
        env: "LIFEBOAT_STORAGE",
        value: "URL",
    },
    {
        name: "label",
        description: "Separates databases and environments in one storage location: backups go under <storage>/<label>/.",
        type: "string",
        default: "default",
        env: "LIFEBOAT_LABEL",
        value: "NAME",
    },
    {
        name: "s3-endpoint",
        description: "Endpoint of an S3-compatible store (R2, B2, MinIO, Supabase Storage, GCS interop); empty for AWS S3.",
        type: "string",
        env: "AWS_ENDPOINT_URL_S3",
        value: "URL",
    },
    {
        name: "s3-region",
        description: "S3 region; empty for the SDK's default chain (AWS_REGION), or us-east-1.",
        type: "string",
        value: "REGION",
    },
    {
        name: "s3-force-path-style",
        description: "Address the bucket in the path (https://endpoint/bucket/key), as MinIO and some stores need.",
        type: "boolean",
        default: "false",
    },
    {
        name: "s3-checksums",
        description: "when-required (default: checksums only where the S3 API demands them, which S3-compatible stores accept) or when-supported (the AWS SDK's default).",
        type: "string",
        default: "when-required",
        value: "MODE",
    },
];
/** How the PostgreSQL client tools are chosen, and installed when missing (docs/pg-client.md). */
const pgClientOptions = (tool) => [
    {
        name: "pg-version",
        description: `Major version of ${tool} to use: auto (default: ${tool === "pg_dump" ? "the server's own major when present, else the nearest newer one" : "one that reads the archive, the same major as the pg_dump that made it when present"}) or a major such as 17.`,
        type: "string",
        default: "auto",
        value: "MAJOR",
    },
    {
        name: "install-pg-client",
        description: `auto: when no suitable ${tool} is on the machine and it runs Linux with apt, download postgresql-client-<major> from the PostgreSQL apt repository into a tool directory (cached with actions/cache in Actions) without touching the system; never: use only what is installed.`,
        type: "string",
        default: "auto",
        cliDefault: "never",
        value: "MODE",
    },
];
/** Where an action reports: the job summary always; a pull request comment and Slack on request. */
const reportOptions = [
    {
        name: "comment-on-pr",
        description: "auto (default): on pull_request events, keep one comment per label and action on the pull request, updated in place on every run; never: no comment.",
        type: "string",
        default: "auto",
        actionOnly: true,
        value: "MODE",
    },
    {
        name: "github-token",
        description: "Token for the pull request comment. The default GITHUB_TOKEN works when the job has pull-requests: write; without that right the comment is skipped with a warning.",
        type: "string",
        default: "${{ github.token }}",
        secret: true,
        actionOnly: true,
    },
    {
        name: "slack-webhook-url",
        description: "Slack incoming webhook URL (from a secret) to report to; empty for no Slack message. A Slack outage never fails the step.",
        type: "string",
        secret: true,
        actionOnly: true,
        value: "URL",
    },
    {
        name: "notify-on",
        description: "When to send the Slack message: failure (default), success, always or never.",
        type: "string",
        default: "failure",
        actionOnly: true,
        value: "WHEN",
    },
];
const backupOptions = [
    {
        name: "database-url",
        description: "PostgreSQL connection URL of the database to back up: postgresql://user:password@host:port/database.",
        type: "string",
        required: true,
        env: "DATABASE_URL",
        secret: true,
        value: "URL",
    },
    ...storageOptions,
    {
        name: "recipient",
        description: "age public key (age1...) that can decrypt the backup; several for key rotation (repeat the flag, or one per line in the action). Only public keys: the backup never needs a secret.",
        type: "list",
        env: "LIFEBOAT_RECIPIENTS",
        value: "AGE1...",
    },
    {
        name: "passphrase",
        description: "Encrypt with this passphrase (age scrypt) instead of public keys. In the CLI use --passphrase-file or LIFEBOAT_PASSPHRASE.",
        type: "string",
        secret: true,
        actionOnly: true,
        env: "LIFEBOAT_PASSPHRASE",
    },
    {
        name: "passphrase-file",
        description: "Read the passphrase (age scrypt) from this file instead of using public keys; its first line counts.",
        type: "string",
        cliOnly: true,
        value: "PATH",
    },
    {
        name: "encryption",
        description: "age (default), or none to store the dump unencrypted (an explicit opt-out).",
        type: "string",
        default: "age",
        value: "MODE",
    },
    {
        name: "no-encryption",
        description: "Same as --encryption none.",
        type: "boolean",
        cliOnly: true,
    },
    {
        name: "compression",
        description: "pg_dump's compression: auto (zstd with pg_dump 16+, else gzip:1), none, gzip[:1-9], lz4[:1-12], zstd[:1-22].",
        type: "string",
        default: "auto",
        value: "METHOD",
    },
    { name: "schema-only", description: "Dump the schema only, no data.", type: "boolean", default: "false" },
    { name: "data-only", description: "Dump the data only, no schema.", type: "boolean", default: "false" },
    {
        name: "include-schema",
        description: "Dump only schemas matching this pg_dump pattern (repeatable; one per line in the action).",
        type: "list",
        value: "PATTERN",
    },
    {
        name: "exclude-schema",
        description: "Leave out schemas matching this pg_dump pattern (repeatable).",
        type: "list",
        value: "PATTERN",
    },
    {
        name: "include-table",
        description: "Dump only tables matching this pg_dump pattern (repeatable).",
        type: "list",
        value: "PATTERN",
    },
    {
        name: "exclude-table",
        description: "Leave out tables matching this pg_dump pattern (repeatable).",
        type: "list",
        value: "PATTERN",
    },
    {
        name: "exclude-table-data",
        description: "Keep these tables' definitions but not their rows (repeatable).",
        type: "list",
        value: "PATTERN",
    },
    {
        name: "preset",
        description: "none (default), or supabase: the schemas a Supabase project's user owns in full, the data of auth and storage, none of the platform's own schemas, plus the roles (docs/supabase.md).",
        type: "string",
        default: "none",
        value: "NAME",
    },
    {
        name: "include-roles",
        description: "auto (default: true with preset supabase), true or false: also store the roles (pg_dumpall --roles-only --no-role-passwords) as a second encrypted object, roles.sql.age, that restore-test applies first.",
        type: "string",
        default: "auto",
        value: "BOOL",
    },
    {
        name: "pg-dump-args",
        description: "Extra pg_dump arguments, separated by spaces (e.g. --no-owner --no-privileges). Output, format, connection and scope flags are refused: they have options of their own.",
        type: "string",
        value: "ARGS",
    },
    {
        name: "pg-bin-dir",
        description: "Directory holding the pg_dump to use. By default one that can dump the server, from /usr/lib/postgresql/<major>/bin or PATH: the server's own major if present, else the nearest newer one.",
        type: "string",
        value: "DIR",
    },
    ...pgClientOptions("pg_dump"),
    {
        name: "s3-sse",
        description: "Server-side encryption for stored objects: AES256 or aws:kms (with s3-sse-kms-key-id).",
        type: "string",
        value: "MODE",
    },
    {
        name: "object-lock-mode",
        description: "S3 Object Lock retention for the dump and manifest: GOVERNANCE or COMPLIANCE (with object-lock-days; the bucket must have Object Lock enabled). A leaked credential then cannot delete backups either; prune leaves them alone until the lock expires.",
        type: "string",
        value: "MODE",
    },
    {
        name: "object-lock-days",
        description: "Days each backup stays locked (with object-lock-mode).",
        type: "string",
        value: "DAYS",
    },
    {
        name: "s3-sse-kms-key-id",
        description: "KMS key id for s3-sse aws:kms.",
        type: "string",
        value: "KEY",
    },
];
const keepCount = (period) => ({
    name: `keep-${period}`,
    description: period === "last"
        ? "Keep the N newest backups."
        : `Keep the newest backup in each of the last N ${{ hourly: "hours", daily: "days", weekly: "ISO weeks (Monday to Sunday)", monthly: "months", yearly: "years" }[period]} that have a backup (UTC).`,
    type: "string",
    value: "N",
});
const pruneOptions = [
    ...storageOptions,
    keepCount("last"),
    keepCount("hourly"),
    keepCount("daily"),
    keepCount("weekly"),
    keepCount("monthly"),
    keepCount("yearly"),
    {
        name: "keep-within",
        description: "Keep every backup taken less than this long before the newest backup: a duration such as 36h, 7d, 2w or 1d12h (units w, d, h, m, s).",
        type: "string",
        value: "DURATION",
    },
    {
        name: "min-verified",
        description: "Never leave fewer than this many backups with a passing restore-test or deep verify (when fewer exist, every one is kept and prune warns).",
        type: "string",
        default: "1",
        value: "N",
    },
    {
        name: "safe-age",
        description: "Folders without a manifest (failed or interrupted backups) are removed only once older than this (at least 1h), so a backup in flight is never touched.",
        type: "string",
        default: "24h",
        value: "DURATION",
    },
    {
        name: "dry-run",
        description: "Print every decision with its reason and delete nothing.",
        type: "boolean",
        default: "false",
    },
];
const decryptionOptions = [
    {
        name: "identity-file",
        description: "File holding the age identity (AGE-SECRET-KEY-1...) that decrypts the backup. Only jobs that decrypt need it.",
        type: "string",
        cliOnly: true,
        value: "PATH",
    },
    {
        name: "identity",
        description: "The age identity (AGE-SECRET-KEY-1...) that decrypts the backup, e.g. from a secret. In the CLI use --identity-file or LIFEBOAT_IDENTITY.",
        type: "string",
        secret: true,
        actionOnly: true,
        env: "LIFEBOAT_IDENTITY",
    },
    {
        name: "passphrase-file",
        description: "For a backup made with a passphrase: a file whose first line is the passphrase.",
        type: "string",
        cliOnly: true,
        value: "PATH",
    },
    {
        name: "passphrase",
        description: "For a backup made with a passphrase: the passphrase. In the CLI use --passphrase-file or LIFEBOAT_PASSPHRASE.",
        type: "string",
        secret: true,
        actionOnly: true,
        env: "LIFEBOAT_PASSPHRASE",
    },
    {
        name: "pg-bin-dir",
        description: "Directory holding the pg_restore to use. By default one that reads the archive's version, from /usr/lib/postgresql/<major>/bin or PATH.",
        type: "string",
        value: "DIR",
    },
    ...pgClientOptions("pg_restore"),
];
const backupSelector = {
    name: "backup",
    description: "Which backup: latest (the newest committed one under the label) or a backup id.",
    type: "string",
    default: "latest",
    value: "ID",
};
const verifyOptions = [
    ...storageOptions,
    backupSelector,
    ...decryptionOptions,
    {
        name: "max-age",
        description: "Fail when the newest backup under the label is older than this (e.g. 26h): a dead-man's switch for scheduled backups.",
        type: "string",
        value: "DURATION",
    },
    {
        name: "max-size-change",
        description: "Fail (or warn, see size-change-action) when the stored size moved more than this against the previous backup, e.g. 50%.",
        type: "string",
        value: "PERCENT",
    },
    {
        name: "size-change-action",
        description: "fail (default) or warn when max-size-change is exceeded.",
        type: "string",
        default: "fail",
        value: "ACTION",
    },
    {
        name: "min-size",
        description: "Fail when the stored object is smaller than this, e.g. 1MB.",
        type: "string",
        value: "SIZE",
    },
];
const restoreTestOptions = [
    ...storageOptions,
    backupSelector,
    ...decryptionOptions,
    {
        name: "scratch-database-url",
        description: "PostgreSQL server to restore into, as a URL whose role may CREATE DATABASE (a service container's superuser, say). A fresh database with a unique name is created there and dropped afterwards.",
        type: "string",
        required: true,
        secret: true,
        env: "LIFEBOAT_SCRATCH_DATABASE_URL",
        value: "URL",
    },
    {
        name: "assertions",
        description: "SQL file of checks run against the restored copy: every statement must return one row whose first column is true.",
        type: "string",
        value: "PATH",
    },
    {
        name: "run",
        description: "Shell command run against the restored copy, with DATABASE_URL (and PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD) pointing at it: where a deploy's migrations are rehearsed on real data.",
        type: "string",
        value: "COMMAND",
    },
    {
        name: "tolerate",
        description: "Regular expression for pg_restore errors that do not fail the test (repeatable; one per line in the action), e.g. role .* does not exist.",
        type: "list",
        value: "REGEX",
    },
    {
        name: "keep-on-failure",
        description: "Keep the scratch database when the test fails, for inspection.",
        type: "boolean",
        default: "false",
    },
    {
        name: "decrypt-to-disk",
        description: "auto (default): decrypt to a private temporary file when it fits on local disk, for a parallel pg_restore; never: stream into pg_restore, so no plaintext ever touches the disk.",
        type: "string",
        default: "auto",
        value: "MODE",
    },
    {
        name: "jobs",
        description: "pg_restore's parallel jobs when the decrypted archive fits on local disk (default: CPUs, at most 4).",
        type: "string",
        value: "N",
    },
    {
        name: "pg-restore-args",
        description: "Extra pg_restore arguments, separated by spaces (e.g. --no-owner --no-privileges). Connection, output, list and job flags are refused.",
        type: "string",
        value: "ARGS",
    },
];
const restoreOptions = [
    ...storageOptions,
    {
        name: "backup",
        description: "Which backup to restore: latest (the newest committed one under the label), a backup id, or before:<ISO time> (the newest one started at or before it, e.g. before:2026-11-22T01:00:00Z).",
        type: "string",
        default: "latest",
        value: "ID",
    },
    ...decryptionOptions,
    {
        name: "target-database-url",
        description: "PostgreSQL connection URL of the database to restore into (it must exist): postgresql://user:password@host:port/database.",
        type: "string",
        required: true,
        secret: true,
        env: "LIFEBOAT_TARGET_DATABASE_URL",
        value: "URL",
    },
    {
        name: "confirm",
        description: "The target database's name, typed out: the restore is refused unless it equals the database name in target-database-url (and current_database() once connected).",
        type: "string",
        required: true,
        value: "DATABASE",
    },
    {
        name: "safety-backup",
        description: "true (default): first back up the target database into the same storage, encrypted to the same keys as the backup being restored, so that the restore can be undone; false to skip it.",
        type: "string",
        default: "true",
        value: "BOOL",
    },
    {
        name: "safety-label",
        description: "Label of the safety backup (default: <label>-safety).",
        type: "string",
        value: "NAME",
    },
    {
        name: "schema",
        description: "Restore only this schema (pg_restore --schema; repeatable, one per line in the action). Default: the whole database.",
        type: "list",
        value: "NAME",
    },
    {
        name: "table",
        description: "Restore only this table (pg_restore --table; repeatable, one per line in the action). Default: the whole database.",
        type: "list",
        value: "NAME",
    },
    {
        name: "clean",
        description: "Drop each object before recreating it (pg_restore --clean --if-exists); without it, the restore fails on objects that already exist.",
        type: "boolean",
        default: "false",
    },
    {
        name: "no-owner",
        description: "Do not set object ownership to the original owners (pg_restore --no-owner).",
        type: "boolean",
        default: "false",
    },
    {
        name: "no-privileges",
        description: "Do not restore access privileges (GRANT/REVOKE) (pg_restore --no-privileges).",
        type: "boolean",
        default: "false",
    },
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
        options: [
            ...restoreTestOptions,
            ...reportOptions,
            {
                name: "report-artifact",
                description: "auto (default): upload the restore-test report (pg_restore log, assertion and command output) as a workflow artifact when the artifact service is available, with a notice when it is not; never: do not upload.",
                type: "string",
                default: "auto",
                actionOnly: true,
                value: "MODE",
            },
        ],
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
            backupOptions.find((option) => option.name === "database-url"),
            {
                ...backupOptions.find((option) => option.name === "preset"),
                description: "none (default), or supabase: check privileges only in the schemas the supabase preset dumps.",
            },
            backupOptions.find((option) => option.name === "pg-bin-dir"),
            ...pgClientOptions("pg_dump"),
        ],
        outputs: [],
    },
    {
        command: "keygen",
        summary: "Make an age key pair: the identity (secret) to a file, the recipient (public) to stdout.",
        options: [
            {
                name: "output",
                description: "File to write the identity to (created with mode 0600; refused if it exists).",
                type: "string",
                required: true,
                value: "PATH",
            },
        ],
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

// EXTERNAL MODULE: external "node:url"
var external_node_url_ = __nccwpck_require__(3136);
// EXTERNAL MODULE: ./src/storage/keys.ts
var storage_keys = __nccwpck_require__(397);
;// CONCATENATED MODULE: ./src/storage/local-store.ts
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
        if (!(0,external_node_path_.isAbsolute)(root))
            throw new Error(`a local store needs an absolute path, got "${root}"`);
        this.root = (0,external_node_path_.resolve)(root);
        this.url = (0,external_node_url_.pathToFileURL)(this.root).href;
    }
    /**
     * Checks that the root is a writable directory, or could be made as one: a missing root is
     * fine when its nearest existing ancestor is a writable directory. Creates nothing (a listing of
     * a mistyped path must not leave a directory behind); the first put creates what it needs.
     */
    async check() {
        try {
            let dir = this.root;
            for (;;) {
                const info = await (0,promises_.stat)(dir).catch((error) => {
                    if (errorCode(error) === "ENOENT")
                        return undefined;
                    throw error;
                });
                if (info) {
                    if (!info.isDirectory())
                        throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
                    await (0,promises_.access)(dir, external_node_fs_.constants.W_OK | external_node_fs_.constants.X_OK);
                    return;
                }
                const parent = (0,external_node_path_.dirname)(dir);
                if (parent === dir)
                    return;
                dir = parent;
            }
        }
        catch (error) {
            const code = errorCode(error);
            const why = code === "EEXIST" || code === "ENOTDIR"
                ? "a file is in the way, not a directory"
                : code === "EACCES" || code === "EPERM" || code === "EROFS"
                    ? "permission denied"
                    : (0,domain_errors/* describeError */.Uc)(error);
            throw new domain_errors/* InputError */.dz(`--storage "${this.url}": cannot use the directory ${this.root}: ${why}`, {
                input: "storage",
                cause: error,
            });
        }
    }
    async put(key, body, options = {}) {
        (0,storage_keys/* assertValidKey */.Mw)(key);
        if (options.retention) {
            body.destroy();
            throw new domain_errors/* InputError */.dz(`--storage "${this.url}": a local directory cannot hold an object lock; use s3://`, {
                input: "storage",
            });
        }
        const { signal } = options;
        const target = this.pathOf(key);
        const temp = (0,external_node_path_.join)((0,external_node_path_.dirname)(target), `${storage_keys/* TEMP_FILE_PREFIX */.D0}${(0,external_node_crypto_.randomBytes)(8).toString("hex")}`);
        let handle;
        let bytes = 0;
        try {
            signal?.throwIfAborted();
            handle = await createFile(temp);
            await (0,promises_namespaceObject.pipeline)(body, async function* count(source) {
                for await (const chunk of source) {
                    bytes += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
                    yield chunk;
                }
            }, handle.createWriteStream(), { signal });
            handle = undefined; // closed by its stream
            await syncFile(temp);
            signal?.throwIfAborted();
            await (0,promises_.rename)(temp, target);
            await syncDirectory((0,external_node_path_.dirname)(target));
            return { bytes };
        }
        catch (error) {
            body.destroy();
            await handle?.close().catch(() => undefined);
            await (0,promises_.rm)(temp, { force: true }).catch(() => undefined);
            await this.prune(new Set([(0,external_node_path_.dirname)(key)]));
            const message = signal?.aborted
                ? `storing "${key}" in ${this.url} was aborted: ${(0,domain_errors/* describeError */.Uc)(signal.reason)}`
                : `storing "${key}" in ${this.url} failed: ${(0,domain_errors/* describeError */.Uc)(error)}`;
            throw new domain_errors/* OperationError */.OK(message, { cause: signal?.aborted ? signal.reason : error });
        }
    }
    async get(key) {
        (0,storage_keys/* assertValidKey */.Mw)(key);
        let handle;
        try {
            handle = await (0,promises_.open)(this.pathOf(key), "r");
            if ((await handle.stat()).isFile())
                return handle.createReadStream();
        }
        catch (error) {
            await handle?.close().catch(() => undefined);
            if (!MISSING.has(errorCode(error) ?? "") && errorCode(error) !== "EISDIR") {
                throw new domain_errors/* OperationError */.OK(`reading "${key}" from ${this.url} failed: ${(0,domain_errors/* describeError */.Uc)(error)}`, {
                    cause: error,
                });
            }
        }
        await handle?.close().catch(() => undefined);
        throw new domain_errors/* NotFoundError */.m_(`"${key}" does not exist in ${this.url}`);
    }
    async head(key) {
        (0,storage_keys/* assertValidKey */.Mw)(key);
        return this.info(key);
    }
    async *list(prefix) {
        (0,storage_keys/* assertValidPrefix */.x3)(prefix);
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
            (0,storage_keys/* assertValidKey */.Mw)(key);
        const emptied = new Set();
        const outcomes = await mapConcurrently(keys, IO_CONCURRENCY, async (key) => {
            try {
                await (0,promises_.unlink)(this.pathOf(key));
                emptied.add((0,external_node_path_.dirname)(key));
                return undefined;
            }
            catch (error) {
                const code = errorCode(error) ?? "";
                // A key naming a directory is not an object: like a missing key, there is nothing to delete.
                if (MISSING.has(code) || code === "EISDIR")
                    return undefined;
                return (0,domain_errors/* describeError */.Uc)(error);
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
        return (0,external_node_path_.join)(this.root, ...key.split("/"));
    }
    async info(key) {
        try {
            const info = await (0,promises_.stat)(this.pathOf(key));
            return info.isFile() ? { key, size: info.size, lastModified: info.mtime } : undefined;
        }
        catch (error) {
            if (MISSING.has(errorCode(error) ?? ""))
                return undefined;
            throw new domain_errors/* OperationError */.OK(`reading "${key}" in ${this.url} failed: ${(0,domain_errors/* describeError */.Uc)(error)}`, {
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
            entries = await (0,promises_.readdir)((0,external_node_path_.join)(this.root, dirKey), { withFileTypes: true });
        }
        catch (error) {
            if (MISSING.has(errorCode(error) ?? ""))
                return [];
            throw new domain_errors/* OperationError */.OK(`listing ${this.url} failed: ${(0,domain_errors/* describeError */.Uc)(error)}`, { cause: error });
        }
        return entries
            .filter((entry) => entry.name.startsWith(namePrefix) && !entry.name.startsWith(storage_keys/* TEMP_FILE_PREFIX */.D0))
            .filter((entry) => entry.isFile() || entry.isDirectory())
            .map((entry) => ({
            key: dirKey + entry.name,
            directory: entry.isDirectory(),
            sortKey: entry.isDirectory() ? `${entry.name}/` : entry.name,
        }))
            .sort((a, b) => (0,storage_keys/* compareKeys */.YD)(a.sortKey, b.sortKey));
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
            (0,promises_.rmdir)(this.pathOf(dirKey)).then(() => true, () => false));
            level.forEach((dirKey, index) => {
                pending.delete(dirKey);
                const parent = (0,external_node_path_.dirname)(dirKey);
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
/** Creates `path` exclusively, creating its directory first; retries when a prune races us. */
async function createFile(path) {
    for (let attempt = 1;; attempt++) {
        await (0,promises_.mkdir)((0,external_node_path_.dirname)(path), { recursive: true });
        try {
            return await (0,promises_.open)(path, "wx");
        }
        catch (error) {
            if (errorCode(error) !== "ENOENT" || attempt >= 3)
                throw error;
        }
    }
}
/** Flushes a written file to disk (fsync applies to the file, whichever descriptor asks). */
async function syncFile(path) {
    const handle = await (0,promises_.open)(path, "r");
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
        handle = await (0,promises_.open)(path, "r");
        await handle.sync();
    }
    catch {
        // The data itself is synced; only the rename's durability depends on this.
    }
    finally {
        await handle?.close().catch(() => undefined);
    }
}

// EXTERNAL MODULE: ./src/storage/storage-url.ts
var storage_url = __nccwpck_require__(7468);
;// CONCATENATED MODULE: ./src/storage/open-store.ts
/**
 * Opens the store a storage URL names. The S3 implementation (and the AWS SDK with it) is loaded
 * only when the URL asks for it, which keeps the start of local-only runs fast.
 */


/** Parses `urlText` (InputError when malformed) and creates the matching store. */
async function openStore(urlText, options = {}) {
    const url = (0,storage_url/* parseStorageUrl */.Yu)(urlText, {
        cwd: options.cwd ?? process.cwd(),
        input: options.input ?? "storage",
    });
    if (url.kind === "local")
        return new LocalStore(url.path);
    const { createS3Store } = await Promise.all(/* import() */[__nccwpck_require__.e(358), __nccwpck_require__.e(947)]).then(__nccwpck_require__.bind(__nccwpck_require__, 8947));
    return createS3Store({ bucket: url.bucket, prefix: url.prefix }, options.s3);
}

;// CONCATENATED MODULE: ./src/cli/args.ts
/**
 * The CLI's flags, derived from the option table: `--name value` for strings (also --name=value),
 * repeatable for lists, bare for booleans; the environment fills what the flags leave out.
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
    for (const option of spec.options) {
        if (option.env && raw[option.name] === undefined && env[option.env])
            raw[option.name] = env[option.env];
        if (raw[option.name] === undefined && option.cliDefault !== undefined)
            raw[option.name] = option.cliDefault;
    }
    // Secrets that only the action takes as inputs reach the CLI through their environment variable.
    for (const option of spec.options.filter((o) => o.actionOnly && o.env)) {
        if (env[option.env])
            raw[option.name] = env[option.env];
    }
    return raw;
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
        const description = option.description + (notes.length ? ` [${notes.join("; ")}]` : "");
        lines.push(`  ${head.padEnd(34)} ${description}`);
    }
    const hidden = spec.options.filter((option) => option.actionOnly && option.env);
    if (hidden.length) {
        lines.push("", "Environment:");
        for (const option of hidden)
            lines.push(`  ${option.env.padEnd(34)} ${option.description}`);
    }
    lines.push("", "Exit codes: 0 success, 1 the operation ran and failed, 2 bad input or configuration.");
    return lines.join("\n");
}

;// CONCATENATED MODULE: ./src/cli/main.ts
/**
 * `lifeboat <command> [options]`: the same commands and options as the actions. One JSON object on
 * stdout with --json; progress on stderr; errors are one line (a stack trace only with --debug).
 */

















function mainHelp() {
    const width = Math.max(...COMMANDS.map((spec) => spec.command.length));
    return [
        "Usage: lifeboat <command> [options]",
        "",
        "Encrypted, verified PostgreSQL backups in S3 or a local directory.",
        "",
        "Commands:",
        ...COMMANDS.map((spec) => `  ${spec.command.padEnd(width)}  ${spec.summary}`),
        "",
        "Run lifeboat <command> --help for its options.",
    ].join("\n");
}
async function main(io) {
    const [command, ...rest] = io.argv;
    const wantsJson = rest.includes("--json");
    const debug = rest.includes("--debug");
    const log = {
        info: (message) => io.stderr(message),
        warn: (message) => io.stderr(`warning: ${message}`),
    };
    try {
        if (command === undefined || command === "--help" || command === "-h" || command === "help") {
            io.stdout(mainHelp());
            return command === undefined ? 2 : 0;
        }
        if (command === "--version" || command === "-V") {
            io.stdout(LIFEBOAT_VERSION);
            return 0;
        }
        const known = COMMANDS.find((spec) => spec.command === command);
        if (!known) {
            const names = COMMANDS.map((spec) => spec.command);
            const close = closest(command, names);
            throw new domain_errors/* InputError */.dz(`unknown command "${command}"${close ? ` (did you mean ${close}?)` : ""}; expected one of ${names.join(", ")}`);
        }
        const spec = commandSpec(command);
        if (rest.includes("--help") || rest.includes("-h")) {
            io.stdout(commandHelp(spec));
            return 0;
        }
        const raw = parseCommandArgs(spec, rest, io.env);
        const result = await main_runCommand(command, raw, io, log);
        if (wantsJson)
            io.stdout(JSON.stringify(result.json));
        else if (result.text)
            io.stdout(result.text);
        // A command that ran and failed (a verification that did not pass, keys prune could not
        // delete) printed its whole result above; then the one-line error.
        if (result.failure) {
            io.stderr(`lifeboat: error: ${result.failure.message}`);
            return result.failure.exitCode;
        }
        return 0;
    }
    catch (error) {
        const exitCode = error instanceof domain_errors/* LifeboatError */.H3 ? error.exitCode : 1;
        const message = (0,domain_errors/* describeError */.Uc)(error);
        if (wantsJson)
            io.stdout(JSON.stringify({ ok: false, exitCode, error: message }));
        io.stderr(`lifeboat: error: ${message}`);
        if (debug && error instanceof Error && error.stack)
            io.stderr(error.stack);
        return exitCode;
    }
}
async function main_runCommand(command, raw, io, log) {
    const now = () => new Date();
    switch (command) {
        case "backup": {
            const settings = parseBackupSettings(raw);
            const store = await openStore(settings.storage, { cwd: io.cwd, s3: settings.s3 });
            const result = await runBackup(settings, { store, env: io.env, now, log, signal: io.signal });
            return {
                json: {
                    ok: true,
                    backupId: result.backupId,
                    label: result.label,
                    storage: store.url,
                    backupKey: result.backupKey,
                    manifestKey: result.manifestKey,
                    storedBytes: result.storedBytes,
                    sha256: result.sha256,
                    durationSeconds: result.durationSeconds,
                    tables: result.manifest.tables.length,
                    totalRows: result.manifest.totalRows,
                },
                text: result.backupId,
            };
        }
        case "list": {
            const settings = parseStorageSettings(raw);
            const store = await openStore(settings.storage, { cwd: io.cwd, s3: settings.s3 });
            const backups = await listBackups(settings, { store, now });
            const text = backups.length
                ? formatTable(["BACKUP ID", "STARTED (UTC)", "SIZE", "AGE", "LAST CHECK"], backups.map((backup) => [
                    backup.backupId,
                    backup.startedAt.replace("T", " ").replace(/\.\d{3}Z$/, ""),
                    formatBytes(backup.storedBytes),
                    formatAge(backup.ageSeconds),
                    backup.lastCheck
                        ? `${backup.lastCheck.kind} ${backup.lastCheck.passed ? "pass" : "FAIL"}`
                        : "-",
                ]))
                : `no backups under ${store.url}/${settings.label}/`;
            return { json: { ok: true, storage: store.url, label: settings.label, backups }, text };
        }
        case "prune": {
            const settings = parsePruneSettings(raw);
            const store = await openStore(settings.storage, { cwd: io.cwd, s3: settings.s3 });
            const result = await runPrune(settings, { store, now, log });
            const failure = pruneFailureMessage(result);
            return {
                json: failure ? { ok: false, exitCode: 1, error: failure, ...result } : { ok: true, ...result },
                text: `${formatPruneDecisions(result)}\n${formatPruneTotals(result)}`,
                ...(failure ? { failure: new domain_errors/* OperationError */.OK(failure) } : {}),
            };
        }
        case "verify": {
            const settings = parseVerifySettings(raw);
            const store = await openStore(settings.storage, { cwd: io.cwd, s3: settings.s3 });
            const result = await runVerify(settings, { store, env: io.env, now, log });
            const failure = verifyFailureMessage(result);
            return {
                json: failure ? { ok: false, exitCode: 1, error: failure, ...result } : { ok: true, ...result },
                text: result.verified
                    ? `${result.backupId}: verified (${result.kind === "verify-deep" ? "decrypted, archive readable" : "stored object"})`
                    : result.failures.map((line) => `${result.backupId}: ${line}`).join("\n"),
                ...(failure ? { failure: new domain_errors/* OperationError */.OK(failure) } : {}),
            };
        }
        case "restore-test": {
            const settings = parseRestoreTestSettings(raw);
            const store = await openStore(settings.storage, { cwd: io.cwd, s3: settings.s3 });
            const result = await runRestoreTest(settings, { store, env: io.env, now, log });
            const failure = restoreTestFailureMessage(result);
            const summary = `${result.backupId}: restored in ${result.restoreSeconds}s (${result.mode}), ${result.tablesChecked} tables checked, ${result.mismatches.length} mismatches, ${result.assertions.filter((a) => a.passed).length}/${result.assertions.length} assertions passed${result.run ? `, run exited ${result.run.exitCode}` : ""}`;
            const { pgRestoreLog: _log, ...json } = result;
            return {
                json: failure ? { ok: false, exitCode: 1, error: failure, ...json } : { ok: true, ...json },
                text: [summary, ...result.failures.map((line) => `${result.backupId}: ${line}`)].join("\n"),
                ...(failure ? { failure: new domain_errors/* OperationError */.OK(failure) } : {}),
            };
        }
        case "restore": {
            const settings = parseRestoreSettings(raw);
            const store = await openStore(settings.storage, { cwd: io.cwd, s3: settings.s3 });
            const every = Number(io.env.LIFEBOAT_PROGRESS_SECONDS);
            const result = await runRestore(settings, {
                store,
                env: io.env,
                now,
                log,
                signal: io.signal,
                ...(every > 0 ? { progressEveryMs: every * 1000 } : {}),
            });
            const failure = restoreFailureMessage(result);
            const safety = result.safetyBackup
                ? `; safety backup ${result.safetyBackup.label}/${result.safetyBackup.backupId}`
                : "; no safety backup";
            const summary = `${result.backupId}: ${result.passed ? "restored" : "restore FAILED"} into ${result.targetDatabase} in ${result.restoreSeconds}s${safety}`;
            const { pgRestoreLog: _log, ...json } = result;
            return {
                json: failure ? { ok: false, exitCode: 1, error: failure, ...json } : { ok: true, ...json },
                text: [summary, ...result.failures.map((line) => `${result.backupId}: ${line}`)].join("\n"),
                ...(failure ? { failure: new domain_errors/* OperationError */.OK(failure) } : {}),
            };
        }
        case "doctor":
            return runDoctorCommand(parseDoctorSettings(raw), { env: io.env, log });
        case "keygen": {
            const output = required(raw, "output", "a path for the new identity file");
            if ((0,external_node_fs_.existsSync)(output)) {
                throw new domain_errors/* InputError */.dz(`--output "${output}": the file exists; refusing to overwrite a key`, {
                    input: "output",
                });
            }
            const { identity, recipient } = generateIdentity();
            const created = new Date().toISOString();
            (0,external_node_fs_.writeFileSync)(output, `# created: ${created}\n# public key: ${recipient}\n${identity}\n`, {
                mode: 0o600,
                flag: "wx",
            });
            log.info(`Identity written to ${output} (keep it secret); the public key (recipient) is:`);
            return { json: { ok: true, identityFile: output, recipient }, text: recipient };
        }
        default:
            throw new Error(`unhandled command ${command}`);
    }
}

;// CONCATENATED MODULE: ./src/cli/index.ts

// The first Ctrl-C (or the runner's SIGTERM) stops pg_dump and aborts the upload cleanly; a second
// one exits at once.
const controller = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
        if (controller.signal.aborted)
            process.exit(130);
        controller.abort(new Error(`received ${signal}`));
    });
}
main({
    argv: process.argv.slice(2),
    env: process.env,
    cwd: process.cwd(),
    stdout: (text) => process.stdout.write(text + "\n"),
    stderr: (text) => process.stderr.write(text + "\n"),
    signal: controller.signal,
}).then((code) => {
    process.exitCode = code;
}, (error) => {
    process.stderr.write(`lifeboat: error: ${String(error)}\n`);
    process.exitCode = 1;
});

