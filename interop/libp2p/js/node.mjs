#!/usr/bin/env node
// A js-libp2p 3.x node for the libp2p interop tests of github.com/yamuxgo/yamux
// (interop/libp2p/js_test.go): TCP + Noise + Yamux, identify, ping and an
// /echo/1.0.0 handler, listening on 127.0.0.1 only.
//
// It is driven over stdin/stdout with one JSON object per line:
//
//   stdout: {"event":"ready","peerId":ID,"addrs":[...]}      once listening
//           {"event":"identify","peerId":ID,...}              identify of a peer done
//           {"id":N,"ok":true,"result":{...}} | {"id":N,"ok":false,"error":"...","name":"..."}
//           {"event":"log","msg":"..."}
//   stdin:  {"id":N,"cmd":"dial","addr":MA}                   -> remotePeer, encryption, multiplexer
//           {"id":N,"cmd":"identified","peer":ID}             -> what identify told us about peer
//           {"id":N,"cmd":"ping","peer":ID}                   -> rtt (ms)
//           {"id":N,"cmd":"echo","peer":ID,"streams":S,"size":B} -> S concurrent echo streams, sha256-checked
//           {"id":N,"cmd":"conns","peer":ID}                  -> number of open connections to peer
//
// The process exits when stdin closes.

// Node 20 lacks Promise.withResolvers, which the libp2p v3 packages call.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new Promise((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

const { createHash, randomBytes } = await import('node:crypto')
const readline = await import('node:readline')
const util = await import('node:util')
const { createLibp2p } = await import('libp2p')
const { tcp } = await import('@libp2p/tcp')
const { noise } = await import('@chainsafe/libp2p-noise')
const { yamux } = await import('@chainsafe/libp2p-yamux')
const { identify } = await import('@libp2p/identify')
const { ping } = await import('@libp2p/ping')
const { peerIdFromString } = await import('@libp2p/peer-id')
const { multiaddr } = await import('@multiformats/multiaddr')

const ECHO = '/echo/1.0.0'
const AGENT = 'js-libp2p-interop/3.3.11'
const OP_TIMEOUT_MS = 60_000
// Raised so that the tests measure the stack under test, not js-libp2p's
// defaults (32 inbound / 64 outbound streams per protocol and connection).
const STREAM_LIMITS = { maxInboundStreams: 1024, maxOutboundStreams: 1024 }

function emit (obj) { process.stdout.write(JSON.stringify(obj) + '\n') }
function log (...args) { emit({ event: 'log', msg: util.format(...args) }) }

function toBuf (d) { return d instanceof Uint8Array ? d : d.subarray() }

// Inbox turns a stream's 'message' events into awaitable reads. js-libp2p
// may hand a stream over after its remote already closed its write side, so
// the state is checked on entry too.
class Inbox {
  constructor (s) {
    this.chunks = []
    this.ended = false
    this.err = null
    this.wake = null
    s.addEventListener('message', evt => { this.chunks.push(toBuf(evt.data)); this.notify() })
    s.addEventListener('remoteCloseWrite', () => { this.ended = true; this.notify() })
    s.addEventListener('close', evt => {
      if (evt.error != null) this.err = evt.error
      this.ended = true
      this.notify()
    })
    if (s.remoteWriteStatus !== 'writable' || s.status !== 'open') this.ended = true
  }

  notify () { if (this.wake) { const w = this.wake; this.wake = null; w() } }

  // read resolves to the next chunk, or null at the end.
  async read () {
    for (;;) {
      if (this.chunks.length > 0) return this.chunks.shift()
      if (this.err) throw this.err
      if (this.ended) return null
      await new Promise(resolve => { this.wake = resolve })
    }
  }
}

async function send (s, buf) {
  if (!s.send(buf)) await s.onDrain({ signal: AbortSignal.timeout(OP_TIMEOUT_MS) })
}

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux({ maxInboundStreams: 4096, maxOutboundStreams: 4096 })],
  nodeInfo: { userAgent: AGENT },
  connectionManager: {
    // js-libp2p resets more than 5 inbound connections per second from one
    // host by default; every test here dials from 127.0.0.1.
    inboundConnectionThreshold: 10_000,
    maxIncomingPendingConnections: 1_000
  },
  services: {
    identify: identify(),
    ping: ping(STREAM_LIMITS)
  }
})

