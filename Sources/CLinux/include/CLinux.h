#ifndef INTAKE_CLINUX_H
#define INTAKE_CLINUX_H
// Linux calls that Swift's Glibc module leaves out because they need _GNU_SOURCE (as swift-nio's
// CNIOLinux does).
#include <stdint.h>
#include <sys/inotify.h>

/// syncfs(2): commit the filesystem holding `fd` — one journal commit for a batch of writes.
int intake_syncfs(int fd);

/// sync_file_range(SYNC_FILE_RANGE_WRITE): starts writing the dirty pages of `length` bytes at
/// `offset` of `fd` to disk and returns without waiting, so that the fsync that follows has
/// less left to wait for. It makes nothing durable by itself (no metadata, no disk cache flush).
int intake_start_writeback(int fd, int64_t offset, int64_t length);

/// Whether any process has the file behind `fd` (opened read-only) open for writing, asked by
/// trying to take a read lease: the kernel refuses one while a writer exists.
/// Returns 0 (no writer), 1 (a writer), or -1 when leases are not available to us (not the
/// file's owner and no CAP_LEASE, or a filesystem without leases); errno says which.
int intake_has_writers(int fd);

/// Whether the child `pid` has ended, asked without reaping it (waitid with WNOWAIT): its
/// zombie keeps the pid, and so its process group's id, from being taken by another process
/// until it is reaped. Returns 1 (ended), 0 (running), or -1 (no such child; errno says why).
int intake_has_exited(int pid);

/// Names the calling thread (15 bytes at most), for `top -H` and debuggers.
void intake_name_thread(const char *name);

/// A non-blocking, close-on-exec pipe, for waking a thread that sleeps in poll().
int intake_pipe(int fds[2]);

/// fcntl(F_SETPIPE_SZ): asks that the pipe behind `fd` hold at least `bytes`; returns its
/// capacity, or -1 (a user over the pipe-user-pages limits gets one page, whatever is asked).
int intake_set_pipe_size(int fd, int bytes);

/// fsetxattr(2) and lgetxattr(2), for the upload label (IntakeCore.UploadLabel): wrapped so that
/// <sys/xattr.h> stays out of this header (its types would then belong to this module).
int intake_set_attribute(int fd, const char *name, const void *value, unsigned long size);
long intake_get_attribute(const char *path, const char *name, void *value, unsigned long size);

/// renameat2(RENAME_EXCHANGE): swaps two paths atomically (a folder and a file, say). Tests use it
/// to replace a folder under the running daemon with no instant where neither exists.
int intake_exchange(const char *a, const char *b);

/// rename(2) that fails with EEXIST instead of replacing what is at `to`.
int intake_rename_noreplace(const char *from, const char *to);

/// The same between two folders held open (either may be AT_FDCWD): the name in a folder reached
/// safely once is the name the file lands under, whatever is done to the path meanwhile.
int intake_renameat_noreplace(int fromFolder, const char *from, int toFolder, const char *to);

/// The fixed part of an inotify event, then `len` bytes of name.
typedef struct {
    int32_t wd;
    uint32_t mask;
    uint32_t cookie;
    uint32_t len;
} intake_inotify_event;

#endif
