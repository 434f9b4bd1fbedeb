/** Checks a server before it is measured: the credential is accepted, and refused when absent. */
import { isDeepStrictEqual } from 'node:util'
import type { Server } from './child.js'
import { dpopHeaders, type DpopFixture } from './dpop-proofs.js'
import { RESPONSE } from './server.js'

/**
 * Throws when the route does not answer 200 with the shared body, or (for a
 * protected variant) answers anything but 401 without the credential: a
 * variant that let everybody in, or nobody, would measure nothing.
 */
export async function verify (server: Server): Promise<void> {
  const url = server.origin + server.info.path
  const fixture = server.info.extra?.dpop as DpopFixture | undefined
  const ok = await fetch(url, { headers: { ...server.info.headers, ...(fixture === undefined ? {} : dpopHeaders(fixture)()) } })
  const body: unknown = await ok.json().catch(() => null)
  if (ok.status !== 200 || !isDeepStrictEqual(body, RESPONSE)) {
    throw new Error(`${server.variant}: GET ${server.info.path} with the credential answered ${ok.status} ${JSON.stringify(body)}`)
  }
  if (server.info.protected) {
    const anon = await fetch(url)
    await anon.arrayBuffer()
    if (anon.status !== 401) throw new Error(`${server.variant}: GET ${server.info.path} without a credential answered ${anon.status}, not 401`)
  }
}
