#!/usr/bin/env node
// Interop test peer for github.com/yamuxgo/yamux.
//
// One process = one Yamux session over one 127.0.0.1 TCP connection, driven by
// the Go test (interop/peer_js_test.go) through a line-based JSON control
// protocol:
//
//   stdin  (Go -> peer): {"id":N,"cmd":"ping"|"goaway"|"close"|"abort"|"status"|"open"|"exit", ...}
//   stdout (peer -> Go): {"id":N,"ok":true,"result":{...}} or
//                        {"id":N,"ok":false,"error":"...","errKind":"..."}  replies
//                        {"event":"ready","port":P}    listen mode: listening
//                        {"event":"connected"}         TCP connection established
//                        {"event":"stream","tag":T,...} result of a stream opened by Go
//                        {"event":"session-closed"}    the TCP connection is gone
//                        {"event":"log"|"uncaught",...} diagnostics
//
// Streams opened by the Go side start with one ASCII header line
// "<behaviour> <tag> <arg>\n"; the peer runs that behaviour on the rest of the
// stream and reports {"event":"stream","tag":...} when done. See serveStream.
//
// Usage: node peer.mjs --impl chainsafe|yamuxjs --mode listen|dial [--port N]
//                      [--keepalive MS] (0 = implementation default)
//
// Only 127.0.0.1 is ever used. The process exits when stdin closes.

// Node 20 lacks Promise.withResolvers, which the libp2p v3 packages call.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new Promise((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

const net = await import('node:net')
const { createHash, randomBytes } = await import('node:crypto')
const readline = await import('node:readline')
const util = await import('node:util')

const HOST = '127.0.0.1'
const CHUNK = 4 * 1024 * 1024 // source behaviour: 4 MiB writes
const OP_TIMEOUT_MS = 120_000 // upper bound for any single await inside the peer

// ---------------------------------------------------------------- utilities

function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function log (...args) {
  emit({ event: 'log', msg: util.format(...args) })
}

function parseArgs (argv) {
  const out = { impl: 'chainsafe', mode: 'listen', port: 0, keepalive: 0 }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    const v = argv[i + 1]
    switch (k) {
      case '--impl': out.impl = v; i++; break
      case '--mode': out.mode = v; i++; break
      case '--port': out.port = Number(v); i++; break
      case '--keepalive': out.keepalive = Number(v); i++; break
      default: throw new Error(`unknown argument ${k}`)
    }
  }
  return out
}

function withTimeout (promise, ms, what) {
  let timer
  const t = new Promise((_resolve, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`timeout: ${what}`), { name: 'TimeoutError' })), ms)
  })
  return Promise.race([promise, t]).finally(() => clearTimeout(timer))
}

// classify maps an implementation error to a small vocabulary shared with Go:
// reset | closed | session-closed | timeout | unsupported | other
function classify (err) {
  if (err == null) return 'none'
  const name = err.name ?? ''
  const msg = String(err.message ?? err)
  if (name === 'UnsupportedError') return 'unsupported'
  if (name === 'StreamResetError' || /reset/i.test(msg)) return 'reset'
  if (name === 'TimeoutError' || name === 'AbortError') return 'timeout'
  if (name === 'MuxerClosedError' || /muxer closed|session shutdown|go ?away/i.test(msg)) return 'session-closed'
  if (name === 'StreamStateError' || name === 'StreamClosedError' || /closed/i.test(msg)) return 'closed'
  return 'other'
}

function errInfo (err) {
  return { error: `${err?.name ?? 'Error'}: ${err?.message ?? err}`, errKind: classify(err) }
}

class UnsupportedError extends Error {
  constructor (msg) { super(msg); this.name = 'UnsupportedError' }
}

function toBuf (chunk) {
  if (chunk instanceof Uint8Array) return chunk
  if (typeof chunk?.subarray === 'function') return chunk.subarray() // Uint8ArrayList
  return Buffer.from(chunk)
}

