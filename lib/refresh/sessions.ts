import type { RefreshTokenRepository } from '../stores/types.js'

/** One active session as the session list shows it. Never carries a token. */
export interface SessionView {
  /** The family id; `DELETE /api/sessions/:id` takes it. */
  id: string
  createdAt: string
  lastUsedAt: string
  /** When the session ends at the latest (absolute expiry). */
  expiresAt: string
  ip: string | null
  userAgent: string | null
  /** Whether this is the session of the request that asked. */
  current: boolean
}

/** Longest session id looked up; anything longer cannot be one of ours. */
export const MAX_SESSION_ID_LENGTH = 128

/** The active sessions of `userId`, newest first; `currentId` marks the caller's own. */
export async function listSessions (tokens: RefreshTokenRepository, userId: string, now: Date, currentId: string | null): Promise<SessionView[]> {
  const families = await tokens.listActive(userId, now)
  return families.map((f) => ({
    id: f.id,
    createdAt: f.createdAt.toISOString(),
    lastUsedAt: f.lastUsedAt.toISOString(),
    expiresAt: f.expiresAt.toISOString(),
    ip: f.ip,
    userAgent: f.userAgent,
    current: f.id === currentId
  }))
}

/**
 * Revokes one active session of `userId`. `false` when there is no such
 * active session *of this user*: another user's session id is answered
 * exactly like an unknown one, so ids cannot be probed (OWASP API1, BOLA).
 */
export async function revokeSession (tokens: RefreshTokenRepository, userId: string, id: string, now: Date, reason: string): Promise<boolean> {
  if (id.length === 0 || id.length > MAX_SESSION_ID_LENGTH) return false
  const family = await tokens.findFamily(id)
  if (family === null || family.userId !== userId || family.revokedAt !== null || family.expiresAt.getTime() <= now.getTime()) return false
  return tokens.revokeFamily(id, now, reason)
}
