/**
 * An MCP server protected as the Model Context Protocol's authorization spec
 * asks: it trusts the access tokens of your authorization server (Auth0,
 * Keycloak, Entra ID, Okta, … any that issues RFC 9068 JWTs for a resource
 * indicator), publishes OAuth 2.0 Protected Resource Metadata (RFC 9728),
 * and answers every 401 with a challenge that points to it, so an MCP
 * client finds where to get a token on its own.
 *
 *   npm install fastify fastify-gatekeeper @modelcontextprotocol/sdk
 *   ISSUER=https://your-tenant.example.com/ npx tsx examples/mcp-resource-server.ts
 *
 * With PUBLIC_URL=https://mcp.example.com (the URL clients use), the resource is
 * `${PUBLIC_URL}/mcp`: register it at the authorization server as an API (an
 * audience / resource indicator) with the scope `mcp:tools`. What a client sees:
 *
 *   curl -si -X POST localhost:3000/mcp          # 401, WWW-Authenticate: Bearer …, resource_metadata="…"
 *   curl -s localhost:3000/.well-known/oauth-protected-resource/mcp    # RFC 9728 metadata
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import Fastify from 'fastify'
import { gatekeeper, secureLogger, type AuthContext } from 'fastify-gatekeeper'
import { resourceServer } from 'fastify-gatekeeper/resource-server'
import { memoryStore } from 'fastify-gatekeeper/stores/memory'

const port = Number(process.env.PORT ?? 3000)
const issuer = process.env.ISSUER
if (issuer === undefined) throw new Error('set ISSUER to your authorization server\'s issuer URL')
// The URL MCP clients use; http is accepted on a loopback host only (development).
const publicUrl = process.env.PUBLIC_URL ?? `http://127.0.0.1:${port}`

const app = Fastify({ logger: secureLogger({ level: process.env.LOG_LEVEL ?? 'info' }) })
await app.register(gatekeeper, { store: memoryStore() })
await app.register(resourceServer, {
  // RFC 8707: tokens must name this resource in their audience.
  resource: `${publicUrl}/mcp`,
  issuers: [{ issuer }],
  scopes: ['mcp:tools'],
  metadata: { resourceName: 'Example MCP server' }
})

app.get('/health', { config: { auth: false } }, async () => ({ ok: true }))

/** The MCP server of one request, knowing who calls (stateless: one per request). */
function mcpServerFor (caller: AuthContext): McpServer {
  const server = new McpServer({ name: 'gatekeeper-example', version: '1.0.0' })
  server.registerTool('whoami', { description: 'Who the server thinks you are' }, async () => ({
    content: [{ type: 'text', text: JSON.stringify({ subject: caller.subject, kind: caller.kind, client: caller.clientId ?? null, scopes: caller.scopes ?? [] }) }]
  }))
  return server
}

// The MCP endpoint (Streamable HTTP, stateless). Every call needs a token of the issuer
// for this resource with the mcp:tools scope; a 401 or 403 names the metadata and the scope.
app.post('/mcp', { config: { auth: { strategies: 'resourceServer', scopes: ['mcp:tools'] } } }, async (request, reply) => {
  const server = mcpServerFor(request.auth as AuthContext)
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true })
  reply.raw.on('close', () => { transport.close().catch(() => {}); server.close().catch(() => {}) })
  await server.connect(transport)
  // The SDK writes the response itself.
  reply.hijack()
  await transport.handleRequest(request.raw, reply.raw, request.body)
})
// Stateless: no server-to-client stream and no session to end.
const noStream = async (_request: unknown, reply: { code: (n: number) => { send: (b: unknown) => unknown } }): Promise<unknown> =>
  reply.code(405).send({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed' }, id: null })
app.get('/mcp', { config: { auth: { strategies: 'resourceServer', scopes: ['mcp:tools'] } } }, noStream)
app.delete('/mcp', { config: { auth: { strategies: 'resourceServer', scopes: ['mcp:tools'] } } }, noStream)

await app.listen({ port, host: '127.0.0.1' })