const identified = new Map() // peer ID string -> identify result summary
const identifyWaiters = new Map()
node.addEventListener('peer:identify', evt => {
  const r = evt.detail
  const summary = { peerId: r.peerId.toString(), agentVersion: r.agentVersion, protocolVersion: r.protocolVersion, protocols: r.protocols }
  identified.set(summary.peerId, summary)
  emit({ event: 'identify', ...summary })
  for (const w of identifyWaiters.get(summary.peerId) ?? []) w(summary)
  identifyWaiters.delete(summary.peerId)
})

await node.handle(ECHO, async (stream) => {
  const inbox = new Inbox(stream)
  try {
    for (;;) {
      const chunk = await inbox.read()
      if (chunk === null) break
      await send(stream, chunk)
    }
    await stream.close({ signal: AbortSignal.timeout(OP_TIMEOUT_MS) })
  } catch (err) {
    log('echo handler: %s', err.message)
    stream.abort(err)
  }
}, STREAM_LIMITS)

async function echoOnce (peer, size) {
  const s = await node.dialProtocol(peer, ECHO, { signal: AbortSignal.timeout(OP_TIMEOUT_MS), ...STREAM_LIMITS })
  const inbox = new Inbox(s)
  const data = randomBytes(size)
  const reading = (async () => {
    const h = createHash('sha256')
    let n = 0
    for (;;) {
      const chunk = await inbox.read()
      if (chunk === null) break
      h.update(chunk)
      n += chunk.byteLength
    }
    return { n, sum: h.digest('hex') }
  })()
  for (let off = 0; off < size; off += 64 * 1024) await send(s, data.subarray(off, Math.min(size, off + 64 * 1024)))
  await s.close({ signal: AbortSignal.timeout(OP_TIMEOUT_MS) })
  const got = await reading
  const want = createHash('sha256').update(data).digest('hex')
  if (got.n !== size || got.sum !== want) throw new Error(`echo mismatch: ${got.n} of ${size} bytes, sha256 ${got.sum} want ${want}`)
  return got.n
}

async function run (msg) {
  switch (msg.cmd) {
    case 'dial': {
      const conn = await node.dial(multiaddr(msg.addr), { signal: AbortSignal.timeout(OP_TIMEOUT_MS) })
      return { remotePeer: conn.remotePeer.toString(), encryption: conn.encryption, multiplexer: conn.multiplexer }
    }
    case 'identified': {
      const have = identified.get(msg.peer)
      if (have) return have
      return await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no identify result for ' + msg.peer)), OP_TIMEOUT_MS)
        const list = identifyWaiters.get(msg.peer) ?? []
        list.push(r => { clearTimeout(t); resolve(r) })
        identifyWaiters.set(msg.peer, list)
      })
    }
    case 'ping': {
      const rtt = await node.services.ping.ping(peerIdFromString(msg.peer), { signal: AbortSignal.timeout(OP_TIMEOUT_MS) })
      return { rtt }
    }
    case 'echo': {
      const peer = peerIdFromString(msg.peer)
      const counts = await Promise.all(Array.from({ length: msg.streams }, () => echoOnce(peer, msg.size)))
      return { bytes: counts.reduce((a, b) => a + b, 0) }
    }
    case 'conns':
      return { n: node.getConnections(peerIdFromString(msg.peer)).length }
    default:
      throw new Error('unknown command ' + msg.cmd)
  }
}

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', line => {
  let msg
  try { msg = JSON.parse(line) } catch { log('bad command line %s', line); return }
  run(msg).then(
    result => emit({ id: msg.id, ok: true, result }),
    err => emit({ id: msg.id, ok: false, error: String(err?.message ?? err), name: err?.name ?? '' })
  )
})
rl.on('close', async () => {
  try { await node.stop() } catch (err) { log('stop: %s', err.message) }
  process.exit(0)
})

emit({ event: 'ready', peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(a => a.toString()) })
