// Which pages of an executable's code one run of it touches: scripts/build-release preloads this
// (LD_PRELOAD) into a training run of the freshly linked binary, and links it again with the
// functions on those pages first (lld --symbol-ordering-file). Startup then pages in a few
// contiguous megabytes of code instead of pieces of all of it: the kernel maps each file page
// fault's neighbours too (fault-around), so scattered code costs far more resident memory than
// its size.
//
// Before the program's own initialisers run, every page of the executable's code segments is
// made inaccessible; the first execution (or read) of each faults, is noted, and gets its access
// back. At exit, PAGETRACE_OUT receives the touched pages, one hexadecimal offset from the load
// address a line. A training aid only: never part of what is shipped.
#define _GNU_SOURCE
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { page = 4096, maxSegments = 8 };
static struct { uintptr_t low, high; unsigned char *seen; } segments[maxSegments];
static int segmentCount;
static uintptr_t loadAddress;

static void touched(int signal, siginfo_t *info, void *context) {
    (void)context;
    uintptr_t address = (uintptr_t)info->si_addr;
    for (int i = 0; i < segmentCount; i++) {
        if (address >= segments[i].low && address < segments[i].high) {
            uintptr_t start = address & ~(uintptr_t)(page - 1);
            segments[i].seen[(start - segments[i].low) / page] = 1;
            mprotect((void *)start, page, PROT_READ | PROT_EXEC);
            return;
        }
    }
    // A fault of the program's own: let it happen as it would have.
    struct sigaction fallback = {.sa_handler = SIG_DFL};
    sigaction(signal, &fallback, NULL);
}

static void report(void) {
    const char *path = getenv("PAGETRACE_OUT");
    FILE *out = path ? fopen(path, "w") : NULL;
    if (!out) return;
    for (int i = 0; i < segmentCount; i++)
        for (uintptr_t at = segments[i].low; at < segments[i].high; at += page)
            if (segments[i].seen[(at - segments[i].low) / page])
                fprintf(out, "%lx\n", (unsigned long)(at - loadAddress));
    fclose(out);
}

static int codeSegments(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size, (void)data;
    if (info->dlpi_name && info->dlpi_name[0]) return 0;  // the executable comes first, unnamed
    loadAddress = info->dlpi_addr;
    for (int i = 0; i < info->dlpi_phnum && segmentCount < maxSegments; i++) {
        const ElfW(Phdr) *header = &info->dlpi_phdr[i];
        if (header->p_type != PT_LOAD || !(header->p_flags & PF_X)) continue;
        uintptr_t low = (loadAddress + header->p_vaddr) & ~(uintptr_t)(page - 1);
        uintptr_t high = (loadAddress + header->p_vaddr + header->p_memsz + page - 1) & ~(uintptr_t)(page - 1);
        segments[segmentCount].low = low;
        segments[segmentCount].high = high;
        segments[segmentCount].seen = calloc((high - low) / page, 1);
        segmentCount++;
    }
    return 1;
}

__attribute__((constructor)) static void start(void) {
    dl_iterate_phdr(codeSegments, NULL);
    struct sigaction action = {.sa_sigaction = touched, .sa_flags = SA_SIGINFO | SA_NODEFER};
    sigaction(SIGSEGV, &action, NULL);
    atexit(report);
    for (int i = 0; i < segmentCount; i++)
        mprotect((void *)segments[i].low, segments[i].high - segments[i].low, PROT_NONE);
}
