import type { Block } from './blocks.js'

/** A complete ```ts block with the ```ts fragment blocks that extend it, as one module. */
export interface Program {
  /** File name in the consumer folder, e.g. `docs_jwt_md_42.ts`. */
  name: string
  file: string
  line: number
  /** `norun`: type-checked only. */
  run: boolean
  code: string
  /** For each line of `code` (0-based), the page line it comes from. */
  lines: number[]
  /** Shell blocks of the page after this program and before the next one, run against its server. */
  shell: Block[]
}

const TS = new Set(['ts', 'typescript'])
const SHELL = new Set(['sh', 'bash', 'shell', 'console'])

/** Groups a page's blocks into programs; returns errors for blocks that break the convention. */
export function programsOf (blocks: Block[]): { programs: Program[], errors: string[] } {
  const programs: Program[] = []
  const errors: string[] = []
  let current: Program | null = null
  const add = (p: Program, b: Block): void => {
    const body = b.code.replace(/\n$/, '').split('\n')
    p.code += body.join('\n') + '\n'
    body.forEach((_, i) => p.lines.push(b.line + 1 + i))
  }
  for (const b of blocks) {
    if (TS.has(b.lang)) {
      const unknown = b.flags.filter((f) => f !== 'fragment' && f !== 'norun')
      if (unknown.length > 0) errors.push(`${b.file}:${b.line}: unknown flag(s) ${unknown.join(', ')} (use \`ts\`, \`ts norun\` or \`ts fragment\`)`)
      if (b.flags.includes('fragment')) {
        if (current === null) errors.push(`${b.file}:${b.line}: a \`ts fragment\` block must follow a complete \`ts\` block`)
        else add(current, b)
        continue
      }
      current = {
        name: `${b.file.replace(/[^a-z0-9]+/gi, '_')}_${b.line}.ts`,
        file: b.file,
        line: b.line,
        run: !b.flags.includes('norun'),
        code: '',
        lines: [],
        shell: []
      }
      add(current, b)
      programs.push(current)
    } else if (SHELL.has(b.lang) && !b.flags.includes('norun')) {
      if (current === null || !current.run) {
        errors.push(`${b.file}:${b.line}: a shell block that is run must follow a \`ts\` program that listens (or be marked \`sh norun\`)`)
      } else {
        current.shell.push(b)
      }
    }
  }
  for (const p of programs) {
    // Every block is a module, even one without imports, so top-level names never clash.
    p.code += 'export {}\n'
  }
  return { programs, errors }
}
