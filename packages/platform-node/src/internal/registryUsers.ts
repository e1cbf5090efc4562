/**
 * The users of `ocireg registry serve --auth user:password` and `--htpasswd FILE`: a check of a
 * user and password that the test registry calls for every request with Basic credentials (and
 * at its token endpoint). Password files hold bcrypt hashes (`htpasswd -B`), the only kind
 * distribution's `htpasswd` auth accepts; a successful check is remembered by a SHA-256 of the
 * password, so a client that sends Basic credentials with every request does not pay bcrypt's cost
 * each time. Passwords are never logged or kept in clear beyond the command line they came from.
 *
 * @internal
 */
import bcrypt from "bcryptjs"
import * as Crypto from "node:crypto"

/** A user's check: a clear password (from `--auth`) or a bcrypt hash (from a password file). */
type Secret = { readonly _tag: "Clear"; readonly password: string } | { readonly _tag: "Bcrypt"; readonly hash: string }

/** The failure to read a password file or an `--auth` value. */
export class UsersError extends Error {}

/** `user:password` pairs. The password may contain `:`; the user may not be empty. */
export const parsePairs = (pairs: ReadonlyArray<string>): Map<string, Secret> => {
  const users = new Map<string, Secret>()
  for (const pair of pairs) {
    const colon = pair.indexOf(":")
    // the value is not echoed: it holds a password
    if (colon <= 0) throw new UsersError("--auth takes user:password (a user name, a colon, then the password)")
    users.set(pair.slice(0, colon), { _tag: "Clear", password: pair.slice(colon + 1) })
  }
  return users
}

/** The lines `user:$2y$…` of an htpasswd file; blank lines and `#` comments are skipped. */
export const parseHtpasswd = (text: string, file: string): Map<string, Secret> => {
  const users = new Map<string, Secret>()
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim()
    if (line === "" || line.startsWith("#")) continue
    const colon = line.indexOf(":")
    const hash = line.slice(colon + 1)
    if (colon <= 0 || !/^\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
      throw new UsersError(`${file}:${i + 1}: not a user:bcrypt-hash line (make one with htpasswd -B)`)
    }
    users.set(line.slice(0, colon), { _tag: "Bcrypt", hash })
  }
  return users
}

const sha256 = (text: string): string => Crypto.createHash("sha256").update(text).digest("hex")

const equal = (a: string, b: string): boolean => {
  const x = Buffer.from(sha256(a))
  const y = Buffer.from(sha256(b))
  return Crypto.timingSafeEqual(x, y)
}

/** The check the test registry calls. */
export const check = (users: ReadonlyMap<string, Secret>): (user: string, password: string) => boolean => {
  const verified = new Map<string, string>()
  return (user, password) => {
    const secret = users.get(user)
    if (secret === undefined) return false
    if (secret._tag === "Clear") return equal(secret.password, password)
    const digest = sha256(password)
    if (verified.get(user) === digest) return true
    // Go's bcrypt writes $2a$ and Apache's htpasswd $2y$: the same algorithm, which bcryptjs checks as $2b$
    const ok = bcrypt.compareSync(password, secret.hash.replace(/^\$2[xy]\$/, "$2b$"))
    if (ok) verified.set(user, digest)
    return ok
  }
}
