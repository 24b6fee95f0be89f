/* uid-mapper plan, run as a process: output, exit codes, error lines. */
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "run_binary.h"
#include "unit.h"

static char binary[PATH_MAX];
static char map_2048[] = "/tmp/test_plan_cli_map.XXXXXX";

/* Runs "uid-mapper plan ARGS..." (NULL-terminated) with stdin_text as its
 * standard input. */
static void run(struct captured *r, const char *stdin_text, ...)
{
    char *argv[32] = {binary, "plan"};
    int argc = 2;
    va_list ap;
    va_start(ap, stdin_text);
    while (argc < 31 && (argv[argc] = va_arg(ap, char *)) != NULL)
        argc++;
    va_end(ap);
    argv[argc] = NULL;
    run_captured(argv, stdin_text, r);
}

static size_t lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* exit code and a single error line starting with want */
static void check_error(const struct captured *r, int status, const char *want)
{
    CHECK_EQ_U(r->status, status);
    CHECK_EQ_U(lines(r->err), 1);
    CHECK_STR(r->out, "");
    if (strncmp(r->err, want, strlen(want)) != 0) {
        fprintf(stderr, "  stderr \"%s\" does not start with \"%s\"\n", r->err, want);
        CHECK(0);
    }
}

static const char example_json[] =
    "{\"uidMappings\":[{\"containerID\":0,\"hostID\":0,\"size\":2044},"
    "{\"containerID\":2045,\"hostID\":2045,\"size\":3},"
    "{\"containerID\":65532,\"hostID\":2044,\"size\":1}],"
    "\"gidMappings\":[{\"containerID\":0,\"hostID\":0,\"size\":2044},"
    "{\"containerID\":2045,\"hostID\":2045,\"size\":3},"
    "{\"containerID\":65532,\"hostID\":2044,\"size\":1}],"
    "\"collisions\":[{\"kind\":\"uid\",\"containerID\":2044,\"hostID\":2044,\"displacedBy\":65532},"
    "{\"kind\":\"gid\",\"containerID\":2044,\"hostID\":2044,\"displacedBy\":65532}]}\n";

TEST(issue_example_json)
{
    static struct captured r;
    run(&r, "", "--uid-map", map_2048, "--gid-map", map_2048, "--user", "65532:65532",
        "--json", NULL);
    CHECK_EQ_U(r.status, 0);
    CHECK_STR(r.out, example_json);
    CHECK_STR(r.err, "");
}

TEST(both_maps_from_standard_input)
{
    static struct captured r;
    run(&r, "0 1000 2048\n", "--uid-map", "-", "--gid-map", "-", "--user", "65532:65532",
        "--json", NULL);
    CHECK_EQ_U(r.status, 0);
    CHECK_STR(r.out, example_json);
}

TEST(text_output_names_each_collision)
{
    static struct captured r;
    run(&r, "", "--uid-map", map_2048, "--gid-map", map_2048, "--user", "65532:65532",
        "--groups", "65534,5", "--extra-uids", "0,65534", NULL);
    CHECK_EQ_U(r.status, 0);
    CHECK(strstr(r.out, "         65532         2044            1\n") != NULL);
    CHECK(strstr(r.out, "uid 2044 is unmapped: its host ID 2044 now serves uid 65532") != NULL);
    CHECK(strstr(r.out, "uid 2046 is unmapped: its host ID 2046 now serves uid 65534") != NULL);
    CHECK(strstr(r.out, "gid 2044 is unmapped: its host ID 2044 now serves gid 65532") != NULL);
    CHECK(strstr(r.out, "gid 2046 is unmapped: its host ID 2046 now serves gid 65534") != NULL);
    CHECK(strstr(r.out, "gid 5 ") == NULL); /* 5 is in the pool: no collision */
}

TEST(groups_and_extras_reach_the_json)
{
    static struct captured r;
    run(&r, "0 0 10\n", "--uid-map", "-", "--gid-map", map_2048, "--user", "20:10",
        "--groups", "3,2049", "--extra-uids", "9", "--extra-gids", "2048", "--json", NULL);
    CHECK_EQ_U(r.status, 0);
    CHECK_STR(r.out,
              "{\"uidMappings\":[{\"containerID\":1,\"hostID\":1,\"size\":9},"
              "{\"containerID\":20,\"hostID\":0,\"size\":1}],"
              "\"gidMappings\":[{\"containerID\":2,\"hostID\":2,\"size\":2046},"
              "{\"containerID\":2048,\"hostID\":0,\"size\":2}],"
              "\"collisions\":[{\"kind\":\"uid\",\"containerID\":0,\"hostID\":0,\"displacedBy\":20},"
              "{\"kind\":\"gid\",\"containerID\":1,\"hostID\":1,\"displacedBy\":2049},"
              "{\"kind\":\"gid\",\"containerID\":0,\"hostID\":0,\"displacedBy\":2048}]}\n");
}

