// Creates the topics listed in infra/kafka/topics.txt in one JVM (TopicCommand needs one JVM
// per topic, ~1.5 s each on a 2-core box). Used by infra/scripts/kafka.sh; compiled once into
// .cache/kafka-helper (keyed by a hash of this file) and run with the jars of .cache/kafka-libs.
//
//   java -cp '.cache/kafka-helper:.cache/kafka-libs/*' EnsureTopics <bootstrap> <topics.txt> [timeout-s] [replication-factor]
//
// It waits (up to timeout-s) until the broker answers a describeCluster and a listTopics, so it
// doubles as the "broker is usable" check. Existing topics are never changed; a topic whose
// partition count differs from the file is reported as a warning. The replication factor of new
// topics defaults to 1 (one local node); kafka.sh passes 3 in its three-node mode. Exit codes: 0 ok, 1 failure,
// 2 usage error.

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.errors.TopicExistsException;

public final class EnsureTopics {
    private EnsureTopics() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: EnsureTopics <bootstrap-servers> <topics.txt> [timeout-seconds] [replication-factor]");
            System.exit(2);
        }
        String bootstrap = args[0];
        Map<String, Integer> wanted = parse(Path.of(args[1]));
        long timeoutMs = TimeUnit.SECONDS.toMillis(args.length > 2 ? Long.parseLong(args[2]) : 60);
        long deadline = System.currentTimeMillis() + timeoutMs;
        short replication = args.length > 3 ? Short.parseShort(args[3]) : 1;

        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "gelombang-ensure-topics");
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "15000");
        props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "1000");

        try (Admin admin = Admin.create(props)) {
            Set<String> existing = waitUntilUsable(admin, deadline);

            List<NewTopic> toCreate = new ArrayList<>();
            List<String> present = new ArrayList<>();
            for (Map.Entry<String, Integer> e : wanted.entrySet()) {
                if (existing.contains(e.getKey())) {
                    present.add(e.getKey());
                } else {
                    toCreate.add(new NewTopic(e.getKey(), e.getValue(), replication));
                }
            }

            List<String> created = new ArrayList<>();
            boolean failed = false;
            if (!toCreate.isEmpty()) {
                Map<String, ? extends java.util.concurrent.Future<Void>> results =
                        admin.createTopics(toCreate).values();
                for (NewTopic t : toCreate) {
                    try {
                        results.get(t.name()).get(30, TimeUnit.SECONDS);
                        created.add(t.name() + "(" + t.numPartitions() + ")");
                    } catch (ExecutionException ex) {
                        if (ex.getCause() instanceof TopicExistsException) {
                            present.add(t.name()); // created concurrently by someone else
                        } else {
                            failed = true;
                            System.err.println("failed to create " + t.name() + ": " + ex.getCause());
                        }
                    }
                }
            }

            if (!present.isEmpty()) {
                checkPartitions(admin, present, wanted);
            }

            waitForGroupCoordinator(admin, deadline);

            System.out.println("topics (replication " + replication + "): " + created.size() + " created"
                    + (created.isEmpty() ? "" : " " + created)
                    + ", " + present.size() + " already present, " + wanted.size() + " in file");
            System.exit(failed ? 1 : 0);
        }
    }

    /**
     * Until __consumer_offsets exists, group calls fail with NOT_COORDINATOR (kafkajs's admin does not
     * retry them: a service starting on a fresh broker would fail). Asking for a group's offsets makes
     * the broker create the topic; wait until that answers.
     */
    private static void waitForGroupCoordinator(Admin admin, long deadline) throws InterruptedException {
        while (true) {
            try {
                admin.listConsumerGroupOffsets("gelombang-coordinator-probe").partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
                return;
            } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                if (System.currentTimeMillis() > deadline) {
                    System.err.println("group coordinator not ready yet: " + e);
                    return;
                }
                Thread.sleep(500);
            }
        }
    }

    private static Set<String> waitUntilUsable(Admin admin, long deadline) throws InterruptedException {
        Exception last = null;
        while (System.currentTimeMillis() < deadline) {
            try {
                admin.describeCluster().nodes().get(10, TimeUnit.SECONDS);
                return admin.listTopics().names().get(10, TimeUnit.SECONDS);
            } catch (Exception ex) {
                last = ex;
                Thread.sleep(500);
            }
        }
        System.err.println("broker not usable before the deadline: " + last);
        System.exit(1);
        return Set.of();
    }

    private static void checkPartitions(Admin admin, Collection<String> names, Map<String, Integer> wanted) {
        try {
            Map<String, TopicDescription> descs =
                    admin.describeTopics(names).allTopicNames().get(15, TimeUnit.SECONDS);
            for (TopicDescription d : descs.values()) {
                int want = wanted.get(d.name());
                int have = d.partitions().size();
                if (have != want) {
                    System.err.println("WARN: topic " + d.name() + " has " + have
                            + " partitions, topics.txt says " + want + " (left unchanged)");
                }
            }
        } catch (Exception ex) {
            System.err.println("WARN: could not describe topics: " + ex);
        }
    }

    private static Map<String, Integer> parse(Path file) throws Exception {
        Map<String, Integer> topics = new LinkedHashMap<>();
        int lineNo = 0;
        for (String raw : Files.readAllLines(file)) {
            lineNo++;
            int hash = raw.indexOf('#');
            String line = (hash >= 0 ? raw.substring(0, hash) : raw).trim();
            if (line.isEmpty()) {
                continue;
            }
            String[] parts = line.split("\\s+");
            if (parts.length != 2 || !parts[1].matches("[1-9][0-9]*")) {
                System.err.println(file + ":" + lineNo + ": expected '<topic> <partitions>', got: " + raw);
                System.exit(2);
            }
            topics.put(parts[0], Integer.parseInt(parts[1]));
        }
        if (topics.isEmpty()) {
            System.err.println(file + ": no topics");
            System.exit(2);
        }
        return topics;
    }
}
