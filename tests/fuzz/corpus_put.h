/*
 * corpus_put.h - writing one seed input, for gen_corpus.c and capture.c.
 */
#ifndef LYNX_CORPUS_PUT_H
#define LYNX_CORPUS_PUT_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* The corpus directory, set by main(). */
static const char *dir;

/* Write a then b (may be empty) to <dir>/<name>/<file>; exit on error. */
static void put(const char *name, const char *file, const void *a,
                size_t alen, const void *b, size_t blen)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/%s/%s", dir, name, file);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(a, 1, alen, f) != alen ||
        (blen > 0 && fwrite(b, 1, blen, f) != blen) || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

#endif
