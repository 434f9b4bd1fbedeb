import type { FastifyInstance } from 'fastify'

/** The password of every demo user (demo only). */
export const DEMO_PASSWORD = 'gatekeeper-demo-pass'

/** Creates the demo users once and a fresh demo API key on every start. */
export async function seed (app: FastifyInstance): Promise<{ password: string, apiKey: string }> {
  const ids: Record<string, string> = {}
  for (const name of ['admin', 'editor', 'user']) {
    const existing = await app.gatekeeper.store.users.findByLogin(name)
    ids[name] = existing?.id ?? (await app.gatekeeper.users.create({ username: name, password: DEMO_PASSWORD, roles: [name], email: `${name}@demo.example`, emailVerified: true })).id
  }
  const { key } = await app.gatekeeper.apiKeys.create({ ownerId: ids.user as string, name: 'demo', scopes: ['posts:read'], expiresIn: '30d' })
  return { password: DEMO_PASSWORD, apiKey: key }
}
