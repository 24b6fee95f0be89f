/* Placeholder so the binary links while 'uid-mapper audit' is being written;
 * the owner of this command replaces this file. */
#include <stdio.h>
#include "cli/commands.h"

int cmd_audit(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "uid-mapper: 'audit' is not built yet\n");
    return EXIT_FAIL;
}
