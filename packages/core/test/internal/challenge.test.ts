import { assert, describe, it } from "@effect/vitest"
import {
  bearerError,
  type Challenge,
  formatScopes,
  mergeScopes,
  parseChallenges,
  parseScopes
} from "../../src/internal/challenge.js"

/** Challenges as plain objects (params are null-prototype records). */
const parse = (header: string) =>
  parseChallenges(header).map((c: Challenge) => ({
    scheme: c.scheme,
    params: { ...c.params },
    ...(c.token68 !== undefined ? { token68: c.token68 } : {})
  }))

describe("parseChallenges", () => {
  const table: ReadonlyArray<
    readonly [string, string, ReadonlyArray<{ scheme: string; params: Record<string, string>; token68?: string }>]
  > = [
    [
      "Docker Hub",
      `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"`,
      [{
        scheme: "bearer",
        params: {
          realm: "https://auth.docker.io/token",
          service: "registry.docker.io",
          scope: "repository:library/alpine:pull"
        }
      }]
    ],
    [
      "GHCR",
      `Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:user/image:pull"`,
      [{
        scheme: "bearer",
        params: { realm: "https://ghcr.io/token", service: "ghcr.io", scope: "repository:user/image:pull" }
      }]
    ],
    [
      "ECR (Basic)",
      `Basic realm="https://123.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com"`,
      [{
        scheme: "basic",
        params: { realm: "https://123.dkr.ecr.us-east-1.amazonaws.com/", service: "ecr.amazonaws.com" }
      }]
    ],
    [
      "distribution insufficient_scope with push,pull",
      `Bearer realm="https://auth.example.com/token",service="registry.example.com",` +
      `scope="repository:samalba/my-app:pull,push",error="insufficient_scope"`,
      [{
        scheme: "bearer",
        params: {
          realm: "https://auth.example.com/token",
          service: "registry.example.com",
          scope: "repository:samalba/my-app:pull,push",
          error: "insufficient_scope"
        }
      }]
    ],
    [
      "Harbor",
      `Bearer realm="https://harbor.example.com/service/token",service="harbor-registry",` +
      `scope="repository:library/nginx:pull,push"`,
      [{
        scheme: "bearer",
        params: {
          realm: "https://harbor.example.com/service/token",
          service: "harbor-registry",
          scope: "repository:library/nginx:pull,push"
        }
      }]
    ],
    [
      "distribution htpasswd",
      `Basic realm="Registry Realm"`,
      [{ scheme: "basic", params: { realm: "Registry Realm" } }]
    ],
    [
      "several challenges in one header",
      `Basic realm="x", Bearer realm="y",service="z"`,
      [{ scheme: "basic", params: { realm: "x" } }, { scheme: "bearer", params: { realm: "y", service: "z" } }]
    ],
    [
      "several header lines joined by fetch",
      `Bearer realm="https://a/token",service="a", Basic realm="b"`,
      [{ scheme: "bearer", params: { realm: "https://a/token", service: "a" } }, {
        scheme: "basic",
        params: { realm: "b" }
      }]
    ],
    [
      "escaped quote and backslash in a quoted string",
      `Basic realm="a\\"b\\\\c"`,
      [{ scheme: "basic", params: { realm: `a"b\\c` } }]
    ],
    [
      "comma inside a quoted string",
      `Bearer scope="repository:a:pull,push", error="insufficient_scope"`,
      [{ scheme: "bearer", params: { scope: "repository:a:pull,push", error: "insufficient_scope" } }]
    ],
    [
      "unquoted token values",
      `Bearer realm=https://auth.example.com/token, service=registry, error=invalid_token`,
      [{ scheme: "bearer", params: { realm: "https", service: "registry", error: "invalid_token" } }]
    ],
    [
      "token68",
      `Negotiate abc==`,
      [{ scheme: "negotiate", params: {}, token68: "abc==" }]
    ],
    [
      "token68 followed by another challenge",
      `Negotiate a+b/c=, Basic realm="r"`,
      [{ scheme: "negotiate", params: {}, token68: "a+b/c=" }, { scheme: "basic", params: { realm: "r" } }]
    ],
    [
      "scheme without parameters",
      `Bearer`,
      [{ scheme: "bearer", params: {} }]
    ],
    [
      "case of scheme and parameter names is folded, values kept",
      `BEARER Realm="https://Auth/Token",SERVICE="Reg"`,
      [{ scheme: "bearer", params: { realm: "https://Auth/Token", service: "Reg" } }]
    ],
    [
      "extra whitespace and BWS around '='",
      `  Bearer   realm = "x" ,  service\t=\t"y"  `,
      [{ scheme: "bearer", params: { realm: "x", service: "y" } }]
    ],
    [
      "empty list elements",
      `, ,Bearer realm="x", ,, service="y",`,
      [{ scheme: "bearer", params: { realm: "x", service: "y" } }]
    ],
    [
      "duplicate parameters: first wins",
      `Bearer realm="first", realm="second", REALM="third"`,
      [{ scheme: "bearer", params: { realm: "first" } }]
    ],
    [
      "empty quoted value",
      `Bearer realm="", service="s"`,
      [{ scheme: "bearer", params: { realm: "", service: "s" } }]
    ],
    [
      "missing comma between parameters is tolerated",
      `Bearer realm="x" service="y"`,
      [{ scheme: "bearer", params: { realm: "x", service: "y" } }]
    ],
    [
      "unterminated quote drops the broken parameter",
      `Bearer realm="https://auth/token",service="reg`,
      [{ scheme: "bearer", params: { realm: "https://auth/token" } }]
    ],
    [
      "unterminated quote in the first parameter",
      `Bearer realm="abc`,
      [{ scheme: "bearer", params: {} }]
    ],
    [
      "parameter without a value is skipped",
      `Bearer realm="r", scope=, service="s"`,
      [{ scheme: "bearer", params: { realm: "r", service: "s" } }]
    ],
    [
      "a lone `name=` after the scheme is token68 (RFC 7235 grammar)",
      `Bearer realm=, service="s"`,
      [{ scheme: "bearer", params: {}, token68: "realm=" }]
    ],
    [
      "stray characters are skipped",
      `Bearer realm="x"junk, ;;; , service="y", "quoted garbage, with comma"`,
      [{ scheme: "bearer", params: { realm: "x", service: "y" } }]
    ],
    [
      "parameters before any scheme are dropped",
      `realm="x", Bearer realm="y"`,
      [{ scheme: "bearer", params: { realm: "y" } }]
    ],
    ["empty header", ``, []],
    ["only separators", ` , ,\t, `, []],
    ["garbage", `"==="; <> @@`, []]
  ]

  for (const [name, header, expected] of table) {
    it(name, () => {
      assert.deepStrictEqual(parse(header), expected)
    })
  }

  it("params are null-prototype records (no prototype pollution)", () => {
    const [challenge] = parseChallenges(`Bearer __proto__="x", constructor="y"`)
    assert.strictEqual(challenge!.params["__proto__"], "x")
    assert.strictEqual(challenge!.params["constructor"], "y")
    assert.strictEqual(Object.getPrototypeOf({}).polluted, undefined)
    assert.strictEqual(parseChallenges(`Bearer realm="r"`)[0]!.params["toString"], undefined)
  })

  it("hostile inputs finish fast", () => {
    const inputs = [
      ",".repeat(10_000),
      `Bearer ${"a=b, ".repeat(20_000)}`,
      `Bearer realm="${"\\\"".repeat(50_000)}`,
      `Bearer realm="${"x".repeat(200_000)}"`,
      "Bearer ".repeat(20_000),
      "Bearer, ".repeat(20_000),
      `Bearer realm="x"${"\"".repeat(50_000)}`,
      "=".repeat(100_000),
      `Negotiate ${"a".repeat(100_000)}${"=".repeat(100_000)} x`
    ]
    const start = performance.now()
    for (const input of inputs) parseChallenges(input)
    assert.isBelow(performance.now() - start, 1000)
    assert.deepStrictEqual(parseChallenges(",".repeat(10_000)), [])
    assert.strictEqual(parseChallenges("Bearer, ".repeat(20_000)).length, 20_000)
    // `Bearer Bearer Bearer ...`: the second is token68 of the first, the rest is malformed
    assert.strictEqual(parseChallenges("Bearer ".repeat(20_000)).length, 1)
  })
})

