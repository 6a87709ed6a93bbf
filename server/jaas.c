/*
 * jaas.c: JAAS login configuration files (syntax in jaas.h), tokenised the
 * way Java's ConfigFile sets up StreamTokenizer, so a file ZooKeeper
 * accepts is accepted here and a file it rejects is rejected here, with the
 * line named.
 *
 * Not done: ${property} expansion (an error, since zabd has no Java
 * properties to expand), the "=FILE" override-all form and URLs (the
 * caller strips those), and validating module class names (sasl.c does).
 */
#include "server/jaas.h"

#include "wire/wire.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JAAS_MAX_FILE_BYTES (1u << 20)

typedef struct jaas_opt {
    char *key, *value;
} jaas_opt;

typedef struct jaas_module {
    char *cls;
    jaas_opt *opts;
    int n_opts, cap_opts;
} jaas_module;

typedef struct jaas_section {
    char *name;
    int line;
    jaas_module *mods;
    int n_mods, cap_mods;
} jaas_section;

struct srv_jaas {
    jaas_section *secs;
    int n_secs, cap_secs;
};

enum tok { TOK_EOF, TOK_WORD, TOK_QUOTED, TOK_NUMBER, TOK_CHAR };

typedef struct lexer {
    const char *p;
    size_t len, pos;
    int line;
    const char *name;
    char *err;
    size_t err_len;
    enum tok tok;
    char ch;    /* TOK_CHAR */
    char *sval; /* TOK_WORD, TOK_QUOTED: NUL-terminated, may hold NULs */
    size_t sval_len, sval_cap;
    bool nomem;
} lexer;

/* ---- helpers -------------------------------------------------------------- */

