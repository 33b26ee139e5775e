/**
 * `docket completion bash|zsh|fish`: a shell completion script, generated from the command tree
 * itself (so it knows every command and option there is, and cannot fall behind).
 */
import type { Command } from 'commander';
import { InvalidInputError } from '../../core/errors.js';
import { action } from '../context.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;

/** Every command path (`queue set` is `['queue', 'set']`) with its command. */
function walk(command: Command, path: string[] = []): { path: string[]; command: Command }[] {
  return [{ path, command }, ...command.commands.flatMap((sub) => walk(sub, [...path, sub.name()]))];
}

/** What may follow a command path: its subcommands and its long options (and the global ones). */
function candidates(command: Command, globals: Command): string[] {
  const options = [...command.options, ...(command === globals ? [] : globals.options)].filter(
    (option) => !option.hidden,
  );
  return [
    ...command.commands.map((sub) => sub.name()),
    ...options.flatMap((option) => (option.long ? [option.long] : [])),
    '--help',
  ];
}

/** bash (and zsh through bashcompinit): the words after the command path typed so far. */
function bashScript(program: Command): string {
  const paths = walk(program);
  const known = paths
    .filter(({ path }) => path.length > 0)
    .map(({ path }) => `" ${path.join(' ')}"`)
    .join('|');
  const cases = paths
    .map(
      ({ path, command }) =>
        `    "${path.map((word) => ` ${word}`).join('')}") words="${candidates(command, program).join(' ')}" ;;`,
    )
    .join('\n');
  return `# docket completion for bash: eval "$(docket completion bash)" (e.g. in ~/.bashrc)
_docket() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" words="" word i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    case "$path $word" in
      ${known}) path="$path $word" ;;
    esac
  done
  case "$path" in
${cases}
  esac
  # After a command's options come files (docket run -- ./script.sh).
  if [[ "$cur" != -* && "$path" != "" && -z "$(compgen -W "$words" -- "$cur")" ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
complete -o default -F _docket docket
`;
}

function zshScript(program: Command): string {
  return `# docket completion for zsh: eval "$(docket completion zsh)" (e.g. in ~/.zshrc)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashScript(program).split('\n').slice(1).join('\n')}`;
}

function fishScript(program: Command): string {
  const quote = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const lines = ['# docket completion for fish: docket completion fish > ~/.config/fish/completions/docket.fish'];
  lines.push('complete -c docket -f');
  for (const { path, command } of walk(program)) {
    const when = path.length === 0 ? '__fish_use_subcommand' : `__fish_seen_subcommand_from ${path[path.length - 1]}`;
    for (const sub of command.commands) {
      lines.push(`complete -c docket -n ${quote(when)} -a ${sub.name()} -d ${quote(sub.description())}`);
    }
    for (const option of command.options) {
      if (!option.long || option.hidden) continue;
      const value = option.required || option.optional ? ' -r' : '';
      lines.push(
        `complete -c docket -n ${quote(when)} -l ${option.long.slice(2)}${value} -d ${quote(option.description)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .argument('<shell>', SHELLS.join(', '))
    .action(
      action(async (shell: string) => {
        if (!(SHELLS as readonly string[]).includes(shell)) {
          throw new InvalidInputError('shell', `"${shell}" is not a shell docket completes; use ${SHELLS.join(', ')}`);
        }
        const script =
          shell === 'bash' ? bashScript(program) : shell === 'zsh' ? zshScript(program) : fishScript(program);
        process.stdout.write(script);
        return 0;
      }),
    );
}
