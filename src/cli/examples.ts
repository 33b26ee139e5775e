/**
 * Examples shown at the end of each command's `--help`, kept in one place (by command path) so
 * every command's help shows how it is used without each command file carrying its own.
 */
import type { Command } from 'commander';
import { commandPath } from './errors.js';

const EXAMPLES: Record<string, string[]> = {
  docket: [
    'docket run -- python train.py --epochs 3     # run now, stream its output',
    'docket submit --cmd "make test" --queue ci    # queue it and return',
    'docket list                                   # what is pending or running',
    'docket status 12; docket logs 12 --follow',
    'docket <command> --help                       # every command has examples',
  ],
  'docket submit': [
    'docket submit -- python train.py --lr 0.1',
    'docket submit --cmd "make -j4 test" --queue ci --time-limit 30m',
    'docket submit --after 12 --job-name report --cmd "./report.sh"',
    'docket submit --type resize --params \'{"width": 200}\'',
  ],
  'docket run': [
    'docket run -- ls -d /tmp                      # -- before the program and its options',
    'docket run --cmd "make test" --time-limit 10m',
    'docket run --key nightly-2026-12-01 --cmd ./nightly.sh   # at most once per key',
  ],
  'docket list': ['docket list', 'docket list --all --status failed', 'docket --json list --queue gpu'],
  'docket status': ['docket status 12', 'docket --json status 12'],
  'docket logs': ['docket logs 12', 'docket logs 12 --stderr', 'docket logs 12 --follow'],
  'docket wait': ['docket wait 12 13', 'docket wait 12 --timeout 1h && echo done'],
  'docket rm': ['docket rm 12 13', 'docket clear --status failed               # every failed job'],
  'docket restart': ['docket restart 12                             # the same work again, as a new job'],
  'docket progress': ['docket progress', 'docket progress --queue gpu'],
  'docket clear': ['docket clear', 'docket clear --before 7d --status completed,failed'],
  'docket workers': ['docket workers', 'docket --json workers --all'],
  'docket top': ['docket top                                    # Ctrl-C to leave', 'docket list --watch --queue gpu'],
  'docket worker': ['docket worker --queue gpu --concurrency 4', 'docket worker --idle-exit 5m'],
  'docket queue': [
    'docket queue set gpu --capacity 4',
    'docket queue pause gpu',
    'docket queue list',
    'docket queue rm old-queue',
  ],
  'docket db': ['docket db migrate                              # also done by every command on open'],
  'docket config': ['docket config show', 'docket config reset-db --yes'],
  'docket serve': ['docket serve', 'docket serve --host 0.0.0.0 --port 8080'],
  'docket token': ['docket token create --tenant lab --role member', 'docket token list', 'docket token revoke 3'],
  'docket completion': [
    'eval "$(docket completion bash)"              # in ~/.bashrc',
    'eval "$(docket completion zsh)"               # in ~/.zshrc',
    'docket completion fish > ~/.config/fish/completions/docket.fish',
  ],
};
for (const name of ['cancel', 'requeue', 'suspend', 'resume']) {
  EXAMPLES[`docket ${name}`] = [
    `docket ${name} 12 13`,
    `docket ${name} --queue gpu --name 'train-*'`,
    `docket ${name} --all --yes`,
  ];
}

/** Adds its examples to the help of `command` (if it has any). */
export function addExamples(command: Command): void {
  const lines = EXAMPLES[commandPath(command)];
  if (lines) command.addHelpText('after', `\nExamples:\n${lines.map((line) => `  ${line}`).join('\n')}`);
}
