import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Partitioners, type PartitionerArgs } from 'kafkajs';
import { JavaCompatiblePartitioner, keyHash, murmur2 } from '../src/partitioner';

// kafkajs's own murmur2 (64-bit Long arithmetic) is the reference: same bits, or keys move partitions.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: string | Buffer) => number;

const metadata = (n: number, leaderless: number[] = []): PartitionerArgs['partitionMetadata'] =>
  Array.from({ length: n }, (_, partitionId) => ({
    partitionId,
    leader: leaderless.includes(partitionId) ? -1 : 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));

describe('murmur2 and the Java-compatible partitioner', () => {
  it("matches the Java client's published murmur2 values", () => {
    // Kafka's UtilsTest.testMurmur2: these byte strings and their hashes.
    const cases: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ];
    for (const [text, hash] of cases) expect(murmur2(Buffer.from(text))).toBe(hash);
    expect(murmur2(Buffer.from([97, 98, 99]))).toBe(479470107);
  });

  it("equals kafkajs's murmur2 for any string or byte key (every length mod 4, non-ASCII, long keys)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 120 })), (key) => {
        expect(keyHash(key)).toBe(kafkajsMurmur2(key));
      }),
      { numRuns: 3000 },
    );
    // A key of another type (untyped callers): kafkajs hashes String(key).
    for (const key of [12345, -7, 3.5, true]) expect(keyHash(key as unknown as string)).toBe(kafkajsMurmur2(key as unknown as string));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const buf = Buffer.from(bytes);
        expect(keyHash(buf)).toBe(kafkajsMurmur2(buf));
      }),
      { numRuns: 3000 },
    );
  });

  it("puts every keyed message on the partition kafkajs's DefaultPartitioner chooses", () => {
    const ours = JavaCompatiblePartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    for (let i = 0; i < 5000; i++) {
      const key = i % 2 ? randomBytes(16).toString('hex') : randomBytes(1 + (i % 40));
      const partitionMetadata = metadata(1 + (i % 12));
      const args = { topic: 't', partitionMetadata, message: { key, value: 'v' } };
      expect(ours(args)).toBe(theirs(args));
    }
  });

  it('honours an explicit partition, and spreads unkeyed messages over the partitions that have a leader', () => {
    const p = JavaCompatiblePartitioner();
    expect(p({ topic: 't', partitionMetadata: metadata(6), message: { key: 'k', value: 'v', partition: 4 } })).toBe(4);
    const seen = new Set<number>();
    for (let i = 0; i < 60; i++) seen.add(p({ topic: 't', partitionMetadata: metadata(6, [1, 3]), message: { value: 'v' } }));
    expect([...seen].sort()).toEqual([0, 2, 4, 5]);
  });
});
