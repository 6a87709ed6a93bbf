/*
 * server/jaas: the JAAS login configuration files ZooKeeper deployments
 * write for SASL (the file -Djava.security.auth.login.config names).
 *
 * Use:
 *   srv_jaas *j;
 *   if (srv_jaas_load("/etc/zookeeper/jaas.conf", &j, err, sizeof err) != 0)
 *       die(err);                        // "FILE:LINE: what is wrong"
 *   int sec = srv_jaas_section(j, "Server");
 *   for (int m = 0; sec >= 0 && m < srv_jaas_n_modules(j, sec); m++)
 *       for (int i = 0; i < srv_jaas_n_options(j, sec, m); i++) {
 *           const char *k, *v;
 *           srv_jaas_option(j, sec, m, i, &k, &v);
 *       }
 *   srv_jaas_free(j);
 *
 * The syntax is what Java's ConfigFile reads:
 *
 *   SectionName {
 *       login.module.ClassName Flag key="value" key2=word;   // one module
 *       ...                                                  // more modules
 *   };
 *
 * Flag is required, requisite, sufficient or optional (any case). Names,
 * keys and values are words (letters, digits, '.', '_', '-', '$', '*',
 * bytes >= 0x80; not starting with a digit, '.' or '-') or "double-quoted"
 * strings with backslash escapes (\n \t \r \b \f \a \v, octal \NNN, any
 * other character quotes itself); a quoted string also ends at the end of
 * its line, as Java's StreamTokenizer ends it. Comments run from // to the
 * end of the line, or are slash-star blocks as in C.
 * A key given twice in one module keeps its last value; a section given
 * twice is an error, as in Java. Not supported, with an error naming the
 * line: ${property} expansion in values and NUL characters.
 *
 * Strings are UTF-8 as read (Java reads the file as UTF-8).
 */
#ifndef ZABD_SERVER_JAAS_H
#define ZABD_SERVER_JAAS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct srv_jaas srv_jaas; /* layout in jaas.c */

/* ---- Loading ------------------------------------------------------------- */

/* Parses text[0..len). `name` is what error messages call the input (the
 * file's path). Returns 0 and sets *out, or -1 with "name:LINE: message" in
 * err (NUL-terminated when err_len > 0); ZERR_NOMEM (negative) when out of
 * memory. */
int srv_jaas_parse(const char *text, size_t len, const char *name, srv_jaas **out, char *err,
                   size_t err_len);

/* Reads and parses the file at path (at most 1 MiB). Same returns; a file
 * that cannot be read gives "path: cannot open: reason". */
int srv_jaas_load(const char *path, srv_jaas **out, char *err, size_t err_len);

void srv_jaas_free(srv_jaas *j); /* NULL is a no-op */

/* ---- Reading ------------------------------------------------------------- */

/* The index of the section called name, or -1 when there is none or it
 * lists no login module (Java then reports no entry for it). */
int srv_jaas_section(const srv_jaas *j, const char *name);
int srv_jaas_n_modules(const srv_jaas *j, int section);
/* The login module's class name, as written. */
const char *srv_jaas_module_class(const srv_jaas *j, int section, int module);
int srv_jaas_n_options(const srv_jaas *j, int section, int module);
/* The i-th distinct option of a module, in the order first written. */
void srv_jaas_option(const srv_jaas *j, int section, int module, int i, const char **key,
                     const char **value);
/* The line of the file where the section's name stands (for messages). */
int srv_jaas_section_line(const srv_jaas *j, int section);

#ifdef __cplusplus
}
#endif

#endif /* ZABD_SERVER_JAAS_H */
