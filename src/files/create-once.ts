import { closeSync, fsyncSync, linkSync, openSync, unlinkSync, writeSync } from 'node:fs'

/**
 * Creates `path` with `contents` unless it exists, for secrets generated on first start (signing keys).
 * The contents are written in full under a temporary name, fsynced, then hard-linked into place: link()
 * fails if the name exists, so processes starting at once all end up with the first one's file, and none
 * can read a file another has created but not yet filled (or that a crash left empty).
 */
export function createFileOnce(path: string, contents: string | Uint8Array, mode: number): void {
  const temporary = `${path}.${crypto.randomUUID()}.tmp`
  const fd = openSync(temporary, 'wx', mode)
  try {
    writeSync(fd, typeof contents === 'string' ? Buffer.from(contents) : contents)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  try {
    linkSync(temporary, path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  } finally {
    unlinkSync(temporary)
  }
}
