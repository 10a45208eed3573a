/*
 * mock_broker: a Kafka-protocol test broker for duckstream's test suite,
 * built on librdkafka's mock cluster (librdkafka/rdkafka_mock.h).
 *
 * Build:  gcc -O2 -Wall -o mock-broker mock_broker.c -lrdkafka
 * Usage:  mock-broker [brokers=1]
 *
 * On start prints exactly one line "BOOTSTRAP host:port[,host:port...]" to
 * stdout. Then reads commands from stdin, one per line, and answers each
 * with exactly one line, "OK" or "ERR <message>":
 *
 *   topic <name> <partitions> [replication]   create a topic
 *   down <brokerId|-1>                        disconnect broker, refuse conns
 *   up <brokerId|-1>                          accept connections again
 *   leader <topic> <partition> <brokerId|-1>  move a partition's leader
 *   errors <Api> <count> <ERR> [<ERR> ...]    next <count> requests of <Api>
 *                                             (cluster-wide) fail; errors are
 *                                             used in order, the last one
 *                                             repeats to fill <count>
 *   broker_errors <brokerId> <Api> <ERR> <rttMs> [<ERR> <rttMs> ...]
 *                                             per-broker error/delay stack
 *   clear [Api]                               clear cluster error stacks
 *                                             (all APIs, or just one)
 *   rtt <brokerId|-1> <ms>                    set broker round-trip delay
 *   coordinator <group|transaction> <key> <brokerId>
 *   topic_error <topic> <ERR>                 error for Metadata on a topic
 *   apiversion <Api> <min> <max>              restrict (-1 -1 disables) an API
 *   ping                                      answers OK
 *   quit                                      answers OK and exits
 *
 * <Api> is a Kafka ApiKey name (Produce, Fetch, ListOffsets, Metadata,
 * OffsetCommit, OffsetFetch, FindCoordinator, JoinGroup, ...) or number.
 * <ERR> is an error name with or without the RD_KAFKA_RESP_ERR_ prefix
 * (NOT_LEADER_FOR_PARTITION, alias NOT_LEADER_OR_FOLLOWER, _TRANSPORT, ...)
 * or a number; NO_ERROR / 0 is allowed in broker_errors.
 *
 * EOF on stdin exits (so the broker dies with its parent test process).
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_TOKENS 64
#define MAX_ERRS   1024

static const struct {
        const char *name;
        int key;
} api_names[] = {
    {"Produce", 0},
    {"Fetch", 1},
    {"ListOffsets", 2},
    {"Offset", 2},
    {"Metadata", 3},
    {"LeaderAndIsr", 4},
    {"StopReplica", 5},
    {"UpdateMetadata", 6},
    {"ControlledShutdown", 7},
    {"OffsetCommit", 8},
    {"OffsetFetch", 9},
    {"FindCoordinator", 10},
    {"GroupCoordinator", 10},
    {"JoinGroup", 11},
    {"Heartbeat", 12},
    {"LeaveGroup", 13},
    {"SyncGroup", 14},
    {"DescribeGroups", 15},
    {"ListGroups", 16},
    {"SaslHandshake", 17},
    {"ApiVersions", 18},
    {"CreateTopics", 19},
    {"DeleteTopics", 20},
    {"DeleteRecords", 21},
    {"InitProducerId", 22},
    {"OffsetForLeaderEpoch", 23},
    {"AddPartitionsToTxn", 24},
    {"AddOffsetsToTxn", 25},
    {"EndTxn", 26},
    {"WriteTxnMarkers", 27},
    {"TxnOffsetCommit", 28},
    {"DescribeAcls", 29},
    {"CreateAcls", 30},
    {"DeleteAcls", 31},
    {"DescribeConfigs", 32},
    {"AlterConfigs", 33},
    {"AlterReplicaLogDirs", 34},
    {"DescribeLogDirs", 35},
    {"SaslAuthenticate", 36},
    {"CreatePartitions", 37},
    {"CreateDelegationToken", 38},
    {"RenewDelegationToken", 39},
    {"ExpireDelegationToken", 40},
    {"DescribeDelegationToken", 41},
    {"DeleteGroups", 42},
    {"ElectLeaders", 43},
    {"IncrementalAlterConfigs", 44},
    {"AlterPartitionReassignments", 45},
    {"ListPartitionReassignments", 46},
    {"OffsetDelete", 47},
    {NULL, 0},
};

static rd_kafka_mock_cluster_t *mcluster;

static void reply_ok(void) {
        fputs("OK\n", stdout);
        fflush(stdout);
}

static void reply_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply_err(const char *fmt, ...) {
        va_list ap;
        fputs("ERR ", stdout);
        va_start(ap, fmt);
        vfprintf(stdout, fmt, ap);
        va_end(ap);
        fputc('\n', stdout);
        fflush(stdout);
}

/* Strict integer parse: whole token, in [min, max]. */
static int parse_long(const char *s, long min, long max, long *out) {
        char *end;
        long v;
        if (!s || !*s)
                return -1;
        errno = 0;
        v     = strtol(s, &end, 10);
        if (errno || *end || v < min || v > max)
                return -1;
        *out = v;
        return 0;
}

