/* uid-mapper: containerd NRI plugin that runs each workload container in a
 * pinned user namespace with a deterministic, kernel-valid id mapping. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static const struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"run", cmd_run, "serve NRI (default; what containerd starts)"},
    {"plan", cmd_plan, "print the id mapping a container user would get"},
    {"status", cmd_status, "list pinned user namespaces and their containers"},
    {"audit", cmd_audit, "list the ids an image needs; check a pool covers them"},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: uid-mapper [--version] [--help] [COMMAND [ARGS]]\n\n"
            "Commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n'uid-mapper COMMAND --help' describes a command.\n"
            "Exit codes: 0 success, 1 operation failed or impossible,\n"
            "            2 bad usage or bad input.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return cmd_run(argc, argv);
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("uid-mapper %s\n", UID_MAPPER_VERSION);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    if (argv[1][0] == '-') /* options of the default command */
        return cmd_run(argc, argv);
    fprintf(stderr, "uid-mapper: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
