import type { RedisClient } from './options.js'

/** Options of {@link RedisHealth}. */
export interface RedisHealthOptions {
  /** A command unanswered for this long means Redis stalled (ms, default 200). */
  stallMs?: number
  /** How often Redis is probed while it is held down (ms, default 500). */
  probeMs?: number
  /** Told when Redis is held down: `cause` is the failure, or a {@link RedisStalledError}. */
  onDown?: (cause: Error | null) => void
  /** Told when a probe brought Redis back. */
  onUp?: () => void
}

/** A node-style callback. */
export type Done<T> = (err: Error | null, value?: T) => void

interface Pending { started: number, release: () => void }

/** The error a watched command gets when Redis is declared stalled before it answered. */
export class RedisStalledError extends Error {
  constructor (stallMs: number) {
    super(`Redis did not answer within ${stallMs} ms`)
    this.name = 'RedisStalledError'
  }
}

/**
 * Whether Redis is worth asking, told by the commands themselves.
 *
 * - Not connected: not asked (nothing waits).
 * - Stalled (connected, silent): when the oldest command in flight has gone
 *   unanswered for `stallMs`, Redis is held down and every command still
 *   waiting is released at once with {@link RedisStalledError}, so the
 *   callers take their fallback. A stall costs at most `stallMs` to the
 *   requests already waiting, and nothing to the next ones.
 * - A command failed: held down too.
 *
 * While held down, Redis is probed (PING with the same `stallMs` limit) at
 * once and then every `probeMs`; the first probe answered in time brings
 * it back. No request ever pays for a probe.
 */
export class RedisHealth {
  readonly #client: RedisClient
  readonly #stallMs: number
  readonly #probeMs: number
  readonly #onDown: (cause: Error | null) => void
  readonly #onUp: () => void
  readonly #inflight = new Map<number, Pending>()
  #seq = 0
  #down = false
  #closed = false
  #probing = false
  #stallTimer: NodeJS.Timeout | null = null
  #probeTimer: NodeJS.Timeout | null = null

  constructor (client: RedisClient, options: RedisHealthOptions = {}) {
    this.#client = client
    this.#stallMs = options.stallMs ?? 200
    this.#probeMs = options.probeMs ?? 500
    this.#onDown = options.onDown ?? (() => {})
    this.#onUp = options.onUp ?? (() => {})
  }

  /** Connected, and neither stalled nor failing. */
  get available (): boolean {
    return !this.#down && this.#client.status === 'ready'
  }

  /** Commands sent and not answered yet. */
  get inFlight (): number {
    return this.#inflight.size
  }

  /** A command failed (`cause`, when known): hold Redis down until a probe answers. */
  failed (cause: Error | null = null): void {
    if (this.#down || this.#closed) return
    this.#down = true
    this.#onDown(cause)
    this.#probe().catch(() => {})
  }

  /**
   * Starts a command and watches it: `done` is called exactly once, with
   * the command's outcome, or with {@link RedisStalledError} as soon as
   * Redis is declared stalled.
   */
  watch<T> (start: (done: Done<T>) => void, done: Done<T>): void {
    const id = ++this.#seq
    const finish: Done<T> = (err, value) => {
      if (!this.#inflight.delete(id)) return
      if (err === null || err === undefined) done(null, value)
      else done(err)
    }
    this.#inflight.set(id, { started: performance.now(), release: () => { done(new RedisStalledError(this.#stallMs)) } })
    this.#arm()
    try {
      start(finish)
    } catch (err) {
      finish(err instanceof Error ? err : new Error(String(err)))
    }
  }

  /** {@link watch} for a command that returns a promise. */
  run<T> (command: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.watch<T>((done) => { command().then((v) => { done(null, v) }, done) }, (err, value) => {
        if (err === null) resolve(value as T)
        else reject(err)
      })
    })
  }

  /** Stops the timers (the app is closing). */
  close (): void {
    this.#closed = true
    if (this.#stallTimer !== null) clearTimeout(this.#stallTimer)
    if (this.#probeTimer !== null) clearTimeout(this.#probeTimer)
    this.#stallTimer = null
    this.#probeTimer = null
  }

  // One timer, due when the oldest command in flight turns stallMs old.
  #arm (): void {
    if (this.#stallTimer !== null || this.#closed) return
    const oldest = this.#inflight.values().next().value
    if (oldest === undefined) return
    const due = Math.max(0, oldest.started + this.#stallMs - performance.now())
    this.#stallTimer = setTimeout(() => { this.#check() }, due)
    this.#stallTimer.unref()
  }

  // Timers run before the event loop reads sockets, so a busy process would take an answer
  // that is already there for a missing one. An overdue command is declared stalled only
  // when it is still unanswered after a further turn of the loop (setImmediate runs after
  // the sockets are read).
  #check (): void {
    const entry = this.#inflight.entries().next().value
    if (entry === undefined || this.#closed) {
      this.#stallTimer = null
      return
    }
    const [id, oldest] = entry
    if (performance.now() - oldest.started < this.#stallMs) {
      this.#stallTimer = null
      this.#arm()
      return
    }
    setImmediate(() => {
      setImmediate(() => {
        this.#stallTimer = null
        if (this.#inflight.has(id)) this.#stall()
        else this.#arm()
      })
    })
  }

  #stall (): void {
    this.failed(new RedisStalledError(this.#stallMs))
    const waiting = [...this.#inflight.values()]
    this.#inflight.clear()
    for (const p of waiting) p.release()
  }

  async #probe (): Promise<void> {
    if (this.#closed || !this.#down || this.#probing) return
    this.#probing = true
    let answered = false
    try {
      if (this.#client.status === 'ready') answered = await this.#ping()
    } finally {
      this.#probing = false
    }
    if (answered) {
      this.#down = false
      this.#onUp()
      return
    }
    if (this.#closed || this.#probeTimer !== null) return
    this.#probeTimer = setTimeout(() => {
      this.#probeTimer = null
      this.#probe().catch(() => {})
    }, this.#probeMs)
    this.#probeTimer.unref()
  }

  /** True when Redis answers a PING within stallMs. */
  async #ping (): Promise<boolean> {
    const c = this.#client
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#stallMs)
      timer.unref()
    })
    try {
      const ping = typeof c.ping === 'function' ? c.ping() : c.eval('return 1', 0)
      return await Promise.race([ping.then(() => true, () => false), late])
    } catch {
      return false
    } finally {
      clearTimeout(timer)
    }
  }
}
