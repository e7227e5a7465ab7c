# Sourced by the benchmarks of the allocator-bound loop (bench/alloc_loop.c):
# how it is built and the environment every configuration runs it in.
#
# The loop's live set (64 blocks of up to 16 KiB a thread) sits at glibc's
# default trim threshold (128 KiB): its arenas shrink (madvise) and grow
# back (page faults) thousands of times a second, and any change of layout
# -- even preloading a library that starts a thread -- moves some 20 % of
# its time in or out of the kernel.  A high threshold, the same in every
# configuration, keeps that out of what is compared.
STEADY="MALLOC_TRIM_THRESHOLD_=67108864"

# alloc_loop_build OUT [log|uniform]: the loop into OUT, its sizes
# log-uniform (-DLOG_SIZES, the default) or uniform; the bench directory
# is $here.
alloc_loop_build() {
    local sizes=-DLOG_SIZES
    [ "${2:-log}" = log ] || sizes=
    gcc -O2 -g -pthread $sizes -I"$here" -o "$1" "$here/alloc_loop.c"
}
