import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import ts from 'typescript'

const repoRoot = resolve(import.meta.dir, '../..')

/**
 * The strict schema check the JSON validators lack: a generated TypeScript file of object literals, each
 * after a `// <label>` line and written `satisfies <Type>`, so the compiler's excess-property check
 * refuses any field the type does not have, anywhere in the object. One compiler run; returns one message
 * per problem, named by the nearest label above it (an empty list: every object fits its type).
 */
export function literalTypeErrors(name: string, text: string): string[] {
  const dir = join(repoRoot, 'node_modules/.cache', name, `${process.pid}-${Date.now()}`)
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'literals.ts')
  writeFileSync(file, text)
  try {
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ESNext,
      module: ts.ModuleKind.Preserve,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      types: [],
    })
    const source = program.getSourceFile(file)
    return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')
      if (diagnostic.file !== source || diagnostic.start === undefined || !source) return message
      const before = source.text.slice(0, diagnostic.start)
      const label = before.slice(before.lastIndexOf('\n// ') + 4).split('\n')[0]
      const line = source.getLineAndCharacterOfPosition(diagnostic.start).line + 1
      return `${label} (line ${line}): ${message}`
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
