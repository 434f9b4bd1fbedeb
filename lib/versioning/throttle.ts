/**
 * Remembers when a key last fired and lets it fire again only after
 * `intervalMs`. Holds at most `max` keys: past that the least recently fired
 * key is forgotten (it may then fire early, never stay silent for good), so a
 * caller rotating IPs cannot grow memory without bound.
 */
export class Throttle {
  readonly #last = new Map<string, number>()

  constructor (private readonly intervalMs: number, private readonly max: number) {}

  /** `true` when `key` has not fired within the interval before `now`; records the firing. */
  take (key: string, now: number): boolean {
    const last = this.#last.get(key)
    if (last !== undefined && now - last < this.intervalMs) return false
    // Re-insert so the Map's order stays "least recently fired first".
    this.#last.delete(key)
    this.#last.set(key, now)
    if (this.#last.size > this.max) {
      const oldest = this.#last.keys().next().value as string
      this.#last.delete(oldest)
    }
    return true
  }

  /** How many keys are remembered. */
  get size (): number {
    return this.#last.size
  }
}
