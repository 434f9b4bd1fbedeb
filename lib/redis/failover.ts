import type { FastifyBaseLogger } from 'fastify'
import { errors } from '../core/errors.js'
import type { CounterStore, CounterValue, Taken, WindowHits } from '../protection/counters.js'
import type { RedisHealth } from './health.js'

/** How {@link FailoverCounterStore} reaches Redis and what it does without it. */
export interface FailoverOptions {
  /** The shared counters. */
  primary: CounterStore
  /**
   * Whether Redis is worth asking (when not, it is not even tried); told of
   * each failure; runs each command, releasing it early when Redis stalls.
   * A {@link RedisHealth}.
   */
  health: Pick<RedisHealth, 'available' | 'failed' | 'run'>
  /** Fail open: counters used while Redis is unreachable (this instance's memory). `null`: fail closed. */
  fallback: CounterStore | null
  log: FastifyBaseLogger
  /** What is degraded, for the log lines (`'brute-force counters'`). */
  what: string
}

/**
 * Shared counters that survive a Redis outage as configured. Fail open:
 * each instance counts in its own memory until Redis answers again (so
 * brute-force protection weakens to per-instance counting but never
 * stops). Fail closed: every call throws `GK_STORE_UNAVAILABLE` (503).
 * While the client is not connected, or after a failed or stalled command
 * until Redis answers a probe again, Redis is skipped without waiting; a
 * call waiting when Redis stalls falls back once the stall is detected
 * (`stallMs`), so an outage costs no command timeout per request.
 */
export class FailoverCounterStore implements CounterStore {
  readonly #o: FailoverOptions
  #degraded = false

  constructor (options: FailoverOptions) {
    this.#o = options
  }

  /** Whether the last call fell back (or failed) because Redis was unreachable. */
  get degraded (): boolean {
    return this.#degraded
  }

  async #call<T> (op: (c: CounterStore) => Promise<T>): Promise<T> {
    const o = this.#o
    if (o.health.available) {
      try {
        const result = await o.health.run(() => op(o.primary))
        if (this.#degraded) {
          this.#degraded = false
          o.log.info(`gatekeeper: Redis is back; ${o.what} are shared again`)
        }
        return result
      } catch (err) {
        o.health.failed(err instanceof Error ? err : null)
        this.#down(err)
      }
    } else {
      this.#down(null)
    }
    if (o.fallback === null) throw new errors.GK_STORE_UNAVAILABLE()
    return await op(o.fallback)
  }

  #down (err: unknown): void {
    if (this.#degraded) return
    this.#degraded = true
    const o = this.#o
    // Logged once per outage: a flood of logins must not flood the log too.
    o.log.warn({ err: err ?? undefined }, o.fallback === null
      ? `gatekeeper: Redis is unreachable; ${o.what} fail closed (503) until it is back`
      : `gatekeeper: Redis is unreachable; ${o.what} count in this instance's memory until it is back`)
  }

  increment (key: string, ttlMs: number, slide?: boolean): Promise<CounterValue> {
    return this.#call((c) => c.increment(key, ttlMs, slide))
  }

  get (key: string): Promise<CounterValue | null> {
    return this.#call((c) => c.get(key))
  }

  set (key: string, value: number, ttlMs: number): Promise<void> {
    return this.#call((c) => c.set(key, value, ttlMs))
  }

  setIfAbsent (key: string, value: number, ttlMs: number): Promise<boolean> {
    return this.#call((c) => c.setIfAbsent(key, value, ttlMs))
  }

  delete (key: string): Promise<void> {
    return this.#call((c) => c.delete(key))
  }

  hit (key: string, windowMs: number, keep: number): Promise<WindowHits> {
    return this.#call((c) => c.hit(key, windowMs, keep))
  }

  hits (key: string, windowMs: number): Promise<WindowHits> {
    return this.#call((c) => c.hits(key, windowMs))
  }

  take (key: string, windowMs: number, limit: number): Promise<Taken> {
    return this.#call((c) => c.take(key, windowMs, limit))
  }

  release (key: string, id: string): Promise<void> {
    return this.#call((c) => c.release(key, id))
  }
}