describe("bearerError", () => {
  it("insufficient_scope with its scope", () => {
    const [challenge] = parseChallenges(
      `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",` +
        `scope="repository:library/alpine:pull,push",error="insufficient_scope"`
    )
    assert.deepStrictEqual(bearerError(challenge!), {
      error: "insufficient_scope",
      scope: "repository:library/alpine:pull,push"
    })
  })

  it("invalid_token with a description", () => {
    const [challenge] = parseChallenges(`Bearer realm="r", error="invalid_token", error_description="expired"`)
    assert.deepStrictEqual(bearerError(challenge!), { error: "invalid_token", description: "expired" })
  })

  it("no error", () => {
    const [challenge] = parseChallenges(`Bearer realm="r"`)
    assert.deepStrictEqual(bearerError(challenge!), {})
  })
})

describe("parseScopes", () => {
  it("splits on whitespace and drops empty parts", () => {
    assert.deepStrictEqual(parseScopes("  repository:a:pull   registry:catalog:*\trepository:b:push "), [
      "repository:a:pull",
      "registry:catalog:*",
      "repository:b:push"
    ])
    assert.deepStrictEqual(parseScopes(""), [])
  })
})

describe("mergeScopes", () => {
  it("unions the actions of one repository", () => {
    assert.deepStrictEqual(mergeScopes(["repository:a:pull"], ["repository:a:push,pull"]), ["repository:a:pull,push"])
  })

  it("keeps other resources and sorts for a stable cache key", () => {
    assert.deepStrictEqual(
      mergeScopes("repository:b:pull registry:catalog:*", ["repository:a:pull", "registry:catalog:*"]),
      ["registry:catalog:*", "repository:a:pull", "repository:b:pull"]
    )
  })

  it("is order-independent", () => {
    const a = ["repository:x:push", "repository:y:pull"]
    const b = ["repository:y:delete,pull", "repository:x:pull"]
    assert.deepStrictEqual(mergeScopes(a, b), mergeScopes(b, a))
    assert.deepStrictEqual(mergeScopes(a, b), ["repository:x:pull,push", "repository:y:delete,pull"])
  })

  it("handles names with a registry port, plugin classes and malformed entries", () => {
    assert.deepStrictEqual(
      mergeScopes(
        ["repository:localhost:5000/a:pull", "repository(plugin):p:pull", "garbage", "repository:a:"],
        ["repository:localhost:5000/a:push", "garbage", "repository:a:pull"]
      ),
      ["garbage", "repository(plugin):p:pull", "repository:a:pull", "repository:localhost:5000/a:pull,push"]
    )
  })

  it("formatScopes joins with spaces", () => {
    assert.strictEqual(
      formatScopes(mergeScopes("repository:a:pull", "repository:a:push")),
      "repository:a:pull,push"
    )
  })
})