static int parse_api(const char *s, int16_t *out) {
        long v;
        int i;
        if (parse_long(s, 0, 32767, &v) == 0) {
                *out = (int16_t)v;
                return 0;
        }
        for (i = 0; api_names[i].name; i++) {
                if (!strcasecmp(s, api_names[i].name)) {
                        *out = (int16_t)api_names[i].key;
                        return 0;
                }
        }
        /* Accept "ProduceRequest" etc. */
        for (i = 0; api_names[i].name; i++) {
                size_t n = strlen(api_names[i].name);
                if (!strncasecmp(s, api_names[i].name, n) &&
                    !strcasecmp(s + n, "Request")) {
                        *out = (int16_t)api_names[i].key;
                        return 0;
                }
        }
        return -1;
}

static int parse_err(const char *s, rd_kafka_resp_err_t *out) {
        const struct rd_kafka_err_desc *descs;
        size_t cnt, i;
        long v;
        if (parse_long(s, -200, 1000, &v) == 0) {
                *out = (rd_kafka_resp_err_t)v;
                return 0;
        }
        if (!strncasecmp(s, "RD_KAFKA_RESP_ERR_", 18))
                s += 18;
        /* Newer Kafka name for code 6 (librdkafka 2.0 still calls it
         * NOT_LEADER_FOR_PARTITION). */
        if (!strcasecmp(s, "NOT_LEADER_OR_FOLLOWER")) {
                *out = RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION;
                return 0;
        }
        if (!strcasecmp(s, "NO_ERROR")) {
                *out = RD_KAFKA_RESP_ERR_NO_ERROR;
                return 0;
        }
        rd_kafka_get_err_descs(&descs, &cnt);
        for (i = 0; i < cnt; i++) {
                if (descs[i].name && !strcasecmp(s, descs[i].name)) {
                        *out = descs[i].code;
                        return 0;
                }
        }
        return -1;
}

static int parse_broker(const char *s, int32_t *out) {
        long v;
        if (parse_long(s, -1, 1000000, &v))
                return -1;
        *out = (int32_t)v;
        return 0;
}

