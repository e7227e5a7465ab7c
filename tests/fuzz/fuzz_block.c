/*
 * fuzz_block.c - control block validation as an endpoint does it at
 * attach: input = the mapped object (header, region table, mailbox).  A
 * block lynx_block_validate() accepts must have every region, the mailbox
 * and every slot's bulk area inside the mapping.  Kept small: the block
 * layout is being redesigned (v2: a data object and a mailbox object).
 */
#include "fuzz_common.h"
#include "lynx_block.h"
#include "lynx_block_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const lynx_block_header_t *h;
    const lynx_region_t *r;
    const lynx_mailbox_t *mb;
    void *base;
    int rc;

    /* The mapping is page-aligned; 64 is what the layout relies on. */
    base = aligned_alloc(64, size / 64 * 64 + 64);
    FUZZ_CHECK(base != NULL);
    memcpy(base, data, size);
    rc = lynx_block_validate(base, size);
    FUZZ_CHECK(rc == 0 || rc == LYNX_EBADMAGIC || rc == LYNX_EVERSION ||
               rc == LYNX_EBADSIZE);
    if (rc != 0) {
        free(base);
        return 0;
    }
    h = base;
    FUZZ_CHECK(size >= sizeof(*h) && h->nregions <= LYNX_MAX_REGIONS);
    FUZZ_CHECK(memchr(h->name, '\0', sizeof(h->name)) != NULL);
    for (uint32_t i = 0; i < h->nregions; i++) {
        r = &h->regions[i];
        FUZZ_CHECK(r->offset >= sizeof(*h) && r->offset <= size &&
                   r->size_bytes <= size - r->offset);
    }
    r = lynx_block_region(h, LYNX_REGION_MAILBOX);
    FUZZ_CHECK(r != NULL && r->size_bytes >= sizeof(lynx_mailbox_t));
    mb = (const lynx_mailbox_t *)((const char *)base + r->offset);
    FUZZ_CHECK(mb->nslots == LYNX_MAILBOX_SLOTS);
    for (uint32_t i = 0; i < LYNX_MAILBOX_SLOTS; i++) {
        /* Where slot i's bulk area ends, computed without overflow. */
        FUZZ_CHECK(mb->bulk_offset <= size &&
                   mb->bulk_size_bytes <= size - mb->bulk_offset &&
                   (uint64_t)(i + 1) * mb->bulk_size_bytes <=
                       size - mb->bulk_offset);
    }
    free(base);
    return 0;
}
