import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { FIXTURES } from '../support/fixtures';
import { openDump } from '../../src/formats/open';
import { readAllFloat64 } from '../../src/formats/tensor';

/**
 * PyTorch's own byte-order vectors (test/fixtures/peers/make_torch_bom_vectors.py writes the byte
 * strings of test_serialization_load_bom_data_double): a file re-saved on a big-endian machine with
 * its `byteorder` record reads equal to the little-endian original, and one without the record,
 * read natively on this little-endian machine, does not — exactly the assertions of PyTorch's test.
 */
async function values(name: string): Promise<number[]> {
  const dump = openDump(path.join(FIXTURES, 'peers', name));
  try {
    assert.equal(dump.tensors.length, 1);
    assert.equal(dump.tensors[0].dtype, 'float64');
    assert.deepEqual(dump.tensors[0].shape, [2, 2]);
    return [...(await readAllFloat64(dump.tensors[0]))];
  } finally {
    dump.close();
  }
}

test("PyTorch's big-endian file with its byteorder record reads equal to the little-endian one", async () => {
  const le = await values('tensor.double.LE.pt');
  assert.deepEqual(await values('tensor.double.BE.BOM.pt'), le);
  assert.ok(
    le.every((v) => Math.abs(v) < 1),
    `the original is randn-sized: ${le}`,
  );
});

test("PyTorch's big-endian file without a record reads natively (little-endian), so not equal, as torch reads it", async () => {
  assert.notDeepEqual(await values('tensor.double.BE.pt'), await values('tensor.double.LE.pt'));
});
