/**
 * Forgotten password, email verification and email change, with the mails
 * going through nodemailer to any SMTP server, or printed to the console when
 * there is none. The API is JSON only; the three small pages it serves stand
 * in for your frontend's forms and show how they handle the token.
 *
 *   npx tsx examples/password-reset.ts                       # mails printed here
 *   SMTP_URL=smtp://localhost:1025 npx tsx examples/password-reset.ts   # e.g. Mailpit
 *
 * Account: alice / correct horse battery staple (alice@example.org, verified)
 *
 *   curl -s localhost:3000/api/password/forgot -H 'content-type: application/json' \
 *     -d '{"email":"alice@example.org"}'                      # 202, whoever you name
 *   # open the link of the mail, or post its token yourself:
 *   curl -s localhost:3000/api/password/reset -H 'content-type: application/json' \
 *     -d '{"token":"<the part after #token=>","newPassword":"a new long passphrase"}'
 *
 *   curl -s localhost:3000/api/register -H 'content-type: application/json' \
 *     -d '{"username":"bob@example.org","password":"a long and unusual passphrase"}'
 *   # bob cannot log in until he opens the verification link of his mail.
 */
import Fastify from 'fastify'
import { gatekeeper, jwt, refresh, secureLogger } from 'fastify-gatekeeper'
import { accounts, nodemailerSender, type AccountMail } from 'fastify-gatekeeper/accounts'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'

const port = Number(process.env.PORT ?? 3000)
// The public origin of your frontend: every link is built from it, never from the request.
const appUrl = process.env.APP_URL ?? `http://localhost:${port}`

// Development only: a console "outbox". A real deployment sends mail; never log these links.
function printMail (mail: AccountMail): void {
  process.stdout.write(`\n--- mail to ${mail.to} (${mail.kind}) ---\n${mail.url}\n`)
}
const send = process.env.SMTP_URL === undefined
  ? printMail
  : await nodemailerSender({ transport: process.env.SMTP_URL, from: 'Example <no-reply@example.org>', appName: 'Example' })

const app = Fastify({ logger: secureLogger({ level: process.env.LOG_LEVEL ?? 'info' }) })
await app.register(gatekeeper, { store: memoryStore() })
await app.register(jwt, {
  secret: process.env.JWT_SECRET ?? 'example-secret-change-me-0123456789abcdef',
  issuer: 'password-reset-example',
  audience: 'api',
  routes: { prefix: '/api', register: true }
})
await app.register(refresh, { transport: 'body' })
await app.register(accounts, {
  send,
  origin: appUrl,
  pages: { resetPassword: '/reset-password', verifyEmail: '/verify-email', revertEmail: '/revert-email' },
  ttl: { passwordReset: '30m' },
  // Unverified accounts may not log in (the verification mail goes out at registration).
  requireVerifiedEmail: 'login'
})

app.get('/health', { config: { auth: false } }, async () => ({ ok: true }))
app.get('/api/profile', async (request) => ({ id: request.auth?.subject, roles: request.auth?.roles }))

// Your frontend's pages, reduced to a form each. The token is in the fragment, which the browser
// never sends anywhere; the page reads it, removes it from the address bar and posts it.
const page = (title: string, api: string, field: string): string => `<!doctype html>
<meta charset="utf-8"><title>${title}</title>
<h1>${title}</h1>
<form>${field}<button>Continue</button></form><p id="out"></p>
<script>
const token = new URLSearchParams(location.hash.slice(1)).get('token')
history.replaceState(null, '', location.pathname)
document.querySelector('form').onsubmit = async (e) => {
  e.preventDefault()
  const body = { token, ...Object.fromEntries(new FormData(e.target)) }
  const res = await fetch('${api}', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  document.querySelector('#out').textContent = res.ok ? 'Done.' : (await res.json()).message
}
</script>`
const pages: Array<[string, string, string, string]> = [
  ['/reset-password', 'Choose a new password', '/api/password/reset', '<input name="newPassword" type="password" autocomplete="new-password" required>'],
  ['/verify-email', 'Confirm your email address', '/api/email/verify', ''],
  ['/revert-email', 'Undo the change of your email address', '/api/email/revert', '']
]
for (const [path, title, api, field] of pages) {
  const html = page(title, api, field)
  app.get(path, { config: { auth: false } }, async (_request, reply) => {
    // No Referer leaves this page (it would not carry the fragment anyway), and nothing caches it.
    reply.header('referrer-policy', 'no-referrer').header('cache-control', 'no-store').type('text/html')
    return html
  })
}

await app.gatekeeper.users.create({ username: 'alice', password: 'correct horse battery staple', roles: ['user'], email: 'alice@example.org', emailVerified: true })

await app.listen({ port, host: '127.0.0.1' })
