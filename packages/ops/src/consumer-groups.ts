import pino from 'pino';
import { createKafka, withKafkaAdmin } from '@gelombang/platform';

/**
 * Names of the throwaway groups our tests and tools make (taps, reads, test apps, load runs, these
 * tools): never a service's or a partner's group. A leftover is one of these with no member.
 */
export const THROWAWAY_GROUP =
  /^(tap-|tail-|read-|test-|ops-test-|gelombang-ops-|ordinary-|loadtests-|partner\.test-|partner-test-)|-test-[0-9a-f]{12}|_t_[0-9a-f]{12}|-test-[a-z_]+_t_[0-9a-f]{12}/;

export interface GroupsReport {
  /** Empty throwaway groups: what `prune` deletes. */
  leftovers: string[];
  /** Everything else: services', partners', and throwaway groups still in use. */
  kept: Array<{ groupId: string; state: string }>;
}

const kafkaFor = (brokers: string[]) => createKafka({ brokers, clientId: 'gelombang-ops', logger: pino({ level: 'silent' }) });

export async function consumerGroups(brokers: string[]): Promise<GroupsReport> {
  const groups = await withKafkaAdmin(kafkaFor(brokers), (admin) => admin.listGroups());
  const leftovers = groups.filter((g) => g.state === 'Empty' && THROWAWAY_GROUP.test(g.groupId)).map((g) => g.groupId);
  return { leftovers: leftovers.sort(), kept: groups.filter((g) => !leftovers.includes(g.groupId)).sort((a, b) => a.groupId.localeCompare(b.groupId)) };
}

/**
 * Deletes the leftovers (empty throwaway groups); a group that gained a member meanwhile stays. `only`
 * narrows them (a test prunes its own). On a broker that tests share, run it while none runs: a test
 * between two runs of one group (a restart) has an empty group it still needs.
 */
export async function pruneConsumerGroups(brokers: string[], only: (groupId: string) => boolean = () => true): Promise<string[]> {
  const leftovers = (await consumerGroups(brokers)).leftovers.filter(only);
  if (leftovers.length === 0) return [];
  return withKafkaAdmin(kafkaFor(brokers), async (admin) => {
    const deleted: string[] = [];
    // One by one: kafkajs fails a whole call for one group that is no longer empty.
    for (const g of leftovers) {
      try {
        await admin.deleteGroups([g]);
        deleted.push(g);
      } catch {
        // It has a member again, or is gone already: not ours to force.
      }
    }
    return deleted;
  });
}