static void handle(char **tok, int ntok) {
        const char *cmd = tok[0];
        rd_kafka_resp_err_t err;
        long v, v2, v3;
        int16_t api;
        int32_t broker;

#define NEED(n, usage)                                                         \
        do {                                                                   \
                if (ntok < (n)) {                                              \
                        reply_err("usage: %s", usage);                         \
                        return;                                                \
                }                                                              \
        } while (0)
#define CHECK(e)                                                               \
        do {                                                                   \
                rd_kafka_resp_err_t _e = (e);                                  \
                if (_e) {                                                      \
                        reply_err("%s: %s", rd_kafka_err2name(_e),             \
                                  rd_kafka_err2str(_e));                       \
                        return;                                                \
                }                                                              \
                reply_ok();                                                    \
                return;                                                        \
        } while (0)

        if (!strcmp(cmd, "ping")) {
                reply_ok();

        } else if (!strcmp(cmd, "topic")) {
                NEED(3, "topic <name> <partitions> [replication]");
                if (parse_long(tok[2], 1, 100000, &v)) {
                        reply_err("bad partition count '%s'", tok[2]);
                        return;
                }
                v2 = 1;
                if (ntok >= 4 && parse_long(tok[3], 1, 1000, &v2)) {
                        reply_err("bad replication factor '%s'", tok[3]);
                        return;
                }
                CHECK(rd_kafka_mock_topic_create(mcluster, tok[1], (int)v,
                                                 (int)v2));

        } else if (!strcmp(cmd, "down") || !strcmp(cmd, "up")) {
                NEED(2, "down|up <brokerId|-1>");
                if (parse_broker(tok[1], &broker)) {
                        reply_err("bad broker id '%s'", tok[1]);
                        return;
                }
                if (cmd[0] == 'd')
                        CHECK(rd_kafka_mock_broker_set_down(mcluster, broker));
                else
                        CHECK(rd_kafka_mock_broker_set_up(mcluster, broker));

        } else if (!strcmp(cmd, "leader")) {
                NEED(4, "leader <topic> <partition> <brokerId|-1>");
                if (parse_long(tok[2], 0, 100000, &v)) {
                        reply_err("bad partition '%s'", tok[2]);
                        return;
                }
                if (parse_broker(tok[3], &broker)) {
                        reply_err("bad broker id '%s'", tok[3]);
                        return;
                }
                CHECK(rd_kafka_mock_partition_set_leader(mcluster, tok[1],
                                                         (int32_t)v, broker));

        } else if (!strcmp(cmd, "errors")) {
                rd_kafka_resp_err_t errs[MAX_ERRS];
                int i, nerr = ntok - 3;
                NEED(4, "errors <Api> <count> <ERR> [<ERR> ...]");
                if (parse_api(tok[1], &api)) {
                        reply_err("unknown api '%s'", tok[1]);
                        return;
                }
                if (parse_long(tok[2], 1, MAX_ERRS, &v)) {
                        reply_err("bad count '%s' (1..%d)", tok[2], MAX_ERRS);
                        return;
                }
                if (nerr > v) {
                        reply_err("%d error codes given for count %ld", nerr,
                                  v);
                        return;
                }
                for (i = 0; i < nerr; i++) {
                        if (parse_err(tok[3 + i], &errs[i])) {
                                reply_err("unknown error code '%s'",
                                          tok[3 + i]);
                                return;
                        }
                }
                for (; i < v; i++)
                        errs[i] = errs[nerr - 1];
                rd_kafka_mock_push_request_errors_array(mcluster, api,
                                                        (size_t)v, errs);
                reply_ok();

        } else if (!strcmp(cmd, "broker_errors")) {
                /* Up to 8 (err, rtt) pairs; the va-arg API is the only one. */
                rd_kafka_resp_err_t e[8];
                int r[8], i, n;
                NEED(5, "broker_errors <brokerId> <Api> <ERR> <rttMs> "
                        "[<ERR> <rttMs> ...]");
                if ((ntok - 3) % 2 || (ntok - 3) / 2 > 8) {
                        reply_err("need 1..8 <ERR> <rttMs> pairs");
                        return;
                }
                if (parse_broker(tok[1], &broker) || broker < 0) {
                        reply_err("bad broker id '%s'", tok[1]);
                        return;
                }
                if (parse_api(tok[2], &api)) {
                        reply_err("unknown api '%s'", tok[2]);
                        return;
                }
                n = (ntok - 3) / 2;
                for (i = 0; i < 8; i++) {
                        e[i] = 0;
                        r[i] = 0;
                }
                for (i = 0; i < n; i++) {
                        if (parse_err(tok[3 + 2 * i], &e[i])) {
                                reply_err("unknown error code '%s'",
                                          tok[3 + 2 * i]);
                                return;
                        }
                        if (parse_long(tok[4 + 2 * i], 0, 3600000, &v)) {
                                reply_err("bad rtt '%s'", tok[4 + 2 * i]);
                                return;
                        }
                        r[i] = (int)v;
                }
                CHECK(rd_kafka_mock_broker_push_request_error_rtts(
                    mcluster, broker, api, (size_t)n, e[0], r[0], e[1], r[1],
                    e[2], r[2], e[3], r[3], e[4], r[4], e[5], r[5], e[6], r[6],
                    e[7], r[7]));

        } else if (!strcmp(cmd, "clear")) {
                if (ntok >= 2) {
                        if (parse_api(tok[1], &api)) {
                                reply_err("unknown api '%s'", tok[1]);
                                return;
                        }
                        rd_kafka_mock_clear_request_errors(mcluster, api);
                } else {
                        int k;
                        for (k = 0; k <= 70; k++)
                                rd_kafka_mock_clear_request_errors(
                                    mcluster, (int16_t)k);
                }
                reply_ok();

        } else if (!strcmp(cmd, "rtt")) {
                NEED(3, "rtt <brokerId|-1> <ms>");
                if (parse_broker(tok[1], &broker)) {
                        reply_err("bad broker id '%s'", tok[1]);
                        return;
                }
                if (parse_long(tok[2], 0, 3600000, &v)) {
                        reply_err("bad rtt '%s'", tok[2]);
                        return;
                }
                CHECK(rd_kafka_mock_broker_set_rtt(mcluster, broker, (int)v));

        } else if (!strcmp(cmd, "coordinator")) {
                NEED(4, "coordinator <group|transaction> <key> <brokerId>");
                if (strcmp(tok[1], "group") && strcmp(tok[1], "transaction")) {
                        reply_err("key type must be group or transaction");
                        return;
                }
                if (parse_broker(tok[3], &broker)) {
                        reply_err("bad broker id '%s'", tok[3]);
                        return;
                }
                CHECK(rd_kafka_mock_coordinator_set(mcluster, tok[1], tok[2],
                                                    broker));

        } else if (!strcmp(cmd, "topic_error")) {
                NEED(3, "topic_error <topic> <ERR>");
                if (parse_err(tok[2], &err)) {
                        reply_err("unknown error code '%s'", tok[2]);
                        return;
                }
                rd_kafka_mock_topic_set_error(mcluster, tok[1], err);
                reply_ok();

        } else if (!strcmp(cmd, "apiversion")) {
                NEED(4, "apiversion <Api> <min> <max>");
                if (parse_api(tok[1], &api)) {
                        reply_err("unknown api '%s'", tok[1]);
                        return;
                }
                if (parse_long(tok[2], -1, 100, &v2) ||
                    parse_long(tok[3], -1, 100, &v3)) {
                        reply_err("bad version range");
                        return;
                }
                CHECK(rd_kafka_mock_set_apiversion(mcluster, api, (int16_t)v2,
                                                   (int16_t)v3));

        } else {
                reply_err("unknown command '%s'", cmd);
        }
#undef NEED
#undef CHECK
}

