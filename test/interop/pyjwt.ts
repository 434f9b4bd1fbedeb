import { execFile, execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'

/** The interpreter with PyJWT and cryptography (`GK_TEST_PYTHON` points elsewhere). */
export const PYTHON = process.env.GK_TEST_PYTHON ?? '/usr/bin/python3'
const SCRIPT = fileURLToPath(new URL('./pyjwt_verify.py', import.meta.url))

/** What PyJWT made of one token. */
export type PyJwtResult = { ok: true, claims: Record<string, unknown>, kid: string } | { ok: false, error: string }

/**
 * Whether PyJWT can run. Otherwise the test is skipped with a visible
 * message, except under CI=true, where a missing PyJWT fails the run.
 */
export function requirePyJwt (t: Test): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import jwt, cryptography'], { stdio: 'ignore' })
    return true
  } catch {
    const reason = `${PYTHON} cannot import jwt and cryptography`
    if (process.env.CI === 'true') t.fail(`${reason}; PyJWT is required when CI=true (apt-get install python3-jwt python3-cryptography)`)
    else t.comment(`SKIPPING the PyJWT checks: ${reason}. Install python3-jwt or set GK_TEST_PYTHON (required when CI=true).`)
    return false
  }
}

/** Verifies `tokens` with PyJWT's PyJWKClient against the JWKS at `jwks`. */
export async function pyjwtVerify (job: { jwks: string, issuer: string, audience: string, algorithm: string, tokens: string[] }): Promise<PyJwtResult[]> {
  return await new Promise((resolve, reject) => {
    const child = execFile(PYTHON, [SCRIPT], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`PyJWT failed: ${stderr || err.message}`))
      else resolve(JSON.parse(stdout) as PyJwtResult[])
    })
    child.stdin?.end(JSON.stringify(job))
  })
}
