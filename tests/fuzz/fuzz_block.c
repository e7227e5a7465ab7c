/*
 * fuzz_block.c - data object validation as an endpoint does it at attach
 * (layout version 2): input = the object (header, region table, regions).
 * The endpoint validates a private copy of the header against the object's
 * size; what lynx_block_validate() accepts must put every region, the
 * answers and every slot's bulk area inside the object.
 */
#include "fuzz_common.h"
#include "protocol/block.h"
#include "client/attach.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lynx_block_header_t h;
    lynx_block_t b;
    const char *base = (const char *)data;
    int rc;

    if (size < sizeof(h)) {
        return 0;
    }
    memcpy(&h, data, sizeof(h));
    memset(&b, 0, sizeof(b));
    b.base = (void *)data;
    rc = lynx_block_validate(&h, size, &b);
    FUZZ_CHECK(rc == 0 || rc == LYNX_EBADMAGIC || rc == LYNX_EVERSION ||
               rc == LYNX_EBADSIZE);
    if (rc != 0) {
        return 0;
    }
    FUZZ_CHECK(h.nregions <= LYNX_MAX_REGIONS);
    FUZZ_CHECK(memchr(h.name, '\0', sizeof(h.name)) != NULL);
    FUZZ_CHECK(memchr(h.exe, '\0', sizeof(h.exe)) != NULL);
    for (uint32_t i = 0; i < h.nregions; i++) {
        const lynx_region_t *r = &h.regions[i];
        FUZZ_CHECK(r->offset >= sizeof(h) && r->offset <= size &&
                   r->size_bytes <= size - r->offset);
    }
    FUZZ_CHECK((const char *)b.answers >= base + sizeof(h) &&
               (const char *)b.answers + sizeof(lynx_answers_t) <=
                   base + size);
    for (uint32_t i = 0; i < LYNX_MAILBOX_SLOTS; i++) {
        /* Where slot i's bulk area ends, computed without overflow. */
        FUZZ_CHECK(b.bulk_offset <= size &&
                   b.bulk_size_bytes <= size - b.bulk_offset &&
                   (uint64_t)(i + 1) * b.bulk_size_bytes <=
                       size - b.bulk_offset);
    }
    return 0;
}
