import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { isLinkLocal, realmPolicy, tokenLifetimeMillis } from "../../src/internal/auth.js"

const now = Date.parse("2026-11-27T12:00:00Z")

describe("tokenLifetimeMillis", () => {
  it("uses expires_in minus a tenth, at most 30 s, and at least the 60 s minimum", () => {
    assert.strictEqual(tokenLifetimeMillis(300, undefined, now), 270_000)
    assert.strictEqual(tokenLifetimeMillis(3600, undefined, now), 3_570_000)
    assert.strictEqual(tokenLifetimeMillis(5, undefined, now), 54_000)
    assert.strictEqual(tokenLifetimeMillis(undefined, undefined, now), 54_000)
    assert.strictEqual(tokenLifetimeMillis(Number.NaN, undefined, now), 54_000)
  })

  it("shortens the lifetime of a token issued a while ago, but ignores clocks far off", () => {
    const issued = new Date(now - 100_000).toISOString()
    assert.strictEqual(tokenLifetimeMillis(300, issued, now), 200_000 - 20_000)
    const future = new Date(now + 600_000).toISOString()
    assert.strictEqual(tokenLifetimeMillis(300, future, now), 270_000, "a server clock ahead of ours")
    const ancient = new Date(now - 3_600_000).toISOString()
    assert.strictEqual(tokenLifetimeMillis(300, ancient, now), 270_000, "a server clock far behind")
    assert.strictEqual(tokenLifetimeMillis(300, "not a date", now), 270_000)
  })
})

describe("realmPolicy", () => {
  const options = { insecure: () => false, trustedRealms: ["login.example.net"] }
  const registry = new URL("https://registry-1.docker.io")
  const allowed = (realm: string, reg = registry) => Either.isRight(realmPolicy(new URL(realm), reg, options))

  it("allows the registry's own site over HTTPS, trusted realms, and loopback", () => {
    assert.isTrue(allowed("https://auth.docker.io/token"))
    assert.isTrue(allowed("https://registry-1.docker.io/token"))
    assert.isTrue(allowed("https://login.example.net/oauth"))
    assert.isTrue(allowed("http://127.0.0.1:9000/token", new URL("http://127.0.0.1:5000")))
  })

  it("refuses other sites, plain HTTP, other schemes and metadata addresses", () => {
    assert.isFalse(allowed("https://evil.example/token"))
    assert.isFalse(allowed("http://auth.docker.io/token"))
    assert.isFalse(allowed("ftp://auth.docker.io/token"))
    assert.isFalse(allowed("https://169.254.169.254/token"))
    assert.isTrue(isLinkLocal("169.254.169.254"))
    assert.isTrue(isLinkLocal("metadata.google.internal"))
    assert.isFalse(isLinkLocal("registry.example"))
  })
})
