/*
 * demo.h - definitions shared by every file of lynx-demo, the target program
 * that lynxprof is pointed at in tests, benchmarks and scripts/run.
 *
 * Nothing here allocates or locks.  The attribute below is what keeps the
 * hot functions visible by their own names in CPU and heap profiles of an
 * -O2 -fomit-frame-pointer build: "noipa" forbids inlining, cloning
 * (.constprop/.isra/.part suffixes) and identical-code folding, so each
 * named function exists exactly once in .symtab under exactly that name.
 */
#ifndef DEMO_H
#define DEMO_H

#define DEMO_NOINLINE __attribute__((noipa))

#endif
