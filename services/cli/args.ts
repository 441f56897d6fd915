/**
 * A small argument layer over node:util parseArgs: commands declare their
 * options once, and the same declaration drives parsing, typed access and
 * the `--help` text, so help never drifts from what is accepted.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EXIT_CODE_HELP, UsageError } from './errors.js';

export interface OptionDef {
  type: 'string' | 'boolean';
  short?: string;
  /** May be given more than once (values are collected in order). */
  multiple?: boolean;
  /** Placeholder shown in help, e.g. FILE. */
  value?: string;
  help: string;
}

export type OptionDefs = Record<string, OptionDef>;

/** Flags every command accepts; they configure the connection, keys and output. */
export const GLOBAL_OPTIONS: OptionDefs = {
  url: { type: 'string', value: 'URL', help: 'evx server base URL (env EVX_URL; profile "url")' },
  token: { type: 'string', value: 'JWT', help: 'bearer token (env EVX_TOKEN; profile "token" or "tokenFile")' },
  profile: { type: 'string', value: 'FILE', help: 'profile JSON file (env EVX_PROFILE; default ~/.config/evx/profile.json)' },
  'signing-key': { type: 'string', value: 'FILE', help: 'your Ed25519 signing key file (env EVX_SIGNING_KEY; profile "signingKey")' },
  'box-key': { type: 'string', value: 'FILE', help: "your jurisdiction's X25519 box key file (env EVX_BOX_KEY; profile \"boxKey\")" },
  vkey: { type: 'string', value: 'FILE', help: "the log's pinned verifier key, a file or the key itself (env EVX_VKEY; profile \"vkey\")" },
  json: { type: 'boolean', help: 'machine-readable JSON on stdout' },
  quiet: { type: 'boolean', short: 'q', help: 'no progress or informational output on stderr' },
  help: { type: 'boolean', short: 'h', help: 'show help for the command' },
};

export interface CommandSpec {
  /** Words after `evx`, e.g. ['agreement', 'draft']. */
  path: readonly string[];
  summary: string;
  /** Synopsis after `evx `, e.g. 'upload FILE... --case REF ...'. */
  usage: string;
  /** Paragraphs printed after the synopsis. */
  details?: readonly string[];
  options: OptionDefs;
  positionals: { min: number; max: number | null };
  examples: readonly string[];
}

export type FlagValue = string | boolean | Array<string | boolean> | undefined;

/** Parsed flags with typed access; names are the long option names. */
export class Flags {
  constructor(
    private readonly values: Record<string, FlagValue>,
    readonly positionals: readonly string[],
  ) {}

  has(name: string): boolean {
    return this.values[name] !== undefined;
  }

  string(name: string): string | undefined {
    const v = this.values[name];
    if (Array.isArray(v)) {
      const last = v[v.length - 1];
      return typeof last === 'string' ? last : undefined;
    }
    return typeof v === 'string' ? v : undefined;
  }

  requireString(name: string, what?: string): string {
    const v = this.string(name);
    if (v === undefined || v.trim() === '') throw new UsageError(`--${name} is required${what ? ` (${what})` : ''}`);
    return v;
  }

  bool(name: string): boolean {
    return this.values[name] === true;
  }

  /** Values of a repeatable or comma-separated option, trimmed, empty ones dropped. */
  list(name: string): string[] {
    const v = this.values[name];
    const raw = Array.isArray(v) ? v : v === undefined ? [] : [v];
    return raw
      .filter((x): x is string => typeof x === 'string')
      .flatMap((x) => x.split(','))
      .map((x) => x.trim())
      .filter((x) => x !== '');
  }

  int(name: string, range: { min: number; max: number }): number | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text.trim())) throw new UsageError(`--${name} must be a whole number (got "${text}")`);
    const n = Number(text.trim());
    if (!Number.isSafeInteger(n) || n < range.min || n > range.max) throw new UsageError(`--${name} must be between ${range.min} and ${range.max} (got ${text})`);
    return n;
  }
}

/** Parses `args` for a command; throws UsageError with the parser's complaint in plain words. */
export function parseCommandArgs(spec: CommandSpec, args: readonly string[]): Flags {
  const all: OptionDefs = { ...GLOBAL_OPTIONS, ...spec.options };
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, def] of Object.entries(all)) {
    options[name] = { type: def.type, ...(def.short ? { short: def.short } : {}), ...(def.multiple ? { multiple: true } : {}) };
  }
  let parsed: { values: Record<string, FlagValue>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true }) as { values: Record<string, FlagValue>; positionals: string[] };
  } catch (err) {
    // parseArgs messages are fine but mention internals ("To specify a positional argument starting with a '-'..."): keep the first sentence.
    const message = err instanceof Error ? err.message.split('. ')[0]!.replace(/\.$/, '') : String(err);
    throw new UsageError(message, [`see: evx ${spec.path.join(' ')} --help`]);
  }
  const flags = new Flags(parsed.values, parsed.positionals);
  if (flags.bool('help')) return flags;
  const n = parsed.positionals.length;
  if (n < spec.positionals.min) throw new UsageError(`missing argument: usage: evx ${spec.usage}`, [`see: evx ${spec.path.join(' ')} --help`]);
  if (spec.positionals.max !== null && n > spec.positionals.max) {
    throw new UsageError(`unexpected argument "${parsed.positionals[spec.positionals.max]}": usage: evx ${spec.usage}`, [`see: evx ${spec.path.join(' ')} --help`]);
  }
  return flags;
}

function optionLeft(name: string, def: OptionDef): string {
  return `${def.short ? `-${def.short}, ` : '    '}--${name}${def.value ? ` ${def.value}` : ''}${def.multiple ? ' (repeatable)' : ''}`;
}

function optionLines(defs: OptionDefs, width: number): string[] {
  const rows = Object.entries(defs).map(([name, def]) => [optionLeft(name, def), def.help] as const);
  return rows.map(([l, h]) => `  ${l.padEnd(width)}${l.length >= width ? `\n  ${' '.repeat(width)}` : ''}${h}`);
}

export function commandHelp(spec: CommandSpec): string {
  const lines = [`evx ${spec.path.join(' ')} — ${spec.summary}`, '', `usage: evx ${spec.usage}`];
  if (spec.details && spec.details.length > 0) lines.push('', ...spec.details);
  const all = [...Object.entries(spec.options), ...Object.entries(GLOBAL_OPTIONS)];
  const width = Math.min(34, Math.max(...all.map(([n, d]) => optionLeft(n, d).length)) + 2);
  if (Object.keys(spec.options).length > 0) lines.push('', 'options:', ...optionLines(spec.options, width));
  lines.push('', 'global options:', ...optionLines(GLOBAL_OPTIONS, width));
  lines.push('', spec.examples.length > 1 ? 'examples:' : 'example:', ...spec.examples.map((e) => `  ${e}`));
  lines.push('', 'exit codes:', ...EXIT_CODE_HELP.map((l) => `  ${l}`));
  return lines.join('\n') + '\n';
}
