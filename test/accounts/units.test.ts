import t from 'tap'
import { createHash } from 'node:crypto'
import { Jobs } from '../../lib/accounts/jobs.js'
import { MailLimits } from '../../lib/accounts/limits.js'
import { accountLink } from '../../lib/accounts/links.js'
import { MAIL_KINDS, renderMail, type AccountMail } from '../../lib/accounts/mail.js'
import { loadNodemailer, nodemailerSender, type NodemailerSenderOptions } from '../../lib/accounts/nodemailer.js'
import { ACCOUNT_TOKEN_LENGTH, hashAccountToken, isAccountTokenFormat, newAccountToken } from '../../lib/accounts/token.js'
import { memoryCounters } from '../../lib/protection/counters.js'

t.test('tokens: 256 random bits in base64url, stored as their SHA-256', async (t) => {
  const seen = new Set<string>()
  for (let i = 0; i < 200; i++) {
    const { token, hash } = newAccountToken()
    t.equal(token.length, ACCOUNT_TOKEN_LENGTH)
    t.equal(Buffer.from(token, 'base64url').length, 32)
    t.equal(hash, createHash('sha256').update(token).digest('hex'))
    t.equal(hashAccountToken(token), hash)
    t.ok(isAccountTokenFormat(token))
    seen.add(token)
  }
  t.equal(seen.size, 200, 'no repeats')
  const { token } = newAccountToken()
  for (const bad of [token.slice(0, -1), `${token}A`, `${token.slice(0, -1)}=`, `${token.slice(0, -1)}+`, `${token.slice(0, -1)}/`, '', null, 42, [token]]) {
    t.notOk(isAccountTokenFormat(bad), JSON.stringify(bad))
  }
})

t.test('links put the token in the fragment of the configured page', async (t) => {
  t.equal(accountLink('https://app.example', '/reset-password', 'abc'), 'https://app.example/reset-password#token=abc')
  t.equal(accountLink('https://app.example', '/forgot-password', null), 'https://app.example/forgot-password')
})

t.test('every kind of mail renders a subject and a text with its link', async (t) => {
  for (const kind of MAIL_KINDS) {
    const mail: AccountMail = { kind, to: 'a@example.org', userId: 'u1', url: `https://app.example/x#token=${kind}`, expiresAt: kind === 'password_changed' ? null : new Date(Date.UTC(2030, 0, 1)) }
    const r = renderMail(mail, 'Acme')
    t.ok(r.subject.length > 0, kind)
    t.ok(r.text.includes(mail.url), `${kind}: the link`)
    t.ok(r.text.includes('your Acme account'), `${kind}: the service`)
    if (mail.expiresAt !== null) t.ok(r.text.includes('Tue, 01 Jan 2030'), `${kind}: the expiry`)
    t.equal(r.html, undefined, 'plain text by default')
  }
})

t.test('jobs run after the current turn, at most max at once, and idle() waits for all', async (t) => {
  const logged: Array<[string, unknown]> = []
  const log = { warn: (o: object, m: string) => logged.push([m, o]), error: (o: object, m: string) => logged.push([m, o]) }
  const jobs = new Jobs(2, log)
  const order: string[] = []
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  t.equal(jobs.run('a', async () => { order.push('a'); await gate }), true)
  t.equal(jobs.run('b', async () => { order.push('b'); throw Object.assign(new Error('boom'), { code: 'E_BOOM', secret: 'never logged' }) }), true)
  t.equal(jobs.run('c', async () => { order.push('c') }), false, 'the third is dropped')
  order.push('sync')
  t.equal(jobs.pending, 2)
  t.equal(jobs.dropped, 1)
  await new Promise((resolve) => setImmediate(resolve))
  t.same(order, ['sync', 'a', 'b'], 'they start on a later turn')
  const idle = jobs.idle()
  release()
  await idle
  t.equal(jobs.pending, 0)
  t.match(logged, [['gatekeeper: too many account mails in flight; one was dropped', { job: 'c' }], ['gatekeeper: an account job failed', { job: 'b', err: { code: 'E_BOOM', message: 'boom' } }]])
  t.notMatch(JSON.stringify(logged), /never logged/)
})

