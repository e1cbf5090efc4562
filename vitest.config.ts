import { defineConfig } from "vitest/config"
import projects from "./vitest.workspace.js"

export default defineConfig({
  test: {
    projects,
    // the default output, then a summary of every skipped suite and the packages that enable it
    reporters: ["default", "./test-support/skipReport.ts"]
  }
})