// A pull-style reader over push-style event sources, shared by both adapters.
class Inbox {
  constructor () {
    this.queue = []
    this.ended = false
    this.err = null
    this.waiter = null
  }

  push (buf) { if (buf.length > 0) { this.queue.push(buf); this.wake() } }
  end () { this.ended = true; this.wake() }
  fail (err) { if (this.err == null) this.err = err; this.ended = true; this.wake() }
  unshift (buf) { if (buf.length > 0) this.queue.unshift(buf) }
  wake () { const w = this.waiter; this.waiter = null; if (w != null) w() }

  // read resolves to a Uint8Array, or null at EOF; rejects after a reset/error.
  async read () {
    for (;;) {
      if (this.queue.length > 0) return this.queue.shift()
      if (this.err != null) throw this.err
      if (this.ended) return null
      await withTimeout(new Promise(resolve => { this.waiter = resolve }), OP_TIMEOUT_MS, 'read')
    }
  }
}

// ------------------------------------------------ @chainsafe/libp2p-yamux 8

// The libraries are loaded before the peer listens or dials, so that the
// session is ready the moment the TCP connection exists.
async function loadImpl (impl) {
  if (impl === 'yamuxjs') {
    const yj = (await import('yamux-js')).default
    return (socket, outbound, opts) => yamuxjsSession(yj, socket, outbound, opts)
  }
  if (impl === 'chainsafe') {
    const libs = {
      ...(await import('@chainsafe/libp2p-yamux')),
      ...(await import('@libp2p/utils')),
      ...(await import('@libp2p/logger'))
    }
    return (socket, outbound, opts) => chainsafeSession(libs, socket, outbound, opts)
  }
  throw new Error(`unknown impl ${impl}`)
}

function chainsafeSession (libs, socket, outbound, opts) {
  const { yamux, AbstractMultiaddrConnection, ipPortToMultiaddr, logger } = libs

  // A MultiaddrConnection over a node:net socket (what @libp2p/tcp does, minus
  // the transport bookkeeping). The v3 muxer takes any MessageStream.
  class SocketConn extends AbstractMultiaddrConnection {
    constructor (sock, direction) {
      super({
        log: logger('interop:socket'),
        direction,
        remoteAddr: ipPortToMultiaddr(sock.remoteAddress, sock.remotePort)
      })
      this.sock = sock
      sock.on('data', buf => { this.onData(buf) })
      sock.on('drain', () => { this.safeDispatchEvent('drain') })
      sock.on('error', err => { log('socket error: %s', err.message) })
      sock.on('close', () => { this.onTransportClosed() })
    }

    sendData (data) {
      let canSendMore = true
      for (const buf of data) canSendMore = this.sock.write(buf)
      return { sentBytes: data.byteLength, canSendMore }
    }

    sendReset () { this.sock.resetAndDestroy() }

    async sendClose (options) {
      if (this.sock.destroyed) return
      const closed = new Promise(resolve => this.sock.once('close', resolve))
      this.sock.end()
      try {
        await withTimeout(closed, 2000, 'socket close')
      } catch {
        this.sock.destroy()
      }
    }

    sendPause () { this.sock.pause() }
    sendResume () { this.sock.resume() }
  }

  class Stream {
    constructor (s) {
      this.s = s
      this.inbox = new Inbox()
      s.addEventListener('message', evt => { this.inbox.push(toBuf(evt.data)) })
      s.addEventListener('remoteCloseWrite', () => { this.inbox.end() })
      s.addEventListener('close', evt => {
        if (evt.error != null) this.inbox.fail(evt.error)
        else this.inbox.end()
      })
    }

    read () { return this.inbox.read() }
    unshift (buf) { this.inbox.unshift(buf) }

    async write (buf) {
      if (!this.s.send(buf)) {
        await this.s.onDrain({ signal: AbortSignal.timeout(OP_TIMEOUT_MS) })
      }
    }

    async closeWrite () { await this.s.close({ signal: AbortSignal.timeout(OP_TIMEOUT_MS) }) }
    reset () { this.s.abort(new Error('reset requested by the interop test')) }
    get state () { return `${this.s.status}/${this.s.readStatus}/${this.s.writeStatus}` }
  }

  const init = {
    // Large enough that the 1,000-stream test is not limited by the peer.
    maxInboundStreams: 4096,
    maxOutboundStreams: 4096
  }
  if (opts.keepalive > 0) {
    init.enableKeepAlive = true
    init.keepAliveInterval = opts.keepalive
  }
  const maConn = new SocketConn(socket, outbound ? 'outbound' : 'inbound')
  const muxer = yamux(init)().createStreamMuxer(maConn)
  let onStream = () => {}
  muxer.addEventListener('stream', evt => { onStream(new Stream(evt.detail)) })

  return {
    name: 'chainsafe',
    onStream (cb) { onStream = cb },
    async open () { return new Stream(await muxer.createStream()) },
    async ping () { return { rtt: await muxer.ping({ signal: AbortSignal.timeout(5000) }) } },
    // chainsafe has no "GoAway but keep running": close() closes every
    // stream's write side, then sends GO_AWAY(0); the socket stays open.
    async goaway () { await muxer.close({ signal: AbortSignal.timeout(5000) }) },
    async close () {
      try { await muxer.close({ signal: AbortSignal.timeout(5000) }) } catch (err) { log('muxer close: %s', err.message) }
      await maConn.close({ signal: AbortSignal.timeout(5000) })
    },
    abort () { socket.destroy() },
    status () {
      return {
        open: muxer.status === 'open' && !socket.destroyed,
        muxer: muxer.status,
        socket: socket.destroyed ? 'destroyed' : 'open',
        streams: muxer.streams.length,
        rtt: muxer.getRTT()
      }
    }
  }
}