static int fail(lexer *lx, const char *fmt, ...)
{
    if (lx->err != NULL && lx->err_len > 0) {
        int n = snprintf(lx->err, lx->err_len, "%s:%d: ", lx->name, lx->line);
        if (n >= 0 && (size_t)n < lx->err_len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(lx->err + n, lx->err_len - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

static bool grow(void **p, int *cap, int n, size_t elem)
{
    if (n < *cap)
        return true;
    int c = *cap > 0 ? *cap * 2 : 4;
    void *q = realloc(*p, (size_t)c * elem);
    if (q == NULL)
        return false;
    *p = q;
    *cap = c;
    return true;
}

static void sval_put(lexer *lx, char c)
{
    if (lx->sval_len + 2 > lx->sval_cap) {
        size_t cap = lx->sval_cap > 0 ? lx->sval_cap * 2 : 64;
        char *q = realloc(lx->sval, cap);
        if (q == NULL) {
            lx->nomem = true;
            return;
        }
        lx->sval = q;
        lx->sval_cap = cap;
    }
    lx->sval[lx->sval_len++] = c;
    lx->sval[lx->sval_len] = '\0';
}

static int peekc(const lexer *lx, size_t at)
{
    return at < lx->len ? (unsigned char)lx->p[at] : -1;
}

/* StreamTokenizer's word characters as ConfigFile configures them; digits,
 * '.' and '-' continue a word but cannot start one (they start a number). */
static bool word_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80 || c == '$' || c == '_' ||
           c == '*';
}

static bool word_char(int c)
{
    return word_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* One line end: \n, \r or \r\n. */
static void eol(lexer *lx)
{
    if (peekc(lx, lx->pos) == '\r' && peekc(lx, lx->pos + 1) == '\n')
        lx->pos++;
    lx->pos++;
    lx->line++;
}

/* Skips blanks, line ends and comments. -1 on an unterminated block comment. */
static int skip_space(lexer *lx)
{
    for (;;) {
        int c = peekc(lx, lx->pos);
        if (c == '\n' || c == '\r') {
            eol(lx);
        } else if (c >= 0 && c <= ' ') {
            lx->pos++;
        } else if (c == '/' && peekc(lx, lx->pos + 1) == '*') {
            int start = lx->line;
            lx->pos += 2;
            while (!(peekc(lx, lx->pos) == '*' && peekc(lx, lx->pos + 1) == '/')) {
                int d = peekc(lx, lx->pos);
                if (d < 0) {
                    lx->line = start;
                    return fail(lx, "a /* comment is never closed");
                }
                if (d == '\n' || d == '\r')
                    eol(lx);
                else
                    lx->pos++;
            }
            lx->pos += 2;
        } else if (c == '/') {
            /* "//" and, as StreamTokenizer's default comment character, a
             * lone '/' both run to the end of the line. */
            while (peekc(lx, lx->pos) >= 0 && peekc(lx, lx->pos) != '\n' &&
                   peekc(lx, lx->pos) != '\r')
                lx->pos++;
        } else {
            return 0;
        }
    }
}

static void quoted(lexer *lx)
{
    static const char simple[][2] = {{'a', 7},    {'b', '\b'}, {'f', '\f'}, {'n', '\n'},
                                     {'r', '\r'}, {'t', '\t'}, {'v', '\v'}};
    lx->pos++; /* the opening quote */
    for (;;) {
        int c = peekc(lx, lx->pos);
        if (c < 0 || c == '\n' || c == '\r')
            return; /* StreamTokenizer ends a quoted string at the line end */
        lx->pos++;
        if (c == '"')
            return;
        if (c == '\\' && peekc(lx, lx->pos) >= 0) {
            c = peekc(lx, lx->pos++);
            if (c >= '0' && c <= '7') {
                int v = c - '0', max = c <= '3' ? 2 : 1;
                for (int k = 0; k < max && peekc(lx, lx->pos) >= '0' && peekc(lx, lx->pos) <= '7';
                     k++)
                    v = v * 8 + (peekc(lx, lx->pos++) - '0');
                c = v;
            } else {
                for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
                    if (simple[i][0] == c)
                        c = simple[i][1];
            }
        }
        sval_put(lx, (char)c);
    }
}

static int next(lexer *lx)
{
    if (skip_space(lx) != 0)
        return -1;
    lx->sval_len = 0;
    lx->sval[0] = '\0';
    int c = peekc(lx, lx->pos);
    if (c < 0) {
        lx->tok = TOK_EOF;
    } else if (word_start(c)) {
        lx->tok = TOK_WORD;
        while (word_char(peekc(lx, lx->pos)))
            sval_put(lx, lx->p[lx->pos++]);
    } else if ((c >= '0' && c <= '9') || c == '.' ||
               (c == '-' && (peekc(lx, lx->pos + 1) == '.' ||
                             (peekc(lx, lx->pos + 1) >= '0' && peekc(lx, lx->pos + 1) <= '9')))) {
        lx->tok = TOK_NUMBER;
        lx->pos++;
        while ((peekc(lx, lx->pos) >= '0' && peekc(lx, lx->pos) <= '9') ||
               peekc(lx, lx->pos) == '.')
            lx->pos++;
    } else if (c == '"') {
        lx->tok = TOK_QUOTED;
        quoted(lx);
    } else {
        lx->tok = TOK_CHAR;
        lx->ch = (char)c;
        lx->pos++;
    }
    return lx->nomem ? ZERR_NOMEM : 0;
}

static const char *found(const lexer *lx, char *buf, size_t cap)
{
    switch (lx->tok) {
    case TOK_EOF:
        return "the end of the file";
    case TOK_NUMBER:
        return "a number (quote it)";
    case TOK_CHAR:
        if (lx->ch == '\'')
            return "a single quote (values are quoted with \")";
        snprintf(buf, cap, (unsigned char)lx->ch < ' ' ? "character 0x%02x" : "'%c'",
                 (unsigned char)lx->ch);
        return buf;
    default:
        snprintf(buf, cap, "\"%.60s\"", lx->sval);
        return buf;
    }
}

/* The current token must be a word or quoted string: copies it to *out
 * (written only when the token after it reads too). */
static int take_string(lexer *lx, const char *what, char **out)
{
    char buf[80];
    if (lx->tok != TOK_WORD && lx->tok != TOK_QUOTED)
        return fail(lx, "expected %s, found %s", what, found(lx, buf, sizeof buf));
    char *s = malloc(lx->sval_len + 1);
    if (s == NULL)
        return ZERR_NOMEM;
    memcpy(s, lx->sval, lx->sval_len + 1);
    int rc = next(lx);
    if (rc != 0) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static int expect_char(lexer *lx, char ch)
{
    char buf[80];
    if (lx->tok != TOK_CHAR || lx->ch != ch)
        return fail(lx, "expected '%c', found %s", ch, found(lx, buf, sizeof buf));
    return next(lx);
}

static bool at_char(const lexer *lx, char ch)
{
    return lx->tok == TOK_CHAR && lx->ch == ch;
}

/* ---- grammar ------------------------------------------------------------- */

static void module_fini(jaas_module *m)
{
    for (int i = 0; i < m->n_opts; i++) {
        free(m->opts[i].key);
        free(m->opts[i].value);
    }
    free(m->opts);
    free(m->cls);
}

static int set_option(jaas_module *m, char *key, char *value)
{
    for (int i = 0; i < m->n_opts; i++) {
        if (strcmp(m->opts[i].key, key) == 0) {
            /* Java keeps options in a HashMap: the last value wins. */
            free(m->opts[i].value);
            m->opts[i].value = value;
            free(key);
            return 0;
        }
    }
    if (!grow((void **)&m->opts, &m->cap_opts, m->n_opts, sizeof *m->opts)) {
        free(key);
        free(value);
        return ZERR_NOMEM;
    }
    m->opts[m->n_opts++] = (jaas_opt){key, value};
    return 0;
}

/* LoginModuleClass Flag key=value ... ; */
static int parse_module(lexer *lx, jaas_module *m)
{
    static const char *const flags[] = {"required", "requisite", "sufficient", "optional"};
    int rc;
    char *flag = NULL;
    if ((rc = take_string(lx, "a login module class name", &m->cls)) != 0)
        return rc;
    int flag_line = lx->line;
    if ((rc = take_string(lx, "a control flag (required, requisite, sufficient or optional)",
                          &flag)) != 0)
        return rc;
    bool ok = false;
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        ok = ok || strcasecmp(flag, flags[i]) == 0;
    if (!ok) {
        lx->line = flag_line;
        rc = fail(
            lx, "invalid control flag \"%.60s\" (use required, requisite, sufficient or optional)",
            flag);
        free(flag);
        return rc;
    }
    free(flag);
    while (!at_char(lx, ';')) {
        char *key = NULL, *value = NULL;
        if ((rc = take_string(lx, "an option key or ';'", &key)) != 0)
            return rc;
        if ((rc = expect_char(lx, '=')) != 0) {
            free(key);
            return rc;
        }
        int line = lx->line;
        bool has_nul = lx->tok == TOK_QUOTED && strlen(lx->sval) != lx->sval_len;
        if ((rc = take_string(lx, "an option value", &value)) != 0) {
            free(key);
            return rc;
        }
        if (has_nul || strstr(value, "${") != NULL) {
            lx->line = line;
            rc = fail(lx,
                      has_nul ? "option %.60s: a NUL character in the value is not supported"
                              : "option %.60s: ${...} property expansion is not supported",
                      key);
            free(key);
            free(value);
            return rc;
        }
        if ((rc = set_option(m, key, value)) != 0)
            return rc;
    }
    return next(lx);
}

/* Name { module* } ; */
static int parse_section(lexer *lx, jaas_section *s)
{
    int rc;
    s->line = lx->line;
    if ((rc = take_string(lx, "a section name", &s->name)) != 0)
        return rc;
    if ((rc = expect_char(lx, '{')) != 0)
        return rc;
    while (!at_char(lx, '}')) {
        if (!grow((void **)&s->mods, &s->cap_mods, s->n_mods, sizeof *s->mods))
            return ZERR_NOMEM;
        jaas_module *m = &s->mods[s->n_mods++];
        memset(m, 0, sizeof *m);
        if ((rc = parse_module(lx, m)) != 0)
            return rc;
    }
    if ((rc = next(lx)) != 0)
        return rc;
    return expect_char(lx, ';');
}

void srv_jaas_free(srv_jaas *j)
{
    if (j == NULL)
        return;
    for (int i = 0; i < j->n_secs; i++) {
        jaas_section *s = &j->secs[i];
        for (int m = 0; m < s->n_mods; m++)
            module_fini(&s->mods[m]);
        free(s->mods);
        free(s->name);
    }
    free(j->secs);
    free(j);
}

int srv_jaas_parse(const char *text, size_t len, const char *name, srv_jaas **out, char *err,
                   size_t err_len)
{
    lexer lx = {.p = text, .len = len, .line = 1, .name = name, .err = err, .err_len = err_len};
    int rc = ZERR_NOMEM;
    srv_jaas *j = calloc(1, sizeof *j);
    if (err != NULL && err_len > 0)
        err[0] = '\0';
    lx.sval = malloc(lx.sval_cap = 64);
    if (j == NULL || lx.sval == NULL || (rc = next(&lx)) != 0)
        goto out;
    while (lx.tok != TOK_EOF) {
        if (!grow((void **)&j->secs, &j->cap_secs, j->n_secs, sizeof *j->secs)) {
            rc = ZERR_NOMEM;
            goto out;
        }
        jaas_section *s = &j->secs[j->n_secs++];
        memset(s, 0, sizeof *s);
        if ((rc = parse_section(&lx, s)) != 0)
            goto out;
        for (int i = 0; i < j->n_secs - 1; i++) {
            if (strcmp(j->secs[i].name, s->name) == 0) {
                lx.line = s->line;
                rc = fail(&lx, "section %.60s is given twice (first at line %d)", s->name,
                          j->secs[i].line);
                goto out;
            }
        }
    }
    *out = j;
    j = NULL;
    rc = 0;
out:
    if (rc == ZERR_NOMEM && err != NULL && err_len > 0)
        snprintf(err, err_len, "%s: out of memory", name);
    free(lx.sval);
    srv_jaas_free(j);
    return rc;
}

int srv_jaas_load(const char *path, srv_jaas **out, char *err, size_t err_len)
{
    int rc = -1;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    buf = malloc(JAAS_MAX_FILE_BYTES + 1);
    if (buf == NULL) {
        rc = ZERR_NOMEM;
        snprintf(err, err_len, "%s: out of memory", path);
        goto out;
    }
    size_t n = fread(buf, 1, JAAS_MAX_FILE_BYTES + 1, f);
    if (ferror(f)) {
        snprintf(err, err_len, "%s: read error: %s", path, strerror(errno));
        goto out;
    }
    if (n > JAAS_MAX_FILE_BYTES) {
        snprintf(err, err_len, "%s: larger than %u bytes", path, JAAS_MAX_FILE_BYTES);
        goto out;
    }
    rc = srv_jaas_parse(buf, n, path, out, err, err_len);
out:
    if (f != NULL)
        fclose(f);
    free(buf);
    return rc;
}

/* ---- reading ------------------------------------------------------------- */

int srv_jaas_section(const srv_jaas *j, const char *name)
{
    for (int i = 0; i < j->n_secs; i++)
        if (strcmp(j->secs[i].name, name) == 0)
            return j->secs[i].n_mods > 0 ? i : -1;
    return -1;
}

int srv_jaas_section_line(const srv_jaas *j, int section)
{
    return j->secs[section].line;
}

int srv_jaas_n_modules(const srv_jaas *j, int section)
{
    return j->secs[section].n_mods;
}

const char *srv_jaas_module_class(const srv_jaas *j, int section, int module)
{
    return j->secs[section].mods[module].cls;
}

int srv_jaas_n_options(const srv_jaas *j, int section, int module)
{
    return j->secs[section].mods[module].n_opts;
}

void srv_jaas_option(const srv_jaas *j, int section, int module, int i, const char **key,
                     const char **value)
{
    const jaas_opt *o = &j->secs[section].mods[module].opts[i];
    *key = o->key;
    *value = o->value;
}
