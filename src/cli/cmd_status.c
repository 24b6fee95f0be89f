/* Placeholder so the binary links while 'uid-mapper status' is being written;
 * the owner of this command replaces this file. */
#include <stdio.h>
#include "cli/commands.h"

int cmd_status(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "uid-mapper: 'status' is not built yet\n");
    return EXIT_FAIL;
}
