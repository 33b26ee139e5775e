/**
 * NVIDIA GPU detection: `nvidia-smi --query-gpu=…` when the tool is there, else the driver's
 * `/proc/driver/nvidia/gpus/<bus id>/information` files. Parsers take text, so they are tested
 * against recorded output (test/fixtures/gpu).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GpuDevice } from '../core/resources.js';

/** The query docket runs; its output is one CSV line per GPU. */
export const NVIDIA_SMI_ARGS = ['--query-gpu=index,uuid,name,memory.total', '--format=csv,noheader'];

/** Parses `nvidia-smi --query-gpu=index,uuid,name,memory.total[,…] --format=csv,noheader`. */
export function parseNvidiaSmiCsv(text: string): GpuDevice[] {
  const gpus: GpuDevice[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [index, uuid, name, memory] = line.split(',').map((field) => field.trim());
    if (index === undefined || !/^\d+$/.test(index)) continue;
    gpus.push({
      index,
      uuid: uuid && uuid !== '[N/A]' ? uuid : null,
      name: name || null,
      memoryBytes: parseMiB(memory),
    });
  }
  return gpus;
}

function parseMiB(text: string | undefined): number | null {
  const match = /^(\d+)\s*MiB$/i.exec(text ?? '');
  return match ? Number(match[1]) * 1024 ** 2 : null;
}

/** Parses one `/proc/driver/nvidia/gpus/<bus id>/information` file. */
export function parseProcInformation(text: string): { uuid: string | null; name: string | null; minor: number | null } {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+?)\\s*$`, 'm').exec(text)?.[1] ?? null;
  const minor = field('Device Minor');
  return { uuid: field('GPU UUID'), name: field('Model'), minor: minor === null ? null : Number(minor) };
}

/** GPUs from nvidia-smi, or null when the tool is missing or fails. */
export function gpusFromNvidiaSmi(): GpuDevice[] | null {
  try {
    const text = execFileSync('nvidia-smi', NVIDIA_SMI_ARGS, {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return parseNvidiaSmiCsv(text);
  } catch {
    return null;
  }
}

/** GPUs from the driver's /proc files (indexed by device minor number), or null without the driver. */
export function gpusFromProc(root = '/proc/driver/nvidia/gpus'): GpuDevice[] | null {
  if (!existsSync(root)) return null;
  const gpus: GpuDevice[] = [];
  for (const busId of readdirSync(root).sort()) {
    try {
      const info = parseProcInformation(readFileSync(join(root, busId, 'information'), 'utf8'));
      gpus.push({ index: String(info.minor ?? gpus.length), uuid: info.uuid, name: info.name, memoryBytes: null });
    } catch {
      // a folder without an information file is not a GPU we can use
    }
  }
  return gpus.sort((a, b) => Number(a.index) - Number(b.index));
}

/**
 * Keeps the GPUs a `CUDA_VISIBLE_DEVICES` the worker was started with allows (entries are indices or
 * UUIDs; an empty value hides every GPU), as a worker given some devices may use only those.
 */
export function restrictToVisible(gpus: GpuDevice[], visible: string | undefined): GpuDevice[] {
  if (visible === undefined) return gpus;
  const allowed = visible
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  return gpus.filter((gpu) => allowed.includes(gpu.index) || (gpu.uuid !== null && allowed.includes(gpu.uuid)));
}
