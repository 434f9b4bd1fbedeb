import Fastify from 'fastify'
import t from 'tap'
import { gatekeeper } from '../../lib/gatekeeper.js'
import { dpop } from '../../lib/dpop/index.js'
import { resourceServer } from '../../lib/resource-server/plugin.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { claims, startFakeIssuer } from '../resource-server/fake-issuer.js'
import { RESOURCE } from '../resource-server/provider.js'
import { holder, proof } from './helpers.js'

const ORIGIN = 'https://api.test'

t.test('resourceServer: an issuer\'s DPoP-bound token (cnf.jkt) is checked as our own; the metadata says DPoP is required', async (t) => {
  const fake = await startFakeIssuer()
  t.teardown(fake.close)
  const app = Fastify()
  await app.register(gatekeeper, { store: memoryStore(), audit: { log: false } })
  await app.register(dpop, { policy: 'required', publicOrigin: ORIGIN })
  await app.register(resourceServer, { resource: RESOURCE, scopes: ['tools:read'], issuers: [{ issuer: fake.issuer, audience: RESOURCE }] })
  app.get('/mcp/tools', { config: { auth: 'resourceServer' } }, async (request) => ({ jkt: request.auth?.confirmation?.jkt, scheme: request.auth?.scheme }))
  t.teardown(() => app.close())
  const h = await holder()
  const other = await holder()
  const clock = { now: Date.now() }
  const token = await fake.sign(claims(fake, RESOURCE, { cnf: { jkt: h.jkt } }))
  const unbound = await fake.sign(claims(fake, RESOURCE))
  const send = async (authorization: string, dpopHeader?: string): Promise<{ statusCode: number, json: () => any }> =>
    await app.inject({ method: 'GET', url: '/mcp/tools', headers: { authorization, ...(dpopHeader === undefined ? {} : { dpop: dpopHeader }) } })
  const p = async (k = h, tok = token): Promise<string> => await proof(k, clock, { htm: 'GET', htu: `${ORIGIN}/mcp/tools`, accessToken: tok })

  const ok = await send(`DPoP ${token}`, await p())
  t.equal(ok.statusCode, 200, 'a proof by the bound key')
  t.same(ok.json(), { jkt: h.jkt, scheme: 'DPoP' })
  const rows: Array<[string, () => Promise<{ statusCode: number, json: () => any }>, number, string]> = [
    ['the bound token as Bearer (downgrade)', async () => await send(`Bearer ${token}`), 401, 'GK_TOKEN_INVALID'],
    ['the bound token without a proof', async () => await send(`DPoP ${token}`), 401, 'GK_DPOP_PROOF_INVALID'],
    ['a proof by another key', async () => await send(`DPoP ${token}`, await p(other)), 401, 'GK_DPOP_PROOF_INVALID'],
    ['an unbound token of the issuer under policy required', async () => await send(`Bearer ${unbound}`), 401, 'GK_TOKEN_INVALID'],
    ['an unbound token with the DPoP scheme', async () => await send(`DPoP ${unbound}`, await p(h, unbound)), 401, 'GK_TOKEN_INVALID']
  ]
  for (const [name, run, status, code] of rows) {
    const res = await run()
    t.equal(res.statusCode, status, name)
    t.equal(res.json().code, code, name)
  }
  const meta = await app.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource/mcp' })
  t.match(meta.json(), { dpop_bound_access_tokens_required: true, dpop_signing_alg_values_supported: ['ES256', 'EdDSA', 'Ed25519', 'RS256', 'PS256'] })
})
