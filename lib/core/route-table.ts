/** One route (one method) of Fastify's route table. */
export interface TableRoute {
  method: string
  /** The route's URL, rebuilt from the printed tree (best effort: see {@link parseRouteTable}). */
  url: string
}

const BRANCH = /^(?:[│ ] {3})*[├└]── /
const CONTINUATION = /^(?:[│ ] {3})+/
const ROUTES = /^(.*) \(([A-Z]+(?:, [A-Z]+)*)\)(?: \{.*\})?$/

/**
 * The routes of Fastify's route table, read from
 * `app.printRoutes({ commonPrefix: false })` (Fastify has no other public
 * way to list routes): one entry per method and constraint set, so the
 * count is exact. URLs are rebuilt from the tree; they are exact for static
 * and parametric paths, while find-my-way prints a wildcard without the
 * path before it and parameters of one position as `:a|:b`.
 */
export function parseRouteTable (text: string): TableRoute[] {
  const out: TableRoute[] = []
  // The full URL of the last node printed at each depth.
  const urls: string[] = []
  for (const line of text.split('\n')) {
    let depth: number
    let rest: string
    const branch = BRANCH.exec(line)
    if (branch !== null) {
      depth = (branch[0].length - 4) / 4
      rest = line.slice(branch[0].length)
    } else {
      // A second route of the same node (other constraints), printed under it without a branch.
      const cont = CONTINUATION.exec(line)
      if (cont === null) continue
      depth = cont[0].length / 4 - 1
      rest = line.slice(cont[0].length)
    }
    const m = ROUTES.exec(rest)
    if (m === null) continue
    const key = m[1]
    const url = `${depth === 0 ? '' : urls[depth - 1] ?? ''}${key}`
    urls[depth] = url
    urls.length = depth + 1
    for (const method of (m[2]).split(', ')) out.push({ method, url })
  }
  return out
}
