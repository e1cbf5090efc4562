/**
 * The users of `ocireg registry serve --auth` / `--htpasswd`: pairs with colons in passwords,
 * bcrypt lines as Apache's htpasswd (`$2y$`) and Go (`$2a$`) write them, refusals that never echo
 * a password.
 */
import { assert, describe, it } from "@effect/vitest"
import bcrypt from "bcryptjs"
import * as Users from "../src/internal/registryUsers.js"

describe("registry serve users", () => {
  it("--auth pairs: the password is everything after the first colon", () => {
    const check = Users.check(Users.parsePairs(["alice:a:b", "bob:"]))
    assert.isTrue(check("alice", "a:b"))
    assert.isFalse(check("alice", "a"))
    assert.isTrue(check("bob", ""))
    assert.isFalse(check("carol", ""))
  })

  it("refuses a pair without a user, without echoing it", () => {
    assert.throws(() => Users.parsePairs([":secret-value"]), /user:password/)
    try {
      Users.parsePairs(["no-colon-secret"])
      assert.fail("accepted")
    } catch (error) {
      assert.notInclude(String(error), "no-colon-secret")
    }
  })

  it("htpasswd: $2y$ and $2a$ bcrypt lines, comments and blank lines", () => {
    const hash = bcrypt.hashSync("hunter2", 4)
    const text = `# users\n\ncarol:${hash.replace(/^\$2b\$/, "$2y$")}\ndave:${hash.replace(/^\$2b\$/, "$2a$")}\n`
    const check = Users.check(Users.parseHtpasswd(text, "htpasswd"))
    assert.isTrue(check("carol", "hunter2"))
    assert.isTrue(check("carol", "hunter2"), "remembered")
    assert.isFalse(check("carol", "hunter3"))
    assert.isTrue(check("dave", "hunter2"))
    assert.isFalse(check("erin", "hunter2"))
  })

  it("htpasswd: a line that is not bcrypt is refused with its line number, not its content", () => {
    assert.throws(() => Users.parseHtpasswd("ok:$apr1$abc$def\n", "pw"), /pw:1: not a user:bcrypt-hash line/)
    let message = ""
    try {
      Users.parseHtpasswd("x:plain-secret", "pw")
    } catch (error) {
      message = String(error)
    }
    assert.include(message, "pw:1")
    assert.notInclude(message, "plain-secret")
  })
})
