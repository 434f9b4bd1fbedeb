// Child entry of the doc-test runner: runs one compiled documentation program.
// Every Fastify instance the program creates is caught through Fastify's
// `fastify.initialization` diagnostics channel: `listen()` is moved to an
// ephemeral port on 127.0.0.1 (the port is printed as `GK_DOCS_LISTENING <port>`),
// and once the program's top level has finished, each instance is made ready
// (so registration errors surface even in programs that never listen), then
// closed: when the parent closes stdin (a program that listens), or when the
// program has nothing left to do (its event loop drains, or, for one that keeps
// a connection open, it has printed nothing for 5 s: a test file still printing
// results is still working, however slow the machine). A program that is a
// test file thus finishes its tests; its exit code is the program's `process.exitCode`.
import { channel } from 'node:diagnostics_channel'
import { pathToFileURL } from 'node:url'

const apps = []
const closed = new Set()
let listening = false

// When the program last printed anything (its own output, a test runner's results).
let lastOutput = Date.now()
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write
  stream.write = function (...args) {
    lastOutput = Date.now()
    return write.apply(this, args)
  }
}

channel('fastify.initialization').subscribe(({ fastify }) => {
  apps.push(fastify)
  fastify.addHook('onClose', (instance, done) => { closed.add(fastify); done() })
  const listen = fastify.listen
  fastify.listen = async function (opts = {}, ...rest) {
    const address = await listen.call(this, { ...opts, port: 0, host: '127.0.0.1' }, ...rest)
    listening = true
    process.stdout.write(`\nGK_DOCS_LISTENING ${this.server.address().port}\n`)
    return address
  }
})

const stop = async (code) => {
  for (const app of apps) {
    if (!closed.has(app)) await app.close().catch(() => {})
  }
  process.exit(code ?? process.exitCode ?? 0)
}

try {
  await import(pathToFileURL(process.argv[2]).href)
  for (const app of apps) {
    if (!closed.has(app)) await app.ready()
  }
} catch (err) {
  console.error(err)
  await stop(1)
}
process.stdout.write('\nGK_DOCS_DONE\n')
if (listening) {
  process.stdin.resume()
  process.stdin.on('end', () => { stop() })
  process.stdin.on('close', () => { stop() })
} else {
  let once = false
  const finish = () => {
    if (once) return
    once = true
    stop()
  }
  process.once('beforeExit', finish)
  const QUIET_MS = 5000
  const whenQuiet = () => {
    const quiet = Date.now() - lastOutput
    if (quiet >= QUIET_MS) finish()
    else setTimeout(whenQuiet, QUIET_MS - quiet).unref()
  }
  setTimeout(whenQuiet, QUIET_MS).unref()
}
