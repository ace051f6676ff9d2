import * as fs from 'fs';

/**
 * A folder's entry names, remembered while the folder is unchanged. Scale discovery lists a dump's
 * folder and its parent for every tensor it cannot pair otherwise: verifying a folder of 300 dumps
 * listed it 600 times (a third of the cost of inferring their scales). A listing is reused only while
 * the folder's mtime is what it was and is over two seconds old, so a file added since, even on a
 * file system with coarse timestamps, is seen.
 */
const MAX_FOLDERS = 64;
const SETTLED_NS = 2_000_000_000n;
const listings = new Map<string, { mtimeNs: bigint; names: readonly string[] }>();

/** The names in `dir` (as fs.readdirSync gives them); throws as readdirSync does for an unreadable folder. */
export function listFolder(dir: string): readonly string[] {
  const mtimeNs = fs.statSync(dir, { bigint: true }).mtimeNs;
  const hit = listings.get(dir);
  if (hit && hit.mtimeNs === mtimeNs) return hit.names;
  const names = Object.freeze(fs.readdirSync(dir));
  listings.delete(dir);
  if (BigInt(Date.now()) * 1_000_000n - mtimeNs > SETTLED_NS) {
    if (listings.size >= MAX_FOLDERS) listings.delete(listings.keys().next().value!);
    listings.set(dir, { mtimeNs, names });
  }
  return names;
}
