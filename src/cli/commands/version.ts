import { commit, version } from '../../version'
import { parseArgs } from '../args'
import { type CommandIO, exitCodes } from '../io'

export function versionCommand(argv: readonly string[], io: CommandIO): number {
  const { switches } = parseArgs(argv, { settings: false, switches: ['json'] })
  const info = { version, commit, bun: Bun.version, platform: `${process.platform}-${process.arch}` }
  io.out(
    switches.has('json')
      ? `${JSON.stringify(info)}\n`
      : `ledgerd ${version} (commit ${commit}, bun ${Bun.version}, ${info.platform})\n`,
  )
  return exitCodes.ok
}
