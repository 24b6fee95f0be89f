/* uid-mapper run: serve NRI, either pre-started by the runtime (socket on an
 * inherited fd) or as an external plugin that connects, and reconnects, to
 * the runtime's socket. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/log.h"
#include "plugin/config.h"
#include "plugin/mapper.h"
#include "plugin/stub.h"

#define DEFAULT_SOCKET "/var/run/nri/nri.sock"
#define DEFAULT_NAME "uid-mapper"
#define DEFAULT_IDX "00"
#define CONFIG_MAX_BYTES (1u << 20)
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000

/* ---- Options ---- */

struct run_options {
    const char *socket_path;
    const char *name;
    const char *idx;
    const char *config_path;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: uid-mapper run [--socket PATH] [--name NAME] [--idx NN]\n"
            "                      [--config FILE] [--log-level LEVEL]\n\n"
            "Serve containerd's NRI. Started by the runtime (pre-started plugin),\n"
            "the socket, name and index come from NRI_PLUGIN_SOCKET, NRI_PLUGIN_NAME\n"
            "and NRI_PLUGIN_IDX and the plugin exits when the runtime goes away.\n"
            "Otherwise it connects to the runtime as an external plugin and\n"
            "reconnects whenever the runtime restarts, until SIGTERM or SIGINT.\n\n"
            "  --socket PATH     runtime NRI socket (default " DEFAULT_SOCKET ")\n"
            "  --name NAME       plugin name (default " DEFAULT_NAME ")\n"
            "  --idx NN          two-digit plugin index (default " DEFAULT_IDX ")\n"
            "  --config FILE     YAML configuration, used when the runtime passes\n"
            "                    none (a non-empty runtime configuration wins)\n"
            "  --log-level LEVEL error, warn, info (default) or debug\n\n"
            "Exit codes: 0 stopped by a signal or the runtime went away (pre-started),\n"
            "            1 connection failure (pre-started) or registration refused,\n"
            "            2 bad usage or configuration.\n");
}

/* NRI's rules (pkg/api CheckPluginName, CheckPluginIndex). */
static bool valid_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.+", *s))
            return false;
    return true;
}

static bool valid_idx(const char *s)
{
    return strlen(s) == 2 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9';
}

/* Pre-started: the runtime names the inherited socket in NRI_PLUGIN_SOCKET. */
static bool prestarted(void)
{
    const char *env = getenv("NRI_PLUGIN_SOCKET");
    return env && *env;
}

/* NRI_PLUGIN_SOCKET names an inherited fd that must be a socket. */
static int prestarted_socket(const char *env)
{
    char *end;
    errno = 0;
    long fd = strtol(env, &end, 10);
    struct stat st;
    if (errno || end == env || *end || fd < 0 || fd > 1 << 20 ||
        fstat((int)fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        log_error("NRI_PLUGIN_SOCKET=%s is not an inherited socket fd; unset it to "
                  "run as an external plugin", env);
        return -1;
    }
    fcntl((int)fd, F_SETFD, FD_CLOEXEC);
    return (int)fd;
}

static int parse_options(int argc, char **argv, struct run_options *o)
{
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"name", required_argument, NULL, 'n'},
        {"idx", required_argument, NULL, 'i'},
        {"config", required_argument, NULL, 'c'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    *o = (struct run_options){DEFAULT_SOCKET, DEFAULT_NAME, DEFAULT_IDX, NULL};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        enum log_level level;
        switch (c) {
        case 's': o->socket_path = optarg; break;
        case 'n': o->name = optarg; break;
        case 'i': o->idx = optarg; break;
        case 'c': o->config_path = optarg; break;
        case 'l':
            if (log_level_parse(optarg, &level) != 0) {
                fprintf(stderr, "uid-mapper run: bad --log-level '%s' "
                        "(use error, warn, info or debug)\n", optarg);
                return -1;
            }
            log_set_level(level);
            break;
        case 'h': usage(stdout); return 1;
        default:
            fprintf(stderr, "uid-mapper run: bad option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "uid-mapper run: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }

    /* The runtime starts pre-started plugins with exactly these variables
     * and nothing else (no PATH, stdout and stderr discarded). */
    if (prestarted()) {
        const char *name = getenv("NRI_PLUGIN_NAME"), *idx = getenv("NRI_PLUGIN_IDX");
        if (name && *name)
            o->name = name;
        if (idx && *idx)
            o->idx = idx;
    }
    if (!valid_name(o->name)) {
        log_error("plugin name '%s' is invalid: use letters, digits and -_.+", o->name);
        return -1;
    }
    if (!valid_idx(o->idx)) {
        log_error("plugin index '%s' is invalid: use two digits, e.g. 10", o->idx);
        return -1;
    }
    return 0;
}

/* Reads the whole --config file; NULL (and a logged reason) on failure. */
static char *read_config(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        log_error("cannot open --config %s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(CONFIG_MAX_BYTES + 1);
    size_t n = text ? fread(text, 1, CONFIG_MAX_BYTES + 1, f) : 0;
    const char *why = !text                 ? "out of memory"
                      : n > CONFIG_MAX_BYTES ? "larger than 1 MiB"
                      : ferror(f)            ? strerror(errno)
                                             : NULL;
    fclose(f);
    if (why) {
        log_error("cannot read --config %s: %s", path, why);
        free(text);
        return NULL;
    }
    text[n] = '\0';

    /* Refuse a bad file now rather than at every (re)connection. */
    struct mapper_config cfg;
    char err[512];
    if (config_parse(text, &cfg, err, sizeof(err)) != 0) {
        log_error("--config %s: %s", path, err);
        free(text);
        return NULL;
    }
    config_free(&cfg);
    return text;
}

/* ---- Signals ---- */

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Blocks SIGTERM/SIGINT except while waiting (ppoll with *wait_mask), so a
 * signal can never slip in between the flag check and the wait. */
static void setup_signals(sigset_t *wait_mask)
{
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, wait_mask);
    sigdelset(wait_mask, SIGTERM);
    sigdelset(wait_mask, SIGINT);
}

/* Sleeps up to ms, waking early for a stop signal. */
static void pause_ms(int ms, const sigset_t *wait_mask)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    if (!stop_requested)
        ppoll(NULL, 0, &ts, wait_mask);
}

/* ---- Modes ---- */

static int connect_runtime(const char *path, bool quiet)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        log_error("--socket %s: path too long for a unix socket", path);
        return -2;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_error("cannot create a socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        if (quiet)
            log_debug("cannot connect to %s: %s", path, strerror(errno));
        else
            log_warn("cannot connect to the runtime at %s: %s; retrying (is NRI "
                     "enabled in containerd's config?)", path, strerror(errno));
        close(fd);
        return -1;
    }
    log_info("connected to the runtime at %s", path);
    return fd;
}