TEST(help_documents_options_and_exit_codes)
{
    static struct captured r;
    run(&r, "", "--help", NULL);
    CHECK_EQ_U(r.status, 0);
    const char *words[] = {"--uid-map", "--gid-map", "--pool", "--extra-uids", "--extra-gids",
                           "--user", "--groups", "--json", "Exit codes"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        CHECK(strstr(r.out, words[i]) != NULL);
}

TEST(bad_input_exits_2_with_one_line)
{
    static struct captured r;
    run(&r, "0 0 10\n0 1000 x\n", "--uid-map", "-", "--user", "0:0", NULL);
    check_error(&r, 2, "uid-mapper plan: -: line 2: expected three decimal numbers");
    run(&r, "0 0 10\n5 100 2\n", "--uid-map", map_2048, "--gid-map", "-", "--user", "0:0",
        NULL);
    check_error(&r, 2, "uid-mapper plan: -: line 2: its first-column range overlaps");
    run(&r, "", "--uid-map", "/nonexistent/uid_map", "--user", "0:0", NULL);
    check_error(&r, 2, "uid-mapper plan: cannot open /nonexistent/uid_map: No such file");
    run(&r, "", "--uid-map", "/", "--user", "0:0", NULL);
    check_error(&r, 2, "uid-mapper plan: cannot read /: Is a directory");
    run(&r, "", "--frobnicate", NULL);
    check_error(&r, 2, "uid-mapper plan: unknown option '--frobnicate'");
    run(&r, "", "--user", NULL);
    check_error(&r, 2, "uid-mapper plan: --user needs a value");
    run(&r, "", "--uid-map", map_2048, "stray", NULL);
    check_error(&r, 2, "uid-mapper plan: unexpected argument 'stray'");
    run(&r, "", "--uid-map", map_2048, NULL);
    check_error(&r, 2, "uid-mapper plan: --user UID:GID is required");
    const char *bad_users[] = {"65532", "65532:", ":5", "1:2:3", "1,2:3", "x:1",
                               "4294967295:0", "0:4294967295", "-1:0"};
    for (size_t i = 0; i < sizeof(bad_users) / sizeof(bad_users[0]); i++) {
        run(&r, "", "--uid-map", map_2048, "--gid-map", map_2048, "--user", bad_users[i],
            NULL);
        check_error(&r, 2, "uid-mapper plan: --user \"");
    }
    run(&r, "", "--uid-map", map_2048, "--gid-map", map_2048, "--user", "0:0", "--groups",
        "1,,2", NULL);
    check_error(&r, 2, "uid-mapper plan: --groups: \"\" is not an ID");
    run(&r, "", "--uid-map", map_2048, "--gid-map", map_2048, "--user", "0:0",
        "--extra-gids", "4294967295", NULL);
    check_error(&r, 2, "uid-mapper plan: --extra-gids: \"4294967295\" is not an ID");
    run(&r, "", "--uid-map", map_2048, "--gid-map", map_2048, "--user", "0:0", "--pool",
        "9-3", NULL);
    check_error(&r, 2, "uid-mapper plan: --pool: pool range 1 \"9-3\"");
}

TEST(impossible_requests_exit_1_with_the_reason)
{
    static struct captured r;
    run(&r, "", "--uid-map", map_2048, "--gid-map", map_2048, "--user", "0:0", "--pool",
        "5000-6000", NULL);
    check_error(&r, 1, "uid-mapper plan: cannot map uids: the pool is empty");
    run(&r, "0 0 2\n", "--uid-map", "-", "--gid-map", map_2048, "--user", "5:0",
        "--extra-uids", "6,7", NULL);
    check_error(&r, 1, "uid-mapper plan: cannot map uids: more distinct IDs are required "
                       "than the pool holds");
    run(&r, "", "--uid-map", map_2048, "--gid-map", "-", "--user", "0:0", NULL);
    check_error(&r, 1, "uid-mapper plan: cannot map gids: the pool is empty");

    /* 340 three-ID ranges (1020 IDs), and an outside ID homed on the middle
     * of the first (102001 mod 1020 = 1) splits it: 342 lines */
    static char ranges[8192];
    char *s = ranges;
    for (int i = 0; i < 340; i++)
        s += sprintf(s, "%s%d-%d", i ? "," : "", 4 * i, 4 * i + 2);
    run(&r, "0 0 4294967295\n", "--uid-map", "-", "--gid-map", map_2048, "--user", "0:0",
        "--pool", ranges, "--extra-uids", "102001", NULL);
    check_error(&r, 1, "uid-mapper plan: cannot map uids: the map would need more than 340");
}

int main(void)
{
    if (uid_mapper_binary(binary) < 0)
        return 1;
    int fd = mkstemp(map_2048);
    if (fd < 0 || write(fd, "0 1000 2048\n", 12) != 12)
        return 1;
    close(fd);

    RUN(issue_example_json);
    RUN(both_maps_from_standard_input);
    RUN(text_output_names_each_collision);
    RUN(groups_and_extras_reach_the_json);
    RUN(help_documents_options_and_exit_codes);
    RUN(bad_input_exits_2_with_one_line);
    RUN(impossible_requests_exit_1_with_the_reason);
    unlink(map_2048);
    return unit_done();
}
