import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** One fenced block of a Markdown page. */
export interface Block {
  /** Page path relative to the repository root, e.g. `docs/jwt.md`. */
  file: string
  /** 1-based line of the opening fence. */
  line: number
  /** First word of the info string (`ts`, `sh`, `json`...). */
  lang: string
  /** Remaining words of the info string (`fragment`, `norun`...). */
  flags: string[]
  code: string
}

/** The pages whose blocks are tested: README.md and every docs/*.md, found at run time. */
export function pages (root: string): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`)
  return ['README.md', ...docs]
}

/** The fenced blocks of one page, in order; fences may be indented (inside list items) and use ``` or ~~~. */
export function blocksOf (root: string, file: string): Block[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n')
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(.*)$/.exec(lines[i] ?? '')
    if (open === null) continue
    const [, indent = '', fence = '```', info = ''] = open
    const body: string[] = []
    let j = i + 1
    for (; j < lines.length; j++) {
      const line = lines[j] ?? ''
      if (line.trim().startsWith(fence) && line.trim().replace(/[`~]/g, '') === '') break
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart())
    }
    const [lang = '', ...flags] = info.trim().split(/\s+/).filter(Boolean)
    blocks.push({ file, line: i + 1, lang: lang.toLowerCase(), flags, code: body.join('\n') + '\n' })
    i = j
  }
  return blocks
}