static int exit_code_for(enum nri_stub_result r)
{
    switch (r) {
    case NRI_STUB_STOPPED:
    case NRI_STUB_RUNTIME_GONE:
        return EXIT_OK;
    case NRI_STUB_CONFIG_REJECTED:
        return EXIT_USAGE;
    case NRI_STUB_REFUSED:
    case NRI_STUB_STREAM_ERROR:
        break;
    }
    return EXIT_FAIL;
}

static int run_external(const struct run_options *o, struct nri_stub_options *stub,
                        const sigset_t *wait_mask)
{
    int backoff = BACKOFF_FIRST_MS;
    bool failing = false;
    while (!stop_requested) {
        int fd = connect_runtime(o->socket_path, failing);
        if (fd == -2)
            return EXIT_USAGE;
        if (fd >= 0) {
            enum nri_stub_result r = nri_stub_serve(fd, stub);
            if (r == NRI_STUB_STOPPED || r == NRI_STUB_REFUSED ||
                r == NRI_STUB_CONFIG_REJECTED)
                return exit_code_for(r);
            log_info("reconnecting to the runtime at %s", o->socket_path);
            failing = false;
            backoff = BACKOFF_FIRST_MS;
        } else {
            failing = true;
        }
        pause_ms(backoff, wait_mask);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    return EXIT_OK;
}

int cmd_run(int argc, char **argv)
{
    log_init("uid-mapper", access("/dev/log", W_OK) == 0);

    struct run_options o;
    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? EXIT_OK : EXIT_USAGE;

    char *config_text = NULL;
    if (o.config_path && !(config_text = read_config(o.config_path)))
        return EXIT_USAGE;

    sigset_t wait_mask;
    setup_signals(&wait_mask);

    struct nri_handlers handlers;
    mapper_install(&handlers);
    struct nri_stub_options stub = {
        .name = o.name,
        .idx = o.idx,
        .fallback_config = config_text,
        .handlers = &handlers,
        .stop = &stop_requested,
        .wait_sigmask = &wait_mask,
    };

    if (prestarted()) {
        log_info("uid-mapper %s started by the runtime as %s-%s", UID_MAPPER_VERSION,
                 o.idx, o.name);
        int fd = prestarted_socket(getenv("NRI_PLUGIN_SOCKET"));
        rc = fd < 0 ? EXIT_FAIL : exit_code_for(nri_stub_serve(fd, &stub));
    } else {
        log_info("uid-mapper %s serving as external plugin %s-%s", UID_MAPPER_VERSION,
                 o.idx, o.name);
        rc = run_external(&o, &stub, &wait_mask);
    }
    if (stop_requested)
        log_info("stopped by signal");
    free(config_text);
    return rc;
}