// ------------------------------------------------------------- yamux-js 0.2

function yamuxjsSession (yj, socket, outbound, opts) {
  const config = {
    enableKeepAlive: opts.keepalive > 0,
    keepAliveInterval: opts.keepalive > 0 ? opts.keepalive / 1000 : 30, // seconds
    connectionWriteTimeout: 10,
    logger: (...args) => log('yamux-js: %s', util.format(...args))
  }

  class Stream {
    constructor (d) {
      this.d = d
      this.inbox = new Inbox()
      d.on('data', buf => { this.inbox.push(toBuf(buf)) })
      d.on('end', () => { this.inbox.end() })
      d.on('error', err => { this.inbox.fail(err) })
      d.on('close', () => { this.inbox.end() })
    }

    read () { return this.inbox.read() }
    unshift (buf) { this.inbox.unshift(buf) }

    write (buf) {
      return withTimeout(new Promise((resolve, reject) => {
        this.d.write(buf, err => { if (err != null) reject(err); else resolve() })
      }), OP_TIMEOUT_MS, 'write')
    }

    async closeWrite () { this.d.close() }
    reset () { throw new UnsupportedError('yamux-js 0.2.0 has no stream reset') }
    get state () { return String(this.d.state) }
  }

  let onStream = () => {}
  const session = outbound
    ? new yj.Client(config)
    : new yj.Server(d => onStream(new Stream(d)), config)
  if (outbound) {
    // Client has no onStream parameter, but the field is what the session calls.
    session.onStream = d => onStream(new Stream(d))
  }
  session.on('error', err => { log('yamux-js session error: %s', err?.message ?? err) })
  socket.pipe(session).pipe(socket)

  return {
    name: 'yamuxjs',
    onStream (cb) { onStream = cb },
    async open () { return new Stream(session.open()) },
    async ping () {
      // ping() is private and reports nothing back; the Go side sees the PING
      // on the wire through its frame tap.
      session.ping()
      return { rtt: null }
    },
    async goaway () { session.goAway(0) },
    async close () {
      session.close()
      await withTimeout(new Promise(resolve => {
        if (socket.destroyed) resolve()
        else socket.once('close', resolve)
      }), 2000, 'socket close').catch(() => socket.destroy())
    },
    abort () { socket.destroy() },
    status () {
      return { open: !session.isClosed() && !socket.destroyed, socket: socket.destroyed ? 'destroyed' : 'open' }
    }
  }
}

