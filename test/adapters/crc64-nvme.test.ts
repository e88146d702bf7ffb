/**
 * `functions/adapters/crc64-nvme.ts`, the CRC-64/NVME the router checks every S3 read with.
 * Oracles independent of it: the catalogue's check value of "123456789", a bit-at-a-time
 * reference written here from the algorithm's definition (BigInt, no tables), and the SDK's
 * own implementation (`@aws-sdk/checksums`), over random data cut into random chunks at every
 * alignment, on both of its paths (word reads, and bytes one at a time as on a big-endian
 * machine). The S3 read's own checks (a mismatch throws) are in `s3-direct-get.test.ts`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Crc64Nvme as SdkCrc64Nvme } from '@aws-sdk/checksums/crc';
import { Crc64Nvme } from '../../functions/adapters/crc64-nvme.js';

/** CRC-64/NVME by its definition: reflected, polynomial 0x9A6C9329AC4BC9B5, init and xorout ~0. */
function reference(data: Uint8Array): string {
  const mask = (1n << 64n) - 1n;
  let crc = mask;
  for (const byte of data) {
    crc ^= BigInt(byte);
    for (let bit = 0; bit < 8; bit++) crc = crc & 1n ? (crc >> 1n) ^ 0x9a6c9329ac4bc9b5n : crc >> 1n;
  }
  return ((crc ^ mask) & mask).toString(16).padStart(16, '0');
}

const hex = async (c: { digest(): Promise<Uint8Array> }) => Buffer.from(await c.digest()).toString('hex');

/** Random cuts of `data` into chunks of 0..max bytes. */
function chunks(data: Uint8Array, max: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; ) {
    const n = Math.floor(Math.random() * (max + 1));
    out.push(data.subarray(i, i + n));
    i += n;
  }
  return out;
}

describe('CRC-64/NVME', () => {
  it('gives the catalogue check value of "123456789", big-endian', async () => {
    for (const wordReads of [true, false]) {
      const crc = new Crc64Nvme({ wordReads });
      crc.update(Buffer.from('123456789'));
      assert.equal(await hex(crc), 'ae8b14860a799888');
    }
  });

  it('matches a bit-at-a-time reference and the SDK on random data, any length, alignment and chunking', async () => {
    // One backing buffer; views start at every offset mod 8, so word reads meet every alignment.
    const backing = randomBytes(4096 + 8);
    for (let round = 0; round < 300; round++) {
      const offset = round % 8;
      const length = round < 100 ? round : Math.floor(Math.random() * 4096);
      const data = backing.subarray(offset, offset + length);
      const want = reference(data);
      const sdk = new SdkCrc64Nvme();
      sdk.update(data);
      assert.equal(await hex(sdk), want, 'the two oracles agree');
      for (const wordReads of [true, false]) {
        const whole = new Crc64Nvme({ wordReads });
        whole.update(data);
        assert.equal(await hex(whole), want, `${length} bytes at offset ${offset}`);
        const cut = new Crc64Nvme({ wordReads });
        for (const piece of chunks(data, 37)) cut.update(piece);
        assert.equal(await hex(cut), want, `${length} bytes at offset ${offset}, in chunks`);
      }
    }
  });

  it('matches the SDK on 3 MB in 64 KB socket-sized chunks starting off a word boundary', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 5).subarray(3);
    const sdk = new SdkCrc64Nvme();
    const ours = new Crc64Nvme();
    for (let i = 0; i < data.length; i += 65_536) {
      sdk.update(data.subarray(i, i + 65_536));
      ours.update(data.subarray(i, i + 65_536));
    }
    assert.equal(await hex(ours), await hex(sdk));
  });

  it('changes with any single flipped bit', async () => {
    const data = randomBytes(64);
    const base = new Crc64Nvme();
    base.update(data);
    const original = await hex(base);
    for (let bit = 0; bit < data.length * 8; bit += 7) {
      const flipped = Buffer.from(data);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      const crc = new Crc64Nvme();
      crc.update(flipped);
      assert.notEqual(await hex(crc), original, `bit ${bit}`);
    }
  });

  it('gives nothing-read as 0, keeps running after a digest, and starts over on reset', async () => {
    const crc = new Crc64Nvme();
    assert.equal(await hex(crc), reference(new Uint8Array()));
    crc.update(Buffer.from('12345'));
    await crc.digest();
    crc.update(Buffer.from('6789'));
    assert.equal(await hex(crc), 'ae8b14860a799888');
    crc.reset();
    crc.update(Buffer.from('123456789'));
    assert.equal(await hex(crc), 'ae8b14860a799888');
  });
});
