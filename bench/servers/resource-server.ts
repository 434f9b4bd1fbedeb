// Variant "resource-server": the gatekeeper core with the resourceServer plugin trusting ES256
// JWT access tokens of a real authorization server (oidc-provider, in its own process) on
// loopback; its keys are fetched at start-up, so the measured requests find them warm.
import { spawn } from 'node:child_process'
import Fastify from 'fastify'
import { gatekeeper } from 'fastify-gatekeeper'
import { resourceServer } from 'fastify-gatekeeper/resource-server'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'
import { BENCH_CLIENT, BENCH_RESOURCE } from '../lib/authorization-server.js'
import { ROOT } from '../lib/child.js'
import { announce, BENCH_PATH, handler } from '../lib/server.js'

const as = spawn(process.execPath, ['--import', 'tsx', 'bench/lib/authorization-server.ts'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] })
const issuer = await new Promise<string>((resolve, reject) => {
  let out = ''
  as.stdout.on('data', (d) => {
    out += String(d)
    const m = /AS_READY (\S+)/.exec(out)
    if (m !== null) resolve(m[1] as string)
  })
  as.once('exit', (code) => { reject(new Error(`the authorization server exited (${String(code)})`)) })
})

const app = Fastify({ logger: false })
await app.register(gatekeeper, { store: memoryStore() })
await app.register(resourceServer, { resource: BENCH_RESOURCE, issuers: [{ issuer }] })
app.get(BENCH_PATH, { config: { auth: 'resourceServer' } }, handler)
app.addHook('onClose', async () => { as.stdin.end() })
await app.ready()

const res = await fetch(`${issuer}/token`, {
  method: 'POST',
  headers: { authorization: `Basic ${Buffer.from(`${BENCH_CLIENT.id}:${BENCH_CLIENT.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'bench:read', resource: BENCH_RESOURCE })
})
const { access_token: accessToken } = await res.json() as { access_token: string }
await announce(app, { path: BENCH_PATH, headers: { authorization: `Bearer ${accessToken}` }, protected: true })