// ------------------------------------------------------------- behaviours

async function readLine (st, max = 256) {
  const parts = []
  let len = 0
  for (;;) {
    const c = await st.read()
    if (c == null) throw new Error('EOF before header line')
    const i = c.indexOf(0x0a)
    if (i >= 0) {
      parts.push(c.subarray(0, i))
      st.unshift(c.subarray(i + 1))
      return Buffer.concat(parts).toString('ascii')
    }
    parts.push(c)
    len += c.length
    if (len > max) throw new Error('header line too long')
  }
}

async function drain (st, hash) {
  let n = 0
  for (;;) {
    const c = await st.read()
    if (c == null) return n
    n += c.length
    hash?.update(c)
  }
}

// Behaviours for streams the Go side opens ("<behaviour> <tag> <arg>\n").
async function serveStream (st) {
  let res = { event: 'stream', tag: '?' }
  try {
    const line = await readLine(st)
    const [beh, tag, arg] = line.split(' ')
    res = { event: 'stream', tag, behaviour: beh, ok: false }
    switch (beh) {
      case 'echo': { // echo until EOF, then half-close
        let n = 0
        for (;;) {
          const c = await st.read()
          if (c == null) break
          n += c.length
          await st.write(c)
        }
        await st.closeWrite()
        res.bytes = n
        res.ok = true
        break
      }
      case 'sink': { // read until EOF, then write a report and half-close
        const h = createHash('sha256')
        const n = await drain(st, h)
        const digest = h.digest('hex')
        await st.write(Buffer.from(`ok ${n} ${digest}\n`, 'ascii'))
        await st.closeWrite()
        Object.assign(res, { ok: true, bytes: n, sha: digest })
        break
      }
      case 'source': { // write N bytes, half-close, then read until EOF
        const total = Number(arg)
        const h = createHash('sha256')
        let sent = 0
        while (sent < total) {
          const b = randomBytes(Math.min(CHUNK, total - sent))
          h.update(b)
          await st.write(b)
          sent += b.length
        }
        res.sentSha = h.digest('hex')
        res.sent = sent
        await st.closeWrite()
        const h2 = createHash('sha256')
        res.recvBytes = await drain(st, h2)
        res.recvSha = h2.digest('hex')
        res.ok = true
        break
      }
      case 'reset': { // reset right after the header
        st.reset()
        res.ok = true
        break
      }
      case 'await-reset': { // say ready, read until an error, then try to write
        await st.write(Buffer.from('ready\n', 'ascii'))
        let n = 0
        try {
          n = await drain(st)
          res.readErr = 'eof'
        } catch (err) {
          res.readErr = classify(err)
          res.readErrText = `${err?.name}: ${err?.message}`
        }
        res.bytes = n
        try {
          await withTimeout(st.write(Buffer.from('x')), 2000, 'write after reset')
          res.writeErr = 'none'
        } catch (err) {
          res.writeErr = classify(err)
          res.writeErrText = `${err?.name}: ${err?.message}`
        }
        res.ok = res.readErr === 'reset'
        break
      }
      default:
        throw new Error(`unknown behaviour ${beh}`)
    }
  } catch (err) {
    Object.assign(res, { ok: false }, errInfo(err))
  }
  emit(res)
}

