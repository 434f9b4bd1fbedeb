import { spawn } from 'node:child_process'
import { auth, discoverAuthorizationServerMetadata, discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js'
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import t, { type Test } from 'tap'
import { freePort } from '../helpers.js'
import { SERVICE, startProvider } from '../resource-server/provider.js'

// examples/mcp-resource-server.ts, walked as a spec-following MCP client does
// (the MCP authorization spec; the official TypeScript SDK's client helpers):
// 401 → protected resource metadata → authorization server metadata → token → call.

const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } } }

async function startExample (t: Test, env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/mcp-resource-server.ts'], { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d) => { output += String(d) })
  child.stderr.on('data', (d) => { output += String(d) })
  t.teardown(() => { child.kill('SIGTERM') })
  const base = `http://127.0.0.1:${env.PORT as string}`
  for (const deadline = Date.now() + 60_000; ;) {
    try {
      if ((await fetch(`${base}/health`)).ok) return base
    } catch {}
    if (Date.now() > deadline) throw new Error(`the example did not start:\n${output}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

t.test('an MCP client finds the authorization server from a 401, gets a token for the resource and calls a tool', async (t) => {
  const port = await freePort()
  const mcp = `http://127.0.0.1:${port}/mcp`
  const provider = await startProvider({ jwtResources: [mcp] })
  t.teardown(provider.close)
  const base = await startExample(t, { PORT: String(port), ISSUER: provider.issuer })

  // 1. A call without a token: 401 with a challenge naming the metadata and the scope.
  const refused = await fetch(mcp, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(INITIALIZE) })
  t.equal(refused.status, 401)
  const challenge = extractWWWAuthenticateParams(refused)
  t.equal(challenge.resourceMetadataUrl?.href, `${base}/.well-known/oauth-protected-resource/mcp`)
  t.equal(challenge.scope, 'mcp:tools')

  // 2. The protected resource metadata (RFC 9728) names the resource and its authorization server.
  const prm = await discoverOAuthProtectedResourceMetadata(mcp, { resourceMetadataUrl: challenge.resourceMetadataUrl })
  t.equal(prm.resource, mcp)
  t.same(prm.authorization_servers, [provider.issuer])
  t.same(prm.scopes_supported, ['mcp:tools'])
  t.same(prm.bearer_methods_supported, ['header'])

  // 3. The authorization server's metadata (RFC 8414).
  const as = await discoverAuthorizationServerMetadata(prm.authorization_servers?.[0] as string)
  t.equal(as?.issuer, provider.issuer)
  t.ok(as?.token_endpoint)

  // 4. A token for the resource (client credentials, RFC 8707 resource indicator), through the SDK's auth().
  const client = new ClientCredentialsProvider({ clientId: SERVICE.id, clientSecret: SERVICE.secret, scope: 'mcp:tools', expectedIssuer: provider.issuer })
  t.equal(await auth(client, { serverUrl: mcp, resourceMetadataUrl: challenge.resourceMetadataUrl }), 'AUTHORIZED')
  const token = client.tokens()?.access_token as string
  t.ok(token)

  // 5. The call, with the MCP client over Streamable HTTP.
  const session = new Client({ name: 'test-client', version: '1.0.0' })
  await session.connect(new StreamableHTTPClientTransport(new URL(mcp), { authProvider: client }))
  t.teardown(() => session.close())
  t.same((await session.listTools()).tools.map((tool) => tool.name), ['whoami'])
  const result = await session.callTool({ name: 'whoami', arguments: {} })
  t.same(JSON.parse((result.content as Array<{ text: string }>)[0]?.text as string), { subject: SERVICE.id, kind: 'application', client: SERVICE.id, scopes: ['mcp:tools'] })

  // A token without the scope: 403 naming the scope to ask for.
  const narrow = await fetch(`${provider.issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${SERVICE.id}:${SERVICE.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'tools:read', resource: mcp })
  })
  const forbidden = await fetch(mcp, { method: 'POST', headers: { authorization: `Bearer ${((await narrow.json()) as { access_token: string }).access_token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(INITIALIZE) })
  t.equal(forbidden.status, 403)
  t.match(forbidden.headers.get('www-authenticate'), /^Bearer realm="api", error="insufficient_scope", resource_metadata="[^"]+", scope="mcp:tools"$/)
})

t.test('the SDK client does the whole walk by itself on its first call', async (t) => {
  const port = await freePort()
  const mcp = `http://127.0.0.1:${port}/mcp`
  const provider = await startProvider({ jwtResources: [mcp] })
  t.teardown(provider.close)
  await startExample(t, { PORT: String(port), ISSUER: provider.issuer })
  const authProvider = new ClientCredentialsProvider({ clientId: SERVICE.id, clientSecret: SERVICE.secret, scope: 'mcp:tools', expectedIssuer: provider.issuer })
  const session = new Client({ name: 'test-client', version: '1.0.0' })
  const transport = new StreamableHTTPClientTransport(new URL(mcp), { authProvider })
  // The first request is refused (401); the transport runs auth() (metadata, token) and retries.
  await session.connect(transport)
  t.ok(authProvider.tokens()?.access_token, 'the provider holds the token the transport obtained')
  t.teardown(() => session.close())
  const result = await session.callTool({ name: 'whoami', arguments: {} })
  t.match((result.content as Array<{ text: string }>)[0]?.text, /"subject":"reports-bot"/)
})
