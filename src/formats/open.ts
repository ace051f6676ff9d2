/**
 * Opens any supported dump by its content, never by its name or first byte alone: an ordered list of
 * readers (as netron's are), each recognizing its format's signature. Reads headers only; the file is
 * opened read-only and nothing is ever written to it.
 */
import { ByteSource, FileSource } from './source';
import { ZipArchive, looksLikeZip } from './zip';
import { readTorchZip, readTorchLegacy, looksLikeTorchLegacy } from './torch';
import { readSafetensors, looksLikeSafetensors } from './safetensors';
import { readNpy, readNpz, looksLikeNpy } from './npy';
import { DumpFile, DumpFormat } from './dump';
import { fail } from '../core/errors';

/** What a reader may look at to recognize a file: its name, its source, and (for ZIP containers) its entry names. */
export interface Probe {
  path: string;
  src: ByteSource;
  /** The ZIP central directory, read once on first use; undefined when the file is no ZIP. */
  zip(): ZipArchive | undefined;
}

export interface DumpReader {
  format: DumpFormat;
  /** Whether the content carries this format's signature. */
  match(p: Probe): boolean;
  open(p: Probe): DumpFile;
}

const zipEntries = (p: Probe): string[] => [...(p.zip()?.entries.keys() ?? [])];

/** The readers in the order they are tried: the most specific signatures first. */
export const READERS: readonly DumpReader[] = [
  { format: 'npy', match: (p) => looksLikeNpy(p.src), open: (p) => readNpy(p.path, p.src) },
  {
    format: 'pt',
    match: (p) => zipEntries(p).some((n) => n === 'data.pkl' || n.endsWith('/data.pkl')),
    open: (p) => readTorchZip(p.path, p.src, p.zip()!),
  },
  {
    format: 'npz',
    match: (p) => {
      const names = zipEntries(p);
      return names.length > 0 && names.some((n) => n.endsWith('.npy'));
    },
    open: (p) => readNpz(p.path, p.src, p.zip()!),
  },
  // Before the legacy pickle: a safetensors header length whose low byte is 0x80 starts the file with 0x80.
  { format: 'safetensors', match: (p) => looksLikeSafetensors(p.src), open: (p) => readSafetensors(p.path, p.src) },
  { format: 'pt-legacy', match: (p) => looksLikeTorchLegacy(p.src), open: (p) => readTorchLegacy(p.path, p.src) },
];

function probeOf(path: string, src: ByteSource): Probe {
  let zip: ZipArchive | undefined | null = null;
  return {
    path,
    src,
    zip: () => {
      if (zip === null) zip = looksLikeZip(src) ? new ZipArchive(src) : undefined;
      return zip;
    },
  };
}

export function openDump(path: string): DumpFile {
  const src = new FileSource(path);
  try {
    if (src.size === 0) fail('empty-file', 'file is empty', path);
    const probe = probeOf(path, src);
    const reader = READERS.find((r) => r.match(probe));
    if (reader) return reader.open(probe);
    // No signature matched: a file named .safetensors gets the safetensors reader's own, precise error.
    if (/\.safetensors$/i.test(path)) return readSafetensors(path, src);
    if (probe.zip()) fail('unrecognized-format', 'ZIP archive is neither a PyTorch checkpoint (no data.pkl) nor an .npz (no .npy member)', path);
    fail('unrecognized-format', 'unrecognized file: not a PyTorch .pt (zip or legacy), .safetensors, .npy or .npz', path);
  } catch (err) {
    src.close();
    throw err;
  }
}
