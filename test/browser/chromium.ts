import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import puppeteer, { type Browser } from 'puppeteer-core'
import type { Test } from 'tap'

/** Debian's Chromium; `GK_TEST_CHROMIUM` points elsewhere. */
export const CHROMIUM = process.env.GK_TEST_CHROMIUM ?? '/usr/bin/chromium'

/** Flags of a quiet headless run: no sandbox (root in containers), no GPU, no background traffic. */
export const CHROMIUM_ARGS = Object.freeze([
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run'
])

/**
 * Launches headless Chromium for one test file and closes it at teardown.
 * Without a browser the file is skipped with a visible message, except under
 * CI=true, where a missing browser fails the run.
 */
export async function launchChromium (t: Test, extraArgs: readonly string[] = []): Promise<Browser | null> {
  if (!existsSync(CHROMIUM)) {
    const reason = `no Chromium at ${CHROMIUM}`
    if (process.env.CI === 'true') {
      t.fail(`${reason}; the browser tests are required when CI=true (apt-get install chromium)`)
    } else {
      t.comment(`SKIPPING the browser tests: ${reason}. Install Debian's chromium or set GK_TEST_CHROMIUM (required when CI=true).`)
      t.plan(0, `browser tests skipped: ${reason}`)
    }
    return null
  }
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] })
  t.teardown(() => browser.close())
  return browser
}

/** Starts `app` on a free loopback port; returns the port. */
export async function listen (app: FastifyInstance, host = '127.0.0.1'): Promise<number> {
  await app.listen({ port: 0, host })
  return (app.server.address() as AddressInfo).port
}

/** Waits until `check()` is true, polling; fails with `what` after `ms`. */
export async function until (check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
