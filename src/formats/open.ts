import { FileSource } from './source';
import { ZipArchive, looksLikeZip } from './zip';
import { readTorchZip, readTorchLegacy } from './torch';
import { readSafetensors, looksLikeSafetensors } from './safetensors';
import { readNpy, readNpz, looksLikeNpy } from './npy';
import { DumpFile } from './dump';
import { fail } from './errors';

/**
 * Opens any supported dump by its content (not its extension): reads headers only.
 * The file is opened read-only and nothing is ever written to it.
 */
export function openDump(path: string): DumpFile {
  const src = new FileSource(path);
  try {
    if (src.size === 0) fail('file is empty', path);
    if (looksLikeZip(src)) {
      const zip = new ZipArchive(src);
      const names = [...zip.entries.keys()];
      if (names.some((n) => n === 'data.pkl' || n.endsWith('/data.pkl'))) return readTorchZip(path, src, zip);
      if (names.length && names.every((n) => n.endsWith('.npy'))) return readNpz(path, src, zip);
      fail('ZIP archive is neither a PyTorch checkpoint (no data.pkl) nor an .npz', path);
    }
    if (looksLikeNpy(src)) return readNpy(path, src);
    const first = src.readSync(0, 1)[0];
    if (first === 0x80) return readTorchLegacy(path, src);
    if (looksLikeSafetensors(src) || /\.safetensors$/i.test(path)) return readSafetensors(path, src);
    fail('unrecognized file: not a PyTorch .pt (zip or legacy), .safetensors, .npy or .npz', path);
  } catch (err) {
    src.close();
    throw err;
  }
}
