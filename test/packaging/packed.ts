import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root. */
export const root = fileURLToPath(new URL('../..', import.meta.url))

/** Drivers and their types that a consumer of another store does not install. */
export const LEFT_OUT = new Set(['better-sqlite3', 'pg', 'ioredis', '@types/better-sqlite3', '@types/pg', 'fastify-gatekeeper', '.bin', '.package-lock.json'])

/** A consumer project: the packed tarball unpacked into its node_modules. */
export interface Consumer { dir: string, files: string[], remove: () => void }

/**
 * Packs the package as `npm publish` would (from the built dist/) and unpacks
 * it into `node_modules/fastify-gatekeeper` of a temporary project whose other
 * dependencies link to this repository's, without the optional drivers.
 */
export function packedConsumer (): Consumer {
  if (!existsSync(join(root, 'dist/index.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' })
  const dir = mkdtempSync(join(tmpdir(), 'gk-packed-'))
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' })
  const [info] = JSON.parse(out) as Array<{ filename: string, files: Array<{ path: string }> }>
  if (info === undefined) throw new Error('npm pack gave no tarball')
  const modules = join(dir, 'node_modules')
  const pkg = join(modules, 'fastify-gatekeeper')
  mkdirSync(pkg, { recursive: true })
  execFileSync('tar', ['-xzf', join(dir, info.filename), '-C', pkg, '--strip-components=1'])
  for (const name of readdirSync(join(root, 'node_modules'))) {
    if (name.startsWith('@')) {
      mkdirSync(join(modules, name), { recursive: true })
      for (const sub of readdirSync(join(root, 'node_modules', name))) {
        if (!LEFT_OUT.has(`${name}/${sub}`)) symlinkSync(join(root, 'node_modules', name, sub), join(modules, name, sub))
      }
    } else if (!LEFT_OUT.has(name)) {
      symlinkSync(join(root, 'node_modules', name), join(modules, name))
    }
  }
  return { dir, files: info.files.map((f) => f.path), remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Runs a file of the consumer with this Node; returns its output, throws with its stderr. */
export function run (consumer: Consumer, file: string, node = process.execPath): string {
  return execFileSync(node, [file], { cwd: consumer.dir, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })
}
