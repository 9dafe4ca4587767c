// What a process holds resident when it ends: preloaded (LD_PRELOAD) by scripts/bench_footprint.py
// into a cold `locks --json` and into psql, it copies /proc/self/smaps to RESIDENTMAP_OUT at exit,
// so that the Footprint section can say where each one's resident memory comes from. A
// measuring aid only: never part of what is shipped.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static void copy(void) {
    const char *path = getenv("RESIDENTMAP_OUT");
    if (!path) return;
    int in = open("/proc/self/smaps", O_RDONLY), out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char buffer[65536];
    ssize_t count;
    while (in >= 0 && out >= 0 && (count = read(in, buffer, sizeof buffer)) > 0)
        if (write(out, buffer, (size_t)count) != count) break;
    if (in >= 0) close(in);
    if (out >= 0) close(out);
}

__attribute__((constructor)) static void start(void) { atexit(copy); }
