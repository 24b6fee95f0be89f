/* Sub-commands of uid-mapper. Each returns the process exit code:
 *   0  success
 *   1  the operation failed or is impossible (reason printed)
 *   2  bad usage or bad input (one line saying what is wrong) */
#pragma once

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

int cmd_run(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_audit(int argc, char **argv);
