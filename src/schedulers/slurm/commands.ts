/**
 * Runs SLURM's commands: from a configured folder or PATH, on a configured cluster, and through a
 * prefix such as `ssh login1` for clusters reached via a login node (the prefix receives the SLURM
 * command as one shell command line, so every argument is quoted for that shell).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { SlurmSettings } from '../../config/config.js';
import { DocketError, EXIT } from '../../core/errors.js';
import { shellJoin } from './script.js';

/** SLURM cannot be used: a command is missing, or the cluster does not answer. Exit code 2. */
export class SlurmUnavailableError extends DocketError {
  override readonly exitCode: number = EXIT.usage;
  override name = 'SlurmUnavailableError';
}

/** SLURM answered but refused what was asked (a bad partition, a job it cannot suspend…). */
export class SlurmRefusedError extends DocketError {
  override name = 'SlurmRefusedError';
  constructor(
    message: string,
    override readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Commands that talk to the controller give up after this long (ssh or a dead controller may hang). */
const COMMAND_TIMEOUT_MS = 60_000;

export class SlurmCommands {
  constructor(private readonly settings: SlurmSettings) {}

  /** The argv that runs `command args…` as configured (bin folder, cluster, prefix). */
  argv(command: string, args: readonly string[]): string[] {
    const program = this.settings.bin ? join(this.settings.bin, command) : command;
    // Each command takes the cluster before its other options; scontrol takes it as `-M`.
    const full = [program, ...(this.settings.cluster ? [`--clusters=${this.settings.cluster}`] : []), ...args];
    if (this.settings.prefix.length === 0) return full;
    // Epoch times from squeue and sacct, whatever the remote shell's environment says.
    return [...this.settings.prefix, `SLURM_TIME_FORMAT=%s ${shellJoin(full)}`];
  }

  /**
   * Runs a SLURM command and returns what it printed, whatever its exit code. Throws
   * SlurmUnavailableError when the command (or the prefix) cannot run at all.
   */
  run(command: string, args: readonly string[], input?: string): Promise<CommandResult> {
    const [program, ...rest] = this.argv(command, args) as [string, ...string[]];
    return new Promise((resolve, reject) => {
      const child = spawn(program, rest, {
        env: { ...process.env, SLURM_TIME_FORMAT: '%s' },
        stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
      // Not spawn's own `timeout`: its timer outlives a command that could not start at all.
      const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
      timer.unref();
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (chunk) => (stdout += chunk));
      child.stderr?.on('data', (chunk) => (stderr += chunk));
      child.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const where = this.settings.bin ? `in ${this.settings.bin} (DOCKET_SLURM_BIN)` : 'on PATH';
        reject(
          new SlurmUnavailableError(
            error.code === 'ENOENT'
              ? `SLURM is not available: ${program} not found ${this.settings.prefix.length ? '' : where}; install SLURM's client commands or set DOCKET_SLURM_BIN`.replace(
                  '  ',
                  ' ',
                )
              : `SLURM is not available: cannot run ${program}: ${error.message}`,
          ),
        );
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        if (signal) {
          reject(new SlurmUnavailableError(`SLURM does not answer: ${command} was stopped by ${signal} (timeout)`));
          return;
        }
        // A prefix (ssh) that reports its own failure with 255, or a shell that cannot find the command.
        if (this.settings.prefix.length > 0 && (code === 255 || code === 127)) {
          reject(
            new SlurmUnavailableError(
              `SLURM is not available through "${this.settings.prefix.join(' ')}": ${firstLine(stderr) || `exit ${code}`}`,
            ),
          );
          return;
        }
        resolve({ code: code ?? 1, stdout, stderr });
      });
      // A command that exits without reading its input must not crash docket with EPIPE.
      child.stdin?.on('error', () => {});
      if (input !== undefined) child.stdin?.end(input);
    });
  }
}

/** The first non-empty line of a command's message, without SLURM's `sbatch: error: ` decoration. */
export function firstLine(text: string): string {
  const line = text.split('\n').find((part) => part.trim() !== '') ?? '';
  return line.replace(/^(\w+: )?(error|fatal): /i, '').trim();
}

/** True when a message says the controller (or the accounting daemon) could not be reached. */
export function isUnreachable(message: string): boolean {
  return /unable to contact|connection refused|socket timed out|communication connection failure|no route|could not resolve|Zero Bytes were transmitted/i.test(
    message,
  );
}