t.test('mail limits: per client address (IPv6 by /64), and per account and per recipient', async (t) => {
  let now = 1_000_000
  const limits = new MailLimits(memoryCounters({ now: () => now }), { max: 2, windowMs: 60_000 }, { max: 2, windowMs: 3_600_000 })
  t.equal(await limits.client('203.0.113.1', now), null)
  t.equal(await limits.client('203.0.113.1', now), null)
  t.equal(await limits.client('203.0.113.1', now), 60_000, 'the third waits for the window')
  t.equal(await limits.client('203.0.113.2', now), null, 'another address is counted apart')
  t.equal(await limits.client('2001:db8::1', now), null)
  t.equal(await limits.client('2001:db8::2', now), null)
  t.not(await limits.client('2001:db8::ffff', now), null, 'one /64 is one address')
  now += 60_001
  t.equal(await limits.client('203.0.113.1', now), null, 'the window slides')

  t.equal(await limits.mail('u1', 'a@example.org'), true)
  t.equal(await limits.mail('u1', 'A@Example.org'), true)
  t.equal(await limits.mail('u1', 'b@example.org'), false, 'the account is at its limit')
  t.equal(await limits.mail('u2', 'a@example.org'), false, 'the mailbox is at its limit, whichever account asks')
  t.equal(await limits.mail('u3', 'c@example.org'), true)
})

t.test('nodemailerSender', async (t) => {
  t.test('sends through a transport given, rendering the default text or yours', async (t) => {
    const sent: Array<Record<string, unknown>> = []
    const transport = { sendMail: async (m: Record<string, unknown>) => { sent.push(m) } }
    const mail: AccountMail = { kind: 'password_reset', to: 'a@example.org', userId: 'u1', url: 'https://app.example/r#token=x', expiresAt: new Date() }
    await (await nodemailerSender({ transport, from: 'Acme <no-reply@acme.example>', appName: 'Acme' }))(mail)
    t.match(sent[0], { from: 'Acme <no-reply@acme.example>', to: 'a@example.org', subject: 'Reset your password', text: /your Acme account/, headers: { 'Auto-Submitted': 'auto-generated' } })
    t.notOk('html' in (sent[0] as object))
    await (await nodemailerSender({ transport, from: 'x@acme.example', render: async (m) => ({ subject: `S ${m.kind}`, text: 'T', html: '<p>H</p>' }) }))(mail)
    t.match(sent[1], { subject: 'S password_reset', text: 'T', html: '<p>H</p>' })
  })

  t.test('makes the transport from options with nodemailer, loaded only then', async (t) => {
    let loads = 0
    const made: unknown[] = []
    const fake = { default: { createTransport: (o: unknown) => { made.push(o); return { sendMail: async () => {} } } } }
    await nodemailerSender({ transport: { host: 'smtp.example' }, from: 'x@acme.example' }, async () => { loads++; return fake })
    await nodemailerSender({ transport: { sendMail: async () => {} }, from: 'x@acme.example' }, async () => { loads++; return fake })
    t.equal(loads, 1, 'a ready transport needs no nodemailer')
    t.same(made, [{ host: 'smtp.example' }])
    t.ok(await loadNodemailer(), 'the real package loads')
  })

  t.test('a missing nodemailer is a GK_CONFIG error naming the install command', async (t) => {
    await t.rejects(loadNodemailer(async () => await import('nodemailer-is-not-installed' as string)), { code: 'GK_CONFIG', message: /npm install nodemailer/ })
    await t.rejects(nodemailerSender({ transport: 'smtp://x', from: 'x@acme.example' }, async () => { throw new Error('Cannot find package') }), { code: 'GK_CONFIG', message: /npm install nodemailer/ })
    await t.rejects(loadNodemailer(async () => ({})), { code: 'GK_CONFIG', message: /no createTransport/ })
  })

  t.test('bad options are GK_CONFIG errors (table)', async (t) => {
    const transport = { sendMail: async () => {} }
    const rows: Array<[string, unknown, RegExp]> = [
      ['no options', null, /needs \{ transport, from \}/],
      ['no from', { transport }, /from must be an address/],
      ['a from with a line break (header injection)', { transport, from: 'x@a.example\r\nBcc: y@b.example' }, /from must be/],
      ['an appName with a line break', { transport, from: 'x@a.example', appName: 'A\nB' }, /appName/],
      ['render not a function', { transport, from: 'x@a.example', render: 'x' }, /render must be a function/],
      ['no transport', { from: 'x@a.example' }, /transport must be/],
      ['a number as transport', { transport: 25, from: 'x@a.example' }, /transport must be/]
    ]
    for (const [name, opts, message] of rows) await t.rejects(nodemailerSender(opts as NodemailerSenderOptions), { code: 'GK_CONFIG', message }, name)
  })
})
