import { createHash, randomBytes } from 'node:crypto'
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON
} from '@simplewebauthn/server'
import type { NormalizedPasskeysOptions } from './options.js'
import type { PasskeyPort, PasskeyRecord } from './port.js'

/** What a ceremony's challenge is for (the store's challenge kinds). */
export type CeremonyKind = 'webauthn_registration' | 'webauthn_authentication'

/** A ceremony started: the handle the client sends back, and the options for `navigator.credentials`. */
export interface Started<O> {
  /** Opaque, single use; stored only as a hash. */
  challenge: string
  options: O
  expiresAt: Date
}

/** Why a ceremony failed; never told to the client, only audited. */
export type FailureCause =
  | 'unknown_challenge' | 'wrong_binding' | 'unknown_credential' | 'other_user'
  | 'verification_failed' | 'counter_regression' | 'too_many'

/** A ceremony refused: `cause` goes to the audit trail, the client sees one answer. */
export class CeremonyFailure extends Error {
  constructor (readonly reason: FailureCause, readonly credentialId: string | null = null, readonly userId: string | null = null, readonly counters?: { stored: number, presented: number }) {
    super(`passkey ceremony refused: ${reason}`)
  }
}

/** An assertion that checked out. */
export interface Asserted {
  credential: PasskeyRecord
  userVerified: boolean
}

const hash = (handle: string): string => createHash('sha256').update(handle, 'utf8').digest('hex')

function fail (cause: FailureCause, credentialId: string | null = null, userId: string | null = null): never {
  throw new CeremonyFailure(cause, credentialId, userId)
}

/** The user handle of WebAuthn (§5.4.3: opaque, no personal data, at most 64 bytes): the user's id. */
export function userHandle (userId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(userId, 'utf8'))
}

/**
 * The WebAuthn ceremonies over @simplewebauthn/server. Every challenge is
 * random, single use (consumed atomically by the store before anything is
 * verified), expires, and is bound: registration to the user and the session
 * that asked for it, a second factor to the login attempt it belongs to.
 */
export class Ceremonies {
  constructor (private readonly port: PasskeyPort, private readonly o: NormalizedPasskeysOptions, private readonly now: () => number) {}

