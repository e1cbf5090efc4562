import { assert, describe, it } from "@effect/vitest"
import { parse, renderLine, TemplateError } from "../../src/internal/cli/template.js"

const render = (source: string, value: unknown) => parse(source).render(value)

describe("--format templates", () => {
  const value = {
    digest: "sha256:abc",
    size: 12,
    image: { platform: "linux/amd64", layers: [{ digest: "sha256:l1", size: 1 }, { digest: "sha256:l2", size: 2 }] },
    platforms: [],
    annotations: { a: "1" }
  }

  it("prints fields, nested fields, array elements and the value itself", () => {
    assert.strictEqual(render("{{.digest}} {{ .size }}", value), "sha256:abc 12")
    assert.strictEqual(render("{{.image.platform}}", value), "linux/amd64")
    assert.strictEqual(render("{{.image.layers.1.digest}}", value), "sha256:l2")
    assert.strictEqual(render("[{{.missing.deeper}}]", value), "[]")
    assert.strictEqual(render("{{.}}", "v1.2"), "v1.2")
    assert.strictEqual(render("{{.annotations}}", value), "{\"a\":\"1\"}")
  })

  it("prints JSON, ranges over lists and maps, and branches", () => {
    assert.strictEqual(render("{{json .image.layers.0}}", value), "{\"digest\":\"sha256:l1\",\"size\":1}")
    assert.strictEqual(render("{{json .missing}}", value), "null")
    assert.strictEqual(render("{{range .image.layers}}{{.digest}},{{end}}", value), "sha256:l1,sha256:l2,")
    assert.strictEqual(render("{{range .annotations}}<{{.}}>{{end}}", value), "<1>")
    assert.strictEqual(render("{{if .platforms}}index{{else}}image{{end}}", value), "image")
    assert.strictEqual(render("{{if .image}}{{.image.platform}}{{end}}", value), "linux/amd64")
  })

  it("turns \\n and \\t into a newline and a tab, and renderLine ends with one newline", () => {
    assert.strictEqual(render("{{.digest}}\\t{{.size}}\\n", value), "sha256:abc\t12\n")
    assert.strictEqual(renderLine(parse("{{.size}}"), value), "12\n")
    assert.strictEqual(renderLine(parse("{{.size}}\\n"), value), "12\n")
  })

  it("refuses malformed templates", () => {
    for (
      const bad of [
        "{{.a",
        "{{range .a}}x",
        "{{end}}",
        "{{printf .a}}",
        "{{json}}",
        "{{.a b}}",
        "{{a.b}}",
        "{{if .a}}{{else}}"
      ]
    ) {
      assert.throws(() => parse(bad), TemplateError, undefined, bad)
    }
  })
})
