import { parseArgs } from 'node:util';
import { listDeadLetters, replayDeadLetters, type DeadLetterFilter } from './deadletters';
import { consumerGroups, pruneConsumerGroups } from './consumer-groups';

const USAGE = `./gelombang deadletters list   [--group G] [--topic T] [--since ISO-TIME] [--json]
./gelombang deadletters replay [--group G] [--topic T] [--since ISO-TIME] --yes

list    prints the dead letters on deadletter.v1 (when, consumer group, original topic/partition/offset,
        reason); never the message itself, which may hold sealed personal data
replay  publishes the original messages again to their topics (same key); every consumer is
        idempotent, so replaying is safe, but it is a write: it needs --yes

./gelombang consumer-groups list          every group and its state; the leftovers of tests and tools marked
./gelombang consumer-groups prune --yes   deletes the leftovers: empty groups named like a test's or a tool's
                                          (tap-, read-, test-, …-test-<id>; never a service's or a partner's)
Env: KAFKA_BROKERS (default localhost:9092).`;

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const { values, positionals } = parseArgs({
    args: argv[0] === '--' ? argv.slice(1) : argv,
    allowPositionals: true,
    options: {
      group: { type: 'string' },
      topic: { type: 'string' },
      since: { type: 'string' },
      json: { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const brokers = (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',').map((b) => b.trim());
  if (positionals[0] === 'consumer-groups') return groupsCommand(positionals[1], values.yes, brokers);
  const command = positionals[0];
  if (values.help || (command !== 'list' && command !== 'replay')) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const since = values.since ? new Date(values.since) : undefined;
  if (since && Number.isNaN(since.getTime())) {
    process.stderr.write(`--since must be an ISO time\n${USAGE}\n`);
    return 2;
  }
  const filter: DeadLetterFilter = {
    ...(values.group ? { consumerGroup: values.group } : {}),
    ...(values.topic ? { originalTopic: values.topic } : {}),
    ...(since ? { since } : {}),
  };
  const letters = await listDeadLetters(brokers, filter);
  if (command === 'list') {
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify(
          letters.map(({ value: _value, ...rest }) => rest),
          null,
          2,
        )}\n`,
      );
    } else {
      for (const d of letters) {
        process.stdout.write(`${d.deadLetteredAt}  ${d.consumerGroup}  ${d.originalTopic}:${d.partition}:${d.offset}  ${d.reason.slice(0, 120)}\n`);
      }
      process.stdout.write(`${letters.length} dead letter(s)\n`);
    }
    return 0;
  }
  if (!values.yes) {
    process.stderr.write(`${letters.length} dead letter(s) would be replayed; add --yes to publish them\n`);
    return 2;
  }
  const n = await replayDeadLetters(brokers, letters);
  process.stdout.write(`replayed ${n} message(s) to their original topics\n`);
  return 0;
}

async function groupsCommand(command: string | undefined, yes: boolean, brokers: string[]): Promise<number> {
  if (command === 'list') {
    const { leftovers, kept } = await consumerGroups(brokers);
    for (const g of kept) process.stdout.write(`${g.state.padEnd(12)} ${g.groupId}\n`);
    for (const g of leftovers) process.stdout.write(`${'leftover'.padEnd(12)} ${g}\n`);
    process.stdout.write(`${kept.length + leftovers.length} group(s), ${leftovers.length} leftover(s) of tests and tools\n`);
    return 0;
  }
  if (command === 'prune') {
    if (!yes) {
      process.stderr.write(`${(await consumerGroups(brokers)).leftovers.length} leftover group(s) would be deleted; add --yes\n`);
      return 2;
    }
    const deleted = await pruneConsumerGroups(brokers);
    process.stdout.write(`deleted ${deleted.length} leftover group(s)\n`);
    return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

// Exit only once stdout is flushed: to a pipe it is asynchronous, and a long list would be cut short.
main().then(
  (code) => process.stdout.write('', () => process.exit(code)),
  (e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  },
);
