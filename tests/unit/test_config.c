/* The YAML configuration: every key, defaults, and every kind of bad input
 * failing with a message that names the key. */
#include "plugin/config.h"
#include "unit.h"

static struct mapper_config cfg;
static char err[512];

static int parse(const char *text)
{
    err[0] = '\0';
    return config_parse(text, &cfg, err, sizeof(err));
}

TEST(empty_text_gives_defaults)
{
    const char *empties[] = {NULL, "", "\n", "# only a comment\n", "---\n", "~\n"};
    for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
        CHECK(parse(empties[i]) == 0);
        CHECK_STR(cfg.state_dir, "/run/uid-mapper");
        CHECK(!cfg.has_pool);
        CHECK(cfg.on_error == ON_ERROR_FAIL);
        CHECK(!cfg.has_log_level);
        CHECK_EQ_U(cfg.nextra_uids + cfg.nextra_gids + cfg.nskip_namespaces, 0);
        config_free(&cfg);
    }
}

TEST(every_key)
{
    CHECK(parse("pool: \"0-2047,65520-65535\"\n"
                "extra_uids: [0, 65534]\n"
                "extra_gids:\n  - 5\n  - 4294967294\n"
                "state_dir: /var/run/um/\n"
                "skip_namespaces: [kube-system, \"monitoring\"]\n"
                "on_error: skip\n"
                "log_level: debug\n") == 0);
    CHECK_STR(err, "");
    CHECK(cfg.has_pool);
    CHECK_EQ_U(cfg.pool.n, 2);
    CHECK_EQ_U(cfg.pool.size, 2048 + 16);
    CHECK_EQ_U(cfg.nextra_uids, 2);
    CHECK_EQ_U(cfg.extra_uids[1], 65534);
    CHECK_EQ_U(cfg.nextra_gids, 2);
    CHECK_EQ_U(cfg.extra_gids[1], 4294967294u);
    CHECK_STR(cfg.state_dir, "/var/run/um");
    CHECK_EQ_U(cfg.nskip_namespaces, 2);
    CHECK(config_skips_namespace(&cfg, "monitoring"));
    CHECK(!config_skips_namespace(&cfg, "default"));
    CHECK(cfg.on_error == ON_ERROR_SKIP);
    CHECK(cfg.has_log_level && cfg.log_level == LOG_LVL_DEBUG);
    config_free(&cfg);
}

TEST(empty_sequences_are_fine)
{
    CHECK(parse("extra_uids: []\nskip_namespaces: []\n") == 0);
    CHECK_EQ_U(cfg.nextra_uids, 0);
    config_free(&cfg);
}

/* Each bad configuration and a fragment its message must contain. */
static const struct {
    const char *yaml;
    const char *says;
} bad[] = {
    {"pools: \"0-10\"\n", "unknown key \"pools\""},
    {"pool: \"0-10\"\npool: \"0-20\"\n", "\"pool\" is given more than once"},
    {"pool: \"10-0\"\n", "pool:"},
    {"pool: \"zero\"\n", "pool:"},
    {"pool: [0, 10]\n", "pool: expected a single value, got a sequence"},
    {"pool:\n", "pool: has no value"},
    {"extra_uids: \"1,2,3\"\n", "extra_uids: expected a YAML sequence"},
    {"extra_uids: 5\n", "extra_uids: expected a YAML sequence"},
    {"extra_uids: [\"5\"]\n", "extra_uids[0]: expected an integer ID, got the quoted string"},
    {"extra_uids: [1, -5]\n", "extra_uids[1]: \"-5\" is not a decimal ID"},
    {"extra_uids: [0x10]\n", "extra_uids[0]: \"0x10\" is not a decimal ID"},
    {"extra_uids: [4294967295]\n", "extra_uids[0]: 4294967295 is out of range"},
    {"extra_uids: [99999999999]\n", "extra_uids[0]: \"99999999999\" is not a decimal ID"},
    {"extra_gids: [[1]]\n", "extra_gids[0]: expected an integer ID, got a sequence"},
    {"extra_gids: {a: 1}\n", "extra_gids: expected a YAML sequence"},
    {"state_dir: run/uid-mapper\n", "state_dir: \"run/uid-mapper\" must be an absolute"},
    {"state_dir: /\n", "state_dir: \"/\" must be an absolute directory path other than /"},
    {"state_dir: /run/../etc\n", "state_dir: \"/run/../etc\" must be a plain path"},
    {"state_dir: /run/x/..\n", "must be a plain path"},
    {"state_dir: [/run]\n", "state_dir: expected a single value"},
    {"skip_namespaces: kube-system\n", "skip_namespaces: expected a YAML sequence"},
    {"skip_namespaces: [\"\"]\n", "skip_namespaces[0]: empty namespace name"},
    {"skip_namespaces: [a, {b: c}]\n", "skip_namespaces[1]: expected a single value"},
    {"on_error: ignore\n", "on_error: \"ignore\" is not one of fail, skip"},
    {"on_error: [fail]\n", "on_error: expected a single value"},
    {"log_level: verbose\n", "log_level: \"verbose\" is not one of error, warn, info, debug"},
    {"- pool\n", "expected a mapping of keys"},
    {"just text\n", "expected a mapping of keys"},
    {"pool: \"0-10\n", "invalid YAML at line"},
    {"on_error: fail\n  log_level: info\n", "invalid YAML at line"},
    {"on_error: fail\n---\non_error: skip\n", "more than one YAML document"},
    {"[a]: b\n", "a key must be a plain name"},
};

TEST(every_bad_configuration_names_the_problem)
{
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = parse(bad[i].yaml);
        if (rc != -1 || !strstr(err, bad[i].says) || strncmp(err, "config: ", 8) != 0) {
            fprintf(stderr, "  case %zu (%s): rc %d, err \"%s\", want \"%s\"\n", i,
                    bad[i].yaml, rc, err, bad[i].says);
            CHECK(0);
        }
        /* Nothing of a bad configuration is kept. */
        CHECK(cfg.state_dir == NULL && cfg.extra_uids == NULL && !cfg.has_pool);
    }
}

TEST(long_state_dir_rejected)
{
    char yaml[600] = "state_dir: /";
    memset(yaml + 12, 'a', 300);
    strcpy(yaml + 312, "\n");
    CHECK(parse(yaml) == -1);
    CHECK(strstr(err, "state_dir: path is longer than 255 bytes") != NULL);
}

int main(void)
{
    RUN(empty_text_gives_defaults);
    RUN(every_key);
    RUN(empty_sequences_are_fine);
    RUN(every_bad_configuration_names_the_problem);
    RUN(long_state_dir_rejected);
    return unit_done();
}
