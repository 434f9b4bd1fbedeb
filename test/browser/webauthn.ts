import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { CDPSession, Page } from 'puppeteer-core'

/** A credential as the DevTools WebAuthn domain reports it (`privateKey`: base64 PKCS#8). */
export interface VirtualCredential {
  credentialId: string
  isResidentCredential: boolean
  rpId?: string
  privateKey: string
  userHandle?: string
  signCount: number
  backupEligibility?: boolean
  backupState?: boolean
}

/** One DevTools virtual authenticator attached to a page. */
export interface VirtualAuthenticator {
  readonly id: string
  readonly cdp: CDPSession
  credentials (): Promise<VirtualCredential[]>
  add (credential: VirtualCredential): Promise<void>
  remove (credentialId: string): Promise<void>
  /** Whether the authenticator reports user verification (PIN, biometrics) as done. */
  setUserVerified (verified: boolean): Promise<void>
}

/**
 * Attaches a CTAP2 platform authenticator with resident keys and user
 * verification to `page` (DevTools `WebAuthn.addVirtualAuthenticator`): the
 * browser's own WebAuthn code runs, only the hardware is simulated, and
 * user presence is given without a prompt.
 */
export async function addVirtualAuthenticator (page: Page): Promise<VirtualAuthenticator> {
  const cdp = await page.createCDPSession()
  await cdp.send('WebAuthn.enable', { enableUI: false })
  const { authenticatorId: id } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      ctap2Version: 'ctap2_1',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true
    }
  })
  return {
    id,
    cdp,
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId: id })).credentials,
    add: async (credential) => { await cdp.send('WebAuthn.addCredential', { authenticatorId: id, credential }) },
    remove: async (credentialId) => { await cdp.send('WebAuthn.removeCredential', { authenticatorId: id, credentialId }) },
    setUserVerified: async (isUserVerified) => { await cdp.send('WebAuthn.setUserVerified', { authenticatorId: id, isUserVerified }) }
  }
}

const require = createRequire(import.meta.url)

/** @simplewebauthn/browser's single-file build, which defines `SimpleWebAuthnBrowser`. */
export const BROWSER_BUNDLE = readFileSync(join(dirname(require.resolve('@simplewebauthn/browser')), '..', 'dist', 'bundle', 'index.umd.min.js'), 'utf8')

/**
 * The test page: @simplewebauthn/browser plus `window.gk.*` helpers that call
 * the library's routes and return `{ status, body }`. Every helper takes the
 * routes' paths as they are configured by the default options.
 */
export const PASSKEY_PAGE = `<!doctype html><meta charset="utf-8"><title>passkeys</title>
<script src="/simplewebauthn-browser.js"></script>
<script>
const { startRegistration, startAuthentication } = SimpleWebAuthnBrowser
const CSRF = { 'content-type': 'application/json', 'x-gk-csrf': '1' }
let bearer = null
async function call (method, url, body) {
  const headers = { ...CSRF }
  if (bearer !== null) headers.authorization = 'Bearer ' + bearer
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  let json = null
  try { json = JSON.parse(text) } catch {}
  if (json !== null && typeof json.accessToken === 'string') bearer = json.accessToken
  return { status: res.status, body: json }
}
async function ceremony (fn) {
  try { return { response: await fn() } } catch (err) { return { error: String(err && err.name) + ': ' + String(err && err.message) } }
}
window.gk = {
  call,
  signOut () { bearer = null },
  setBearer (token) { bearer = token },
  bearer () { return bearer },
  async login (username, password) { return call('POST', '/api/login', { username, password }) },
  async register (name) {
    const options = await call('POST', '/api/passkeys/register/options', {})
    if (options.status !== 200) return { step: 'options', ...options }
    const made = await ceremony(() => startRegistration({ optionsJSON: options.body.options }))
    if (made.error !== undefined) return { step: 'browser', error: made.error }
    return call('POST', '/api/passkeys/register', { challenge: options.body.challenge, response: made.response, name })
  },
  async options () { return call('POST', '/api/passkeys/login/options', {}) },
  async assert (optionsJSON) { return ceremony(() => startAuthentication({ optionsJSON })) },
  async passkeyLogin () {
    const options = await call('POST', '/api/passkeys/login/options', {})
    if (options.status !== 200) return { step: 'options', ...options }
    const made = await ceremony(() => startAuthentication({ optionsJSON: options.body.options }))
    if (made.error !== undefined) return { step: 'browser', error: made.error }
    return call('POST', '/api/passkeys/login', { challenge: options.body.challenge, response: made.response })
  }
}
</script>`

/** Serves the test page at `/` and the browser library at `/simplewebauthn-browser.js`, both public. */
export function servePasskeyPage (app: FastifyInstance, page = PASSKEY_PAGE): void {
  app.get('/', { config: { auth: false } }, async (_request, reply) => reply.type('text/html').send(page))
  app.get('/simplewebauthn-browser.js', { config: { auth: false } }, async (_request, reply) => reply.type('text/javascript').send(BROWSER_BUNDLE))
}
