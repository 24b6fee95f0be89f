#include "audit/userdb.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/decimal.h"
#include "policy/idmap.h"

#define USERDB_NAME_MAX 256

/* A decimal ID that is the whole of s (what runc accepts as a numeric user). */
static bool parse_id(const char *s, uint32_t *id)
{
    const char *end = decimal_u32(s, id);
    return end && *end == '\0' && *id <= IDMAP_MAX_ID;
}

/* Field i (0-based) of a colon-separated line [line, eol) copied into buf. */
static bool field(const char *line, const char *eol, int i, char *buf, size_t len)
{
    const char *f = line;
    for (; i > 0; i--) {
        f = memchr(f, ':', (size_t)(eol - f));
        if (!f)
            return false;
        f++;
    }
    const char *colon = memchr(f, ':', (size_t)(eol - f));
    size_t n = (size_t)((colon ? colon : eol) - f);
    if (n >= len)
        return false;
    memcpy(buf, f, n);
    buf[n] = '\0';
    return true;
}

/* Finds the first line of an /etc/passwd or /etc/group text whose name
 * (field 0) is key or, when key is a number, whose ID (field 2) equals it.
 * Returns the start of that line and its end in *eol, or NULL. */
static const char *find_line(const char *db, const char *key, const char **eol)
{
    uint32_t want, id;
    bool numeric = parse_id(key, &want);
    char name[USERDB_NAME_MAX], num[16];
    for (const char *line = db; line && *line; line = **eol ? *eol + 1 : NULL) {
        *eol = strchr(line, '\n');
        if (!*eol)
            *eol = line + strlen(line);
        if (*line == '#' || !field(line, *eol, 0, name, sizeof(name)))
            continue;
        if (strcmp(name, key) == 0)
            return line;
        if (numeric && field(line, *eol, 2, num, sizeof(num)) && parse_id(num, &id) &&
            id == want)
            return line;
    }
    return NULL;
}

/* ID field i of a database line, if it is a valid number. */
static bool id_field(const char *line, const char *eol, int i, uint32_t *id)
{
    char num[16];
    return field(line, eol, i, num, sizeof(num)) && parse_id(num, id);
}

static void add_group(struct image_user *u, uint32_t gid)
{
    if (gid == u->gid || u->n_groups == USERDB_MAX_GROUPS)
        return;
    for (size_t i = 0; i < u->n_groups; i++)
        if (u->groups[i] == gid)
            return;
    u->groups[u->n_groups++] = gid;
}

/* Supplementary groups: every group line whose member list (field 3) names
 * the user. */
static void member_groups(const char *group, const char *user, struct image_user *u)
{
    const char *eol;
    for (const char *line = group; line && *line; line = *eol ? eol + 1 : NULL) {
        eol = strchr(line, '\n');
        if (!eol)
            eol = line + strlen(line);
        char members[4096];
        uint32_t gid;
        if (*line == '#' || !field(line, eol, 3, members, sizeof(members)) ||
            !id_field(line, eol, 2, &gid))
            continue;
        for (char *save, *m = strtok_r(members, ", \r", &save); m; m = strtok_r(NULL, ", \r", &save))
            if (strcmp(m, user) == 0)
                add_group(u, gid);
    }
}

int userdb_resolve(const char *spec, const char *passwd, const char *group,
                   struct image_user *out, struct audit_error *err)
{
    char user[USERDB_NAME_MAX], grp[USERDB_NAME_MAX];
    const char *colon = strchr(spec, ':');
    size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
    if (ulen >= sizeof(user) || (colon && strlen(colon + 1) >= sizeof(grp))) {
        audit_fail(err, "image user '%s' is too long", spec);
        return -1;
    }
    memcpy(user, spec, ulen);
    user[ulen] = '\0';
    snprintf(grp, sizeof(grp), "%s", colon ? colon + 1 : "");
    if (!user[0])
        strcpy(user, "0"); /* no user, or ":group": root */

    *out = (struct image_user){0};
    const char *eol, *line = passwd ? find_line(passwd, user, &eol) : NULL;
    char name[USERDB_NAME_MAX] = "";
    if (line) {
        if (!id_field(line, eol, 2, &out->uid) || !id_field(line, eol, 3, &out->gid) ||
            !field(line, eol, 0, name, sizeof(name))) {
            audit_fail(err, "image user '%s': its /etc/passwd line is malformed", spec);
            return -1;
        }
    } else if (!parse_id(user, &out->uid)) {
        audit_fail(err, "image user '%s': no user '%s' in the image's /etc/passwd", spec, user);
        return -1;
    }

    if (grp[0]) {
        const char *gline = group ? find_line(group, grp, &eol) : NULL;
        if (gline ? !id_field(gline, eol, 2, &out->gid) : !parse_id(grp, &out->gid)) {
            audit_fail(err, "image user '%s': no group '%s' in the image's /etc/group", spec,
                       grp);
            return -1;
        }
    }
    if (group && name[0])
        member_groups(group, name, out);
    return 0;
}
