#ifndef INTAKE_CLINUX_H
#define INTAKE_CLINUX_H
// Linux calls that Swift's Glibc module leaves out because they need _GNU_SOURCE (as swift-nio's
// CNIOLinux does).
#include <sys/inotify.h>

/// syncfs(2): commit the filesystem holding `fd` — one journal commit for a batch of writes.
int intake_syncfs(int fd);

#endif
