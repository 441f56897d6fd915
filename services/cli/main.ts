/**
 * The evx command line: dispatch to a command, top-level help, and the
 * mapping of every failure to a message and a documented exit code.
 * `runCli` is the whole program without touching `process`, so the demo
 * and tests could drive it in-process; `main` is what scripts/evx.mjs runs.
 */
import { commandHelp, parseCommandArgs } from './args.js';
import { agreementAmend, agreementDraft, agreementList, agreementResume, agreementShow, agreementSign, agreementSuspend, agreementTerminate } from './commands/agreement.js';
import { bundleList, bundleShow } from './commands/bundle.js';
import { fetch } from './commands/fetch.js';
import { keygen } from './commands/keygen.js';
import { logCheckpoint, logKeyCommand, logVerify } from './commands/log.js';
import { receipt } from './commands/receipt.js';
import { registerBoxKey, registerJurisdiction, registerOfficerKey } from './commands/register.js';
import { release } from './commands/release.js';
import { token } from './commands/token.js';
import { upload } from './commands/upload.js';
import { verify } from './commands/verify.js';
import { Context, type Command } from './context.js';
import { CliError, EXIT, EXIT_CODE_HELP, type ExitCode } from './errors.js';
import type { Io } from './settings.js';

export const VERSION = '0.1.0';

export const COMMANDS: readonly Command[] = [
  keygen,
  token,
  registerJurisdiction,
  registerOfficerKey,
  registerBoxKey,
  agreementDraft,
  agreementSign,
  agreementShow,
  agreementList,
  agreementSuspend,
  agreementTerminate,
  agreementResume,
  agreementAmend,
  upload,
  bundleList,
  bundleShow,
  release,
  fetch,
  receipt,
  verify,
  logKeyCommand,
  logCheckpoint,
  logVerify,
];

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.path.join(' ').length)) + 2;
  return [
    'evx — the command line of the evx evidence exchange',
    '',
    'usage: evx COMMAND [ARGS] [OPTIONS]        evx COMMAND --help for details and an example',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.path.join(' ').padEnd(width)}${c.summary}`),
    '',
    'configuration (flags > environment > profile):',
    '  --url / EVX_URL / "url"                      the server, e.g. https://evx.example.org',
    '  --token / EVX_TOKEN / "token" or "tokenFile"   your bearer token',
    '  --signing-key / EVX_SIGNING_KEY / "signingKey"  your Ed25519 key file (default ~/.config/evx/signing-key.json)',
    '  --box-key / EVX_BOX_KEY / "boxKey"            your jurisdiction\'s X25519 key file (default ~/.config/evx/box-key.json)',
    '  --vkey / EVX_VKEY / "vkey"                    the custody log\'s pinned verifier key (a file or the key)',
    '  --profile / EVX_PROFILE                       the profile JSON (default ~/.config/evx/profile.json)',
    '  EVX_STATE_DIR / "stateDir"                    unfinished uploads (default ~/.local/state/evx)',
    '',
    'Results go to stdout (--json for JSON); progress and explanations to stderr (--quiet to silence).',
    '',
    'exit codes:',
    ...EXIT_CODE_HELP.map((l) => `  ${l}`),
    '',
    'docs/CLI.md has the full reference and the end-to-end story.',
    '',
  ].join('\n');
}

/** The command named by the leading words of argv, and the words after it. */
function findCommand(argv: readonly string[]): { command: Command; rest: string[] } | null {
  let best: Command | null = null;
  for (const c of COMMANDS) {
    if (c.path.every((w, i) => argv[i] === w) && (!best || c.path.length > best.path.length)) best = c;
  }
  return best ? { command: best, rest: argv.slice(best.path.length) } : null;
}

function groupHelp(group: string): string | null {
  const members = COMMANDS.filter((c) => c.path.length > 1 && c.path[0] === group);
  if (members.length === 0) return null;
  const width = Math.max(...members.map((c) => c.path.join(' ').length)) + 2;
  return [`evx ${group} — subcommands:`, ...members.map((c) => `  evx ${c.path.join(' ').padEnd(width)}${c.summary}`), '', `evx ${group} SUBCOMMAND --help for details`, ''].join('\n');
}

export interface RunOptions {
  /** Receives the context once created, so a signal handler can clean up after it. */
  onContext?: (ctx: Context) => void;
}

export async function runCli(argv: readonly string[], io: Io, options: RunOptions = {}): Promise<ExitCode> {
  const first = argv[0];
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    const named = first === 'help' && argv.length > 1 ? findCommand(argv.slice(1)) : null;
    if (named) io.stdout.write(commandHelp(named.command));
    else if (first === 'help' && argv[1] !== undefined && groupHelp(argv[1])) io.stdout.write(groupHelp(argv[1])!);
    else (first === undefined ? io.stderr : io.stdout).write(topHelp());
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === '--version' || first === 'version') {
    io.stdout.write(`evx ${VERSION}\n`);
    return EXIT.ok;
  }
  const found = findCommand(argv);
  if (!found) {
    const group = groupHelp(first);
    if (group) {
      const asked = argv[1] === '--help' || argv[1] === '-h';
      (asked ? io.stdout : io.stderr).write(asked ? group : `evx: unknown ${first} subcommand ${argv[1] ? `"${argv[1]}"` : '(none given)'}\n\n${group}`);
      return asked ? EXIT.ok : EXIT.usage;
    }
    io.stderr.write(`evx: unknown command "${first}"; see evx --help\n`);
    return EXIT.usage;
  }
  const { command, rest } = found;
  const name = `evx ${command.path.join(' ')}`;
  let ctx: Context | null = null;
  try {
    const flags = parseCommandArgs(command, rest);
    if (flags.bool('help')) {
      io.stdout.write(commandHelp(command));
      return EXIT.ok;
    }
    ctx = new Context(command, flags, io);
    options.onContext?.(ctx);
    await command.run(ctx);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(`${name}: ${err.message}\n`);
      for (const hint of err.hints) io.stderr.write(`  ${hint}\n`);
      return err.exitCode;
    }
    const code = (err as NodeJS.ErrnoException | null)?.code;
    const file = (err as NodeJS.ErrnoException | null)?.path;
    if (typeof code === 'string' && typeof file === 'string') {
      // A local file problem (permissions, disk full) is the user's to fix, not a bug.
      io.stderr.write(`${name}: ${file}: ${(err as Error).message}\n`);
      return EXIT.usage;
    }
    io.stderr.write(`${name}: internal error: ${err instanceof Error ? (io.env['EVX_DEBUG'] ? (err.stack ?? err.message) : err.message) : String(err)}\n  this is a bug in the evx CLI; set EVX_DEBUG=1 for details\n`);
    return EXIT.internal;
  } finally {
    ctx?.close();
  }
}

/** The process entry: real argv, env and streams; SIGINT/SIGTERM clean up temporary files and exit 130/143. */
export async function main(): Promise<void> {
  let current: Context | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    current?.runInterruptCleanups();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // `evx bundle list | head -1` closes our stdout early: that is not an error worth a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  const io: Io = { env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr };
  const code = await runCli(process.argv.slice(2), io, {
    onContext: (ctx) => {
      current = ctx;
    },
  });
  process.exitCode = code;
}
