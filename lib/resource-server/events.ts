/**
 * The audit events of the resourceServer plugin, in one place with their
 * payloads (besides the fields every event has: time, outcome, reason, …).
 * Requests of callers it lets in carry `issuer` and `clientId` in every
 * other event (`access.denied`, `version.deprecated_call`, …).
 */
import type { AuditEvents } from '../core/events.js'

export interface ResourceServerEvents {
  /** An issuer's key set was fetched and differs from the one before (a rotation, or the first fetch). */
  'resource.keys_changed': { issuer: string, keys: number, added: readonly string[], removed: readonly string[] }
  /** A provider could not be reached or answered garbage (at most once a minute per issuer and endpoint). */
  'resource.provider_unavailable': { issuer: string, endpoint: 'discovery' | 'jwks' | 'introspection', cause: string }
  /** An issuer's `claims` function threw or answered a wrong shape; the token was refused (at most once a minute per issuer). */
  'resource.claims_mapping_failed': { issuer: string, cause: string }
}

/** How each event is recorded: its outcome and reason code. */
export const EVENT_OUTCOMES: { readonly [K in keyof ResourceServerEvents]: { outcome: 'info' | 'failure', reason?: string } } = {
  'resource.keys_changed': { outcome: 'info' },
  'resource.provider_unavailable': { outcome: 'failure', reason: 'GK_PROVIDER_UNAVAILABLE' },
  'resource.claims_mapping_failed': { outcome: 'failure', reason: 'GK_TOKEN_INVALID' }
}

/** Records one event of the catalogue: the payload must be the one its name declares. */
export type RecordEvent = <K extends keyof ResourceServerEvents>(type: K, payload: AuditEvents[K]) => void

/** The event names, for listeners and docs. */
export const RESOURCE_SERVER_EVENTS = ['resource.keys_changed', 'resource.provider_unavailable', 'resource.claims_mapping_failed'] as const satisfies ReadonlyArray<keyof ResourceServerEvents>

/** How often one kind of failure event is recorded per issuer. */
export const FAILURE_EVENT_INTERVAL_MS = 60_000

/** Passes one event per key per interval (failure events of a provider that stays down would flood the trail). */
export class Throttle {
  readonly #last = new Map<string, number>()
  constructor (private readonly now: () => number, private readonly intervalMs = FAILURE_EVENT_INTERVAL_MS) {}

  /** Whether an event under `key` may be recorded now. */
  allow (key: string): boolean {
    const now = this.now()
    const last = this.#last.get(key)
    if (last !== undefined && now - last < this.intervalMs) return false
    this.#last.set(key, now)
    return true
  }
}

/** A short, secret-free description of an error for an event (never a response body, never a token). */
export function causeOf (err: unknown): string {
  const cause = (err as { cause?: unknown } | null)?.cause ?? err
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`.slice(0, 200)
  return String(cause).slice(0, 200)
}

declare module '../core/events.js' {
  interface AuditEvents extends ResourceServerEvents {}
}
