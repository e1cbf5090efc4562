/**
 * Where each file of a tar archive lies: name → byte offset and size of its data, read from the
 * 512-byte headers alone (the data between them is skipped with positioned reads, never read).
 * `tar-stream`'s extractor can only hand out entries in order as a one-shot stream, and an image
 * archive's blobs are needed in manifest order, more than once when an upload is retried: with
 * offsets every blob is a re-readable file range. Understands ustar (name + prefix), GNU long
 * names (`L`), PAX `path` / `linkpath` / `size` records (`x`), base-256 sizes, and symbolic and hard
 * links (docker save's legacy layout links repeated layers).
 *
 * @internal
 */
import * as Fs from "node:fs/promises"
import * as Path from "node:path"

/** A regular file's data in the archive. */
export interface TarEntry {
  readonly offset: number
  readonly size: number
}

const block = 512

const text = (header: Buffer, start: number, length: number) => {
  const field = header.subarray(start, start + length)
  const end = field.indexOf(0)
  return field.subarray(0, end < 0 ? length : end).toString("utf8")
}

const number = (header: Buffer, start: number, length: number): number => {
  const field = header.subarray(start, start + length)
  if ((field[0]! & 0x80) !== 0) {
    // base-256 (GNU), for sizes above 8 GiB
    let value = field[0]! & 0x7f
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!
    return value
  }
  const octal = text(header, start, length).trim()
  return octal.length === 0 ? 0 : parseInt(octal, 8)
}

const paxRecords = (data: Buffer): Record<string, string> => {
  // each record is "<length> <key>=<value>\n", <length> counting the whole record in bytes
  const records: Record<string, string> = {}
  let position = 0
  while (position < data.length) {
    const space = data.indexOf(0x20, position)
    const length = Number(data.toString("utf8", position, space))
    if (space < 0 || !Number.isInteger(length) || length <= 0) break
    const record = data.toString("utf8", space + 1, position + length - 1)
    const eq = record.indexOf("=")
    if (eq > 0) records[record.slice(0, eq)] = record.slice(eq + 1)
    position += length
  }
  return records
}

const normalize = (name: string) => Path.posix.normalize(name).replace(/^(\.\/)+/, "").replace(/^\/+/, "")

/** Thrown for an archive that is not a tar. */
export class TarFormatError extends Error {
  override readonly name = "TarFormatError"
}

/** Index the regular files of a tar archive (links resolved to their targets). */
export const indexTar = async (path: string): Promise<ReadonlyMap<string, TarEntry>> => {
  const handle = await Fs.open(path, "r")
  try {
    const { size: fileSize } = await handle.stat()
    const files = new Map<string, TarEntry>()
    const links: Array<readonly [string, string]> = []
    const header = Buffer.alloc(block)
    let offset = 0
    let longName: string | undefined
    let longLink: string | undefined
    let pax: Record<string, string> = {}
    while (offset + block <= fileSize) {
      await handle.read(header, 0, block, offset)
      if (header.every((b) => b === 0)) break
      const magic = text(header, 257, 6)
      if (!magic.startsWith("ustar") && offset === 0) throw new TarFormatError("not a tar archive")
      const checksum = number(header, 148, 8)
      let sum = 0
      for (let i = 0; i < block; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!
      if (sum !== checksum) throw new TarFormatError(`bad tar header checksum at byte ${offset}`)
      const type = String.fromCharCode(header[156]! || 48)
      const size = pax.size !== undefined ? Number(pax.size) : number(header, 124, 12)
      const dataOffset = offset + block
      const next = dataOffset + Math.ceil(size / block) * block
      if (type === "L" || type === "K" || type === "x") {
        const data = Buffer.alloc(size)
        await handle.read(data, 0, size, dataOffset)
        if (type === "L") longName = text(data, 0, size)
        else if (type === "K") longLink = text(data, 0, size)
        else pax = { ...pax, ...paxRecords(data) }
        offset = next
        continue
      }
      const prefix = magic.startsWith("ustar") ? text(header, 345, 155) : ""
      const name = normalize(
        pax.path ?? longName ?? (prefix.length > 0 ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100))
      )
      const linkName = pax.linkpath ?? longLink ?? text(header, 157, 100)
      if (type === "0" || type === "7") files.set(name, { offset: dataOffset, size })
      else if (type === "1") links.push([name, normalize(linkName)])
      else if (type === "2") links.push([name, normalize(Path.posix.join(Path.posix.dirname(name), linkName))])
      longName = undefined
      longLink = undefined
      pax = {}
      offset = next
    }
    // links may point at links; a few rounds resolve any sane chain
    for (let round = 0; round < 8; round++) {
      for (const [name, target] of links) {
        const found = files.get(target)
        if (found !== undefined && !files.has(name)) files.set(name, found)
      }
    }
    return files
  } finally {
    await handle.close()
  }
}

/** Read a (small) file of the archive whole. */
export const readEntry = async (path: string, entry: TarEntry): Promise<Buffer> => {
  const handle = await Fs.open(path, "r")
  try {
    const data = Buffer.alloc(entry.size)
    await handle.read(data, 0, entry.size, entry.offset)
    return data
  } finally {
    await handle.close()
  }
}
