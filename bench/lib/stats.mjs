// Medians, formatting and the Markdown table of the benchmark.

export const median = (values) => {
  const xs = values.filter((v) => typeof v === "number" && Number.isFinite(v)).sort((a, b) => a - b)
  if (xs.length === 0) return undefined
  const mid = Math.floor(xs.length / 2)
  return xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2
}

export const fmt = (value, digits = 2) => (value === undefined ? "—" : value.toFixed(digits))

/** MB = 10^6 bytes, as curl and the DESIGN figures count. */
export const mbps = (bytes, seconds) => (bytes > 0 && seconds > 0 ? bytes / seconds / 1e6 : undefined)

/** A Markdown table from a header and rows of cells (strings). */
export const markdownTable = (header, rows) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)))
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(" | ")} |`
  return [line(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n")
}

/**
 * Start counting this process's CPU (user + system); the returned function gives the seconds
 * since: an operation's own CPU, without Node's start-up and module loading.
 */
export const cpuClock = () => {
  const started = process.cpuUsage()
  return () => {
    const used = process.cpuUsage(started)
    return (used.user + used.system) / 1e6
  }
}
