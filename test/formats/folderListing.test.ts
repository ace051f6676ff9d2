import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { listFolder } from '../../src/formats/folderListing';

test('listFolder: a settled folder is listed once; a file added or removed since is seen', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-listing-'));
  try {
    fs.writeFileSync(path.join(dir, 'layer1_act.npy'), '');
    const past = new Date(Date.now() - 60_000);
    fs.utimesSync(dir, past, past);
    const first = listFolder(dir);
    assert.deepEqual([...first], ['layer1_act.npy']);
    assert.equal(listFolder(dir), first, 'the unchanged folder is not listed again');
    fs.writeFileSync(path.join(dir, 'layer1_params.pt'), '');
    assert.deepEqual([...listFolder(dir)].sort(), ['layer1_act.npy', 'layer1_params.pt']);
    fs.rmSync(path.join(dir, 'layer1_act.npy'));
    assert.deepEqual([...listFolder(dir)], ['layer1_params.pt']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('listFolder: a folder changed within the last two seconds is listed every time (coarse timestamps)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-listing-'));
  try {
    fs.writeFileSync(path.join(dir, 'a.npy'), '');
    const a = listFolder(dir);
    assert.notEqual(listFolder(dir), a, 'a fresh folder is not remembered');
    // A file written in the same timestamp tick (here: the folder's mtime set back to what it was) is still seen.
    const { mtime } = fs.statSync(dir);
    fs.writeFileSync(path.join(dir, 'b.npy'), '');
    fs.utimesSync(dir, mtime, mtime);
    assert.deepEqual([...listFolder(dir)].sort(), ['a.npy', 'b.npy']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('listFolder: an unreadable folder throws as readdirSync does', () => {
  assert.throws(() => listFolder(path.join(os.tmpdir(), 'ql-no-such-folder-' + process.pid)), /ENOENT/);
});
