/*
 * block_version.c - test helper: copy the control block of target SRC to a
 * new target DST (same owner, group and mode) whose header says layout
 * version VERSION, as an agent of another release would write it.
 *   block_version SRC DST VERSION
 * The header layout comes from protocol/block.h, so the helper follows it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protocol/block.h"

int main(int argc, char **argv)
{
    char src[256];
    char dst[256];
    struct stat st;
    char *data;
    uint32_t version;
    int in;
    int out;

    if (argc != 4) {
        fprintf(stderr, "usage: block_version SRC DST VERSION\n");
        return 2;
    }
    snprintf(src, sizeof(src), "%s/%s%s", LYNX_SHM_DIR, LYNX_BLOCK_PREFIX,
             argv[1]);
    snprintf(dst, sizeof(dst), "%s/%s%s", LYNX_SHM_DIR, LYNX_BLOCK_PREFIX,
             argv[2]);
    version = (uint32_t)strtoul(argv[3], NULL, 10);
    in = open(src, O_RDONLY);
    if (in < 0 || fstat(in, &st) != 0) {
        fprintf(stderr, "%s: %s\n", src, strerror(errno));
        return 1;
    }
    data = malloc((size_t)st.st_size);
    if (data == NULL ||
        pread(in, data, (size_t)st.st_size, 0) != (ssize_t)st.st_size) {
        fprintf(stderr, "%s: cannot read\n", src);
        return 1;
    }
    memcpy(data + offsetof(lynx_block_header_t, version), &version,
           sizeof(version));
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (out < 0 ||
        write(out, data, (size_t)st.st_size) != (ssize_t)st.st_size ||
        fchown(out, st.st_uid, st.st_gid) != 0 ||
        fchmod(out, st.st_mode & 07777) != 0) {
        fprintf(stderr, "%s: %s\n", dst, strerror(errno));
        return 1;
    }
    close(out);
    close(in);
    free(data);
    printf("%u\n", (unsigned)LYNX_BLOCK_VERSION);
    return 0;
}