  async #begin<O> (kind: CeremonyKind, userId: string | null, binding: string, challenge: string, options: O): Promise<Started<O>> {
    const handle = randomBytes(32).toString('base64url')
    const expiresAt = new Date(this.now() + this.o.challengeMs)
    await this.port.challenges.create({ hash: hash(handle), kind, userId, data: { binding, challenge }, expiresAt })
    return { challenge: handle, options, expiresAt }
  }

  /** Consumes the challenge behind `handle`; refuses one of another kind, user or binding. */
  async #take (kind: CeremonyKind, handle: string, userId: string | null, binding: string): Promise<string> {
    const record = await this.port.challenges.consume(hash(handle), kind, new Date(this.now()))
    if (record === null) fail('unknown_challenge')
    if (record.userId !== userId || record.data.binding !== binding || typeof record.data.challenge !== 'string') fail('wrong_binding', null, record.userId)
    return record.data.challenge
  }

  /** Options to create a passkey for `user`, bound to `binding` (the session). */
  async registrationOptions (user: { id: string, username: string }, binding: string): Promise<Started<PublicKeyCredentialCreationOptionsJSON>> {
    const existing = await this.port.credentials.listByUser(user.id)
    if (existing.length >= this.o.maxPerUser) fail('too_many', null, user.id)
    const options = await generateRegistrationOptions({
      rpName: this.o.rpName,
      rpID: this.o.rpID,
      userName: user.username,
      userDisplayName: user.username,
      userID: userHandle(user.id),
      timeout: this.o.challengeMs,
      attestationType: 'none',
      // The same authenticator twice would be one factor counted as two.
      excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports })),
      // Discoverable, so the passkey can sign in without a username; verified (PIN, biometrics), so it is a factor on its own.
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' }
    })
    return await this.#begin('webauthn_registration', user.id, binding, options.challenge, options)
  }

  /** Verifies a registration and stores the passkey. */
  async register (userId: string, binding: string, handle: string, response: RegistrationResponseJSON, name: string): Promise<PasskeyRecord> {
    const expected = await this.#take('webauthn_registration', handle, userId, binding)
    let verified
    try {
      verified = await verifyRegistrationResponse({ response, expectedChallenge: expected, expectedOrigin: [...this.o.origins], expectedRPID: this.o.rpID, requireUserVerification: true })
    } catch {
      fail('verification_failed', typeof response.id === 'string' ? response.id : null, userId)
    }
    if (!verified.verified) fail('verification_failed', response.id, userId)
    const info = verified.registrationInfo
    // Counted again after the ceremony: two tabs may have started one each.
    if ((await this.port.credentials.listByUser(userId)).length >= this.o.maxPerUser) fail('too_many', null, userId)
    return await this.port.credentials.create({
      id: info.credential.id,
      userId,
      name,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      transports: info.credential.transports ?? response.response.transports ?? [],
      backupEligible: info.credentialDeviceType === 'multiDevice',
      backedUp: info.credentialBackedUp
    })
  }

  /**
   * Options to sign in with a passkey. Without `userId` (usernameless) the
   * list of allowed credentials is empty, and the authenticator offers the
   * discoverable ones it holds; with it (a second factor), the user's own.
   */
  async authenticationOptions (binding: string, userId: string | null = null): Promise<Started<PublicKeyCredentialRequestOptionsJSON>> {
    const allow = userId === null ? [] : (await this.port.credentials.listByUser(userId)).map((c) => ({ id: c.id, transports: c.transports }))
    const options = await generateAuthenticationOptions({ rpID: this.o.rpID, allowCredentials: allow, userVerification: 'required', timeout: this.o.challengeMs })
    return await this.#begin('webauthn_authentication', userId, binding, options.challenge, options)
  }

  /**
   * Verifies an assertion: the challenge (single use, this kind and
   * binding), the credential (registered, of `userId` when given), origin,
   * RP ID, user verification, the signature, then the signature counter,
   * which must grow unless the authenticator keeps none (both zero): a
   * counter at or below the stored one means a second copy of the key.
   */
  async authenticate (handle: string, binding: string, response: AuthenticationResponseJSON, userId: string | null = null): Promise<Asserted> {
    const expected = await this.#take('webauthn_authentication', handle, userId, binding)
    const id = typeof response.id === 'string' ? response.id : ''
    const credential = id === '' || response.rawId !== id ? null : await this.port.credentials.findById(id)
    if (credential === null) fail('unknown_credential', id === '' ? null : id, userId)
    if (userId !== null && credential.userId !== userId) fail('other_user', id, userId)
    // WebAuthn §7.2 step 6: a returned user handle must be the credential owner's.
    const returned = response.response.userHandle
    if (returned !== undefined && returned !== null && returned !== Buffer.from(userHandle(credential.userId)).toString('base64url')) fail('other_user', id, credential.userId)
    let verified
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: expected,
        expectedOrigin: [...this.o.origins],
        expectedRPID: this.o.rpID,
        // The counter is compared below, after the signature, so that a clone is told from a forgery.
        credential: { id: credential.id, publicKey: new Uint8Array(Buffer.from(credential.publicKey, 'base64url')), counter: 0, transports: credential.transports },
        requireUserVerification: true
      })
    } catch {
      fail('verification_failed', id, credential.userId)
    }
    if (!verified.verified) fail('verification_failed', id, credential.userId)
    const presented = verified.authenticationInfo.newCounter
    const at = new Date(this.now())
    // The store compares and sets atomically: of two assertions with one counter value, one passes.
    const update = await this.port.credentials.updateCounter(id, presented, at, verified.authenticationInfo.credentialBackedUp)
    if (update === 'regressed') {
      const stored = (await this.port.credentials.findById(id))?.counter ?? credential.counter
      throw new CeremonyFailure('counter_regression', id, credential.userId, { stored, presented })
    }
    if (update !== 'ok') fail('unknown_credential', id, credential.userId)
    return { credential: { ...credential, counter: presented, lastUsedAt: at, backedUp: verified.authenticationInfo.credentialBackedUp }, userVerified: verified.authenticationInfo.userVerified }
  }
}
