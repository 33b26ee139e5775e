/**
 * How the CLI reports a failure: one line `docket: …` on stderr and, with `--json`, one error
 * document `{error, code, exit_code}` on stdout. Commander's own usage errors are reworded here so
 * that they read like docket's and point at the subcommand's help.
 */
import type { Command, CommanderError } from 'commander';
import { EXIT } from '../core/errors.js';

/** A usage error commander raised while parsing `command`'s arguments. */
export class UsageError extends Error {
  constructor(
    readonly reason: CommanderError,
    readonly command: Command,
  ) {
    super(reason.message);
  }
}

/** The `code` of a JSON error document, by exit code (the README's exit-code table). */
const CODES: Record<number, string> = {
  [EXIT.failure]: 'failure',
  [EXIT.usage]: 'usage',
  [EXIT.notFound]: 'not_found',
  [EXIT.invalidState]: 'invalid_state',
  [EXIT.timeout]: 'timeout',
  [EXIT.cancelled]: 'cancelled',
};

export function errorCode(exitCode: number): string {
  return CODES[exitCode] ?? 'failure';
}

/** The error document `--json` prints for a failure. */
export function errorJson(message: string, exitCode: number): { error: string; code: string; exit_code: number } {
  return { error: message, code: errorCode(exitCode), exit_code: exitCode };
}

/** Reports a failure (see the module comment) and returns its exit code. */
export function writeError(json: boolean, message: string, exitCode: number): number {
  process.stderr.write(`docket: ${message}\n`);
  if (json) process.stdout.write(`${JSON.stringify(errorJson(message, exitCode), null, 2)}\n`);
  return exitCode;
}

/** True when the arguments ask for JSON (`--json` anywhere before a `--`). */
export function wantsJson(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json');
}

/** `docket queue set`: the words that name a command, as typed. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/** Commander's message as one docket line, with a hint and the subcommand's help to turn to. */
export function usageError(error: UsageError, args: string[]): string {
  const message = error.reason.message.replace(/^error: /, '');
  const path = commandPath(error.command);
  const hint = error.reason.code === 'commander.unknownOption' ? programHint(error.command, args) : null;
  return `${message}${hint ? `; ${hint}` : ''} (see ${path} --help)`;
}

/**
 * For `docket run ls -d /tmp`: the program's own options were taken for docket's. Suggests the
 * same line with `--` before the program, found as the first word that is not docket's option
 * or an option's value.
 */
function programHint(command: Command, args: string[]): string | null {
  if (!command.registeredArguments.some((argument) => argument.variadic)) return null;
  const start = args.indexOf(command.name());
  if (start === -1 || args.includes('--')) return null;
  const words = args.slice(start + 1);
  const takesValue = (word: string) => {
    const option = [...command.options, ...(command.parent?.options ?? [])].find(
      (candidate) => candidate.long === word || candidate.short === word,
    );
    return option !== undefined && (option.required || option.optional);
  };
  for (let index = 0; index < words.length; index++) {
    const word = words[index] as string;
    if (!word.startsWith('-')) {
      const line = [...args.slice(0, start + 1 + index), '--', ...words.slice(index)];
      return `to pass options to the program, put -- before it: docket ${line.join(' ')}`;
    }
    if (!word.includes('=') && takesValue(word)) index++;
  }
  return null;
}
