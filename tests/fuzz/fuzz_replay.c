/*
 * fuzz_replay.c: runs zabd_fuzz_one over every file in the directories
 * given (the committed corpus), so every ordinary and sanitizer build
 * exercises the decoders on known-interesting inputs.
 */
#include "fuzz_decoders.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    uint8_t *buf = malloc(4 << 20);
    size_t n = buf ? fread(buf, 1, 4 << 20, f) : 0;
    fclose(f);
    if (buf == NULL)
        return -1;
    zabd_fuzz_one(buf, n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (d == NULL) {
            fprintf(stderr, "fuzz_replay: cannot open %s\n", argv[i]);
            return 1;
        }
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            files++;
            failed += run_file(path) != 0;
        }
        closedir(d);
    }
    printf("%d passed, %d failed\n", files - failed, failed);
    return failed != 0 || files == 0;
}
