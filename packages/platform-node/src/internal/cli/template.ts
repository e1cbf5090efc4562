/**
 * `--format`: a small subset of Go's text/template, the language crane, regctl, skopeo and docker
 * users already write their formats in.
 *
 * - `{{.}}` the value, `{{.a.b}}` a field (a missing field prints nothing), `{{.layers.0.digest}}`
 *   an array element;
 * - `{{json .a}}` the value as compact JSON;
 * - `{{range .list}}…{{end}}` once per element (inside, `.` is the element), `{{if .a}}…{{else}}…{{end}}`;
 * - strings print as they are, numbers and booleans as JSON, objects and arrays as JSON;
 * - `\n` and `\t` in the text are a newline and a tab (shells make real ones awkward to type).
 *
 * @internal
 */

type Node =
  | { readonly _tag: "Text"; readonly text: string }
  | { readonly _tag: "Print"; readonly path: ReadonlyArray<string>; readonly json: boolean }
  | { readonly _tag: "Range"; readonly path: ReadonlyArray<string>; readonly body: ReadonlyArray<Node> }
  | {
    readonly _tag: "If"
    readonly path: ReadonlyArray<string>
    readonly then: ReadonlyArray<Node>
    readonly otherwise: ReadonlyArray<Node>
  }

/** A `--format` template that cannot be parsed. */
export class TemplateError extends Error {
  override readonly name = "TemplateError"
}

/** A parsed template. */
export interface Template {
  readonly render: (value: unknown) => string
}

const parsePath = (token: string): ReadonlyArray<string> => {
  if (token === ".") return []
  if (!/^(\.[A-Za-z0-9_-]+)+$/.test(token)) throw new TemplateError(`not a field path: ${token}`)
  return token.slice(1).split(".")
}

/** Parse a template; throws `TemplateError` on a syntax error. */
export const parse = (source: string): Template => {
  const tokens: Array<{ readonly action: boolean; readonly text: string }> = []
  let rest = source
  while (rest.length > 0) {
    const open = rest.indexOf("{{")
    if (open < 0) {
      tokens.push({ action: false, text: rest })
      break
    }
    if (open > 0) tokens.push({ action: false, text: rest.slice(0, open) })
    const close = rest.indexOf("}}", open)
    if (close < 0) throw new TemplateError("unclosed {{")
    tokens.push({ action: true, text: rest.slice(open + 2, close).trim() })
    rest = rest.slice(close + 2)
  }
  let position = 0
  // parse nodes until {{end}} or {{else}} (returned as the terminator) or the end
  const parseNodes = (): { nodes: Array<Node>; end: "end" | "else" | undefined } => {
    const nodes: Array<Node> = []
    while (position < tokens.length) {
      const token = tokens[position++]!
      if (!token.action) {
        nodes.push({ _tag: "Text", text: token.text.replace(/\\n/g, "\n").replace(/\\t/g, "\t") })
        continue
      }
      const words = token.text.split(/\s+/).filter((w) => w.length > 0)
      const [head, arg, ...extra] = words
      if (head === "end" || head === "else") {
        if (arg !== undefined) throw new TemplateError(`{{${head}}} takes nothing`)
        return { nodes, end: head }
      }
      if (head === "range" || head === "if") {
        if (arg === undefined || extra.length > 0) throw new TemplateError(`{{${head}}} needs one field path`)
        const path = parsePath(arg)
        const body = parseNodes()
        if (body.end === undefined) throw new TemplateError(`{{${head}}} without {{end}}`)
        if (head === "range") {
          if (body.end === "else") throw new TemplateError("{{range}} has no {{else}} here")
          nodes.push({ _tag: "Range", path, body: body.nodes })
          continue
        }
        let otherwise: Array<Node> = []
        if (body.end === "else") {
          const tail = parseNodes()
          if (tail.end !== "end") throw new TemplateError("{{else}} without {{end}}")
          otherwise = tail.nodes
        }
        nodes.push({ _tag: "If", path, then: body.nodes, otherwise })
        continue
      }
      if (head === "json") {
        if (arg === undefined || extra.length > 0) throw new TemplateError("{{json}} needs one field path")
        nodes.push({ _tag: "Print", path: parsePath(arg), json: true })
        continue
      }
      if (head === undefined || arg !== undefined) throw new TemplateError(`unknown action {{${token.text}}}`)
      nodes.push({ _tag: "Print", path: parsePath(head), json: false })
    }
    return { nodes, end: undefined }
  }
  const top = parseNodes()
  if (top.end !== undefined) throw new TemplateError(`{{${top.end}}} without {{range}} or {{if}}`)
  return { render: (value) => renderNodes(top.nodes, value) }
}

const lookup = (value: unknown, path: ReadonlyArray<string>): unknown => {
  let current = value
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined
    current = (current as Record<string, unknown>)[key]
  }
  return current
}

const show = (value: unknown): string => {
  if (value === undefined || value === null) return ""
  if (typeof value === "string") return value
  return JSON.stringify(value)
}

const truthy = (value: unknown): boolean =>
  !(value === undefined || value === null || value === false || value === 0 || value === "" ||
    (Array.isArray(value) && value.length === 0) ||
    (typeof value === "object" && Object.keys(value as object).length === 0))

const renderNodes = (nodes: ReadonlyArray<Node>, value: unknown): string =>
  nodes.map((node) => {
    switch (node._tag) {
      case "Text":
        return node.text
      case "Print": {
        const found = lookup(value, node.path)
        return node.json ? JSON.stringify(found ?? null) : show(found)
      }
      case "Range": {
        const found = lookup(value, node.path)
        const items = Array.isArray(found)
          ? found
          : found !== null && typeof found === "object"
          ? Object.values(found)
          : []
        return items.map((item) => renderNodes(node.body, item)).join("")
      }
      case "If":
        return renderNodes(truthy(lookup(value, node.path)) ? node.then : node.otherwise, value)
    }
  }).join("")

/** Render `value` with the template, ending in a newline. */
export const renderLine = (template: Template, value: unknown): string => {
  const text = template.render(value)
  return text.endsWith("\n") ? text : `${text}\n`
}