int main(int argc, char **argv) {
        char errstr[512];
        char line[8192];
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        long nbrokers = 1;

        signal(SIGPIPE, SIG_IGN);

        if (argc > 2 || (argc == 2 && parse_long(argv[1], 1, 64, &nbrokers))) {
                fprintf(stderr, "usage: %s [brokers 1..64]\n", argv[0]);
                return 2;
        }

        /* The mock cluster needs an rd_kafka_t for bookkeeping only; it is
         * never used to produce. */
        conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "log_level", "3", errstr,
                              sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "conf: %s\n", errstr);
                return 1;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "rd_kafka_new: %s\n", errstr);
                return 1;
        }
        mcluster = rd_kafka_mock_cluster_new(rk, (int)nbrokers);
        if (!mcluster) {
                fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
                rd_kafka_destroy(rk);
                return 1;
        }

        printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mcluster));
        fflush(stdout);

        while (fgets(line, sizeof(line), stdin)) {
                char *tok[MAX_TOKENS];
                int ntok = 0;
                char *p  = line, *save = NULL, *t;
                size_t len = strlen(line);

                if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
                        int c;
                        while ((c = getchar()) != EOF && c != '\n')
                                ;
                        reply_err("line too long");
                        continue;
                }
                while ((t = strtok_r(p, " \t\r\n", &save)) != NULL) {
                        p = NULL;
                        if (ntok == MAX_TOKENS) {
                                ntok = -1;
                                break;
                        }
                        tok[ntok++] = t;
                }
                if (ntok < 0) {
                        reply_err("too many arguments");
                        continue;
                }
                if (ntok == 0) {
                        reply_err("empty command");
                        continue;
                }
                if (!strcmp(tok[0], "quit")) {
                        reply_ok();
                        break;
                }
                handle(tok, ntok);
        }

        rd_kafka_mock_cluster_destroy(mcluster);
        rd_kafka_destroy(rk);
        return 0;
}