// Behaviours for streams the peer opens on request ("open" command). The Go
// side echoes every stream it accepts.
async function openBehaviour (session, msg) {
  switch (msg.behaviour) {
    case 'echo-client': { // count concurrent streams x size bytes, echo verified
      const count = msg.count ?? 1
      const size = msg.size ?? 0
      const results = await Promise.all(Array.from({ length: count }, async (_v, i) => {
        try {
          const st = await session.open()
          const data = randomBytes(size)
          const want = createHash('sha256').update(data).digest('hex')
          const h = createHash('sha256')
          const reader = drain(st, h)
          for (let off = 0; off < size; off += 65536) {
            await st.write(data.subarray(off, Math.min(size, off + 65536)))
          }
          await st.closeWrite()
          const n = await reader
          const got = h.digest('hex')
          if (n !== size || got !== want) return `stream ${i}: echoed ${n}/${size} bytes, sha match=${got === want}`
          return null
        } catch (err) {
          return `stream ${i}: ${err?.name}: ${err?.message}`
        }
      }))
      const failures = results.filter(r => r != null)
      return { ok: failures.length === 0, failures: failures.slice(0, 10), failed: failures.length }
    }
    case 'probe': { // open, write, read: used to check that the Go side refuses streams
      let st
      try {
        st = await session.open()
      } catch (err) {
        return { ok: true, opened: false, ...errInfo(err) }
      }
      const out = { opened: true }
      try {
        await withTimeout(st.write(Buffer.from('probe\n')), 2000, 'probe write')
        await st.closeWrite()
        out.bytes = await withTimeout(drain(st), msg.timeoutMs ?? 2000, 'probe read')
        out.readErr = 'eof'
      } catch (err) {
        Object.assign(out, errInfo(err))
        out.readErr = classify(err)
      }
      out.ok = true
      return out
    }
    default:
      throw new Error(`unknown open behaviour ${msg.behaviour}`)
  }
}

// ------------------------------------------------------------------- main

const args = parseArgs(process.argv.slice(2))

process.on('uncaughtException', err => { emit({ event: 'uncaught', error: String(err?.stack ?? err) }) })
process.on('unhandledRejection', err => { emit({ event: 'uncaught', error: String(err?.stack ?? err) }) })

let session = null
const pending = [] // control messages that arrived before the session existed

const makeSession = await loadImpl(args.impl)

function startSession (socket, outbound) {
  socket.setNoDelay(true)
  socket.on('close', () => emit({ event: 'session-closed' }))
  session = makeSession(socket, outbound, args)
  session.onStream(st => { serveStream(st) })
  emit({ event: 'connected' })
  for (const msg of pending.splice(0)) handle(msg)
}

async function command (msg) {
  if (session == null) throw new Error('no session')
  switch (msg.cmd) {
    case 'ping': return await session.ping()
    case 'goaway': await session.goaway(); return {}
    case 'close': await session.close(); return {}
    case 'abort': session.abort(); return {}
    case 'status': return session.status()
    case 'open': return await openBehaviour(session, msg)
    default: throw new Error(`unknown command ${msg.cmd}`)
  }
}

async function handle (msg) {
  if (msg.cmd === 'exit') process.exit(0)
  if (session == null) { pending.push(msg); return }
  try {
    const r = await withTimeout(command(msg), OP_TIMEOUT_MS, msg.cmd)
    emit({ id: msg.id, ok: true, result: r })
  } catch (err) {
    emit({ id: msg.id, ok: false, ...errInfo(err) })
  }
}

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', line => {
  if (line.trim() === '') return
  let msg
  try { msg = JSON.parse(line) } catch { log('bad control line: %s', line); return }
  handle(msg)
})
rl.on('close', () => process.exit(0))

if (args.mode === 'listen') {
  const server = net.createServer({ noDelay: true }, socket => {
    server.close() // one connection per process
    startSession(socket, false)
  })
  server.listen(0, HOST, () => emit({ event: 'ready', port: server.address().port }))
} else if (args.mode === 'dial') {
  const socket = net.connect({ host: HOST, port: args.port, noDelay: true })
  socket.once('connect', () => {
    startSession(socket, true)
  })
  socket.once('error', err => { if (session == null) { emit({ event: 'uncaught', error: `dial: ${err.message}` }); process.exit(1) } })
} else {
  throw new Error(`unknown mode ${args.mode}`)
}
