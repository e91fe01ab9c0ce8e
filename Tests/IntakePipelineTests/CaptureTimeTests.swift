import IntakeCore
import IntakePipeline
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// When a meter photo was taken, when nothing but its file says.
@Suite struct CaptureTimeTests {
    /// tmpfs (like btrfs) keeps any 64-bit modification time; 10^16 seconds in milliseconds
    /// overflowed and trapped the daemon on the photo, again after every restart. A time no photo
    /// can have is no evidence: the photo is taken as taken now.
    @Test(.enabled(if: access("/dev/shm", W_OK) == 0, "needs /dev/shm (tmpfs) to keep an absurd modification time"))
    func aModificationTimeNoPhotoCanHaveIsTakenAsNow() throws {
        let path = "/dev/shm/intake-capture-\(getpid())-\(UInt32.random(in: 0 ... .max)).jpg"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        #expect(fd >= 0)
        close(fd)
        defer { unlink(path) }
        var times = [timespec(tv_sec: 10_000_000_000_000_000, tv_nsec: 0), timespec(tv_sec: 10_000_000_000_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        var status = stat()
        #expect(stat(path, &status) == 0 && status.st_mtim.tv_sec == 10_000_000_000_000_000, "the filesystem kept another time")
        let before = Timestamp.nowMilliseconds()
        let taken = CaptureTime.of(ImageFacts(bytes: 0), path: path)
        #expect(taken >= before && taken <= Timestamp.nowMilliseconds())
        // An ordinary time is kept as the file says.
        times = [timespec(tv_sec: 1_764_000_000, tv_nsec: 250_000_000), timespec(tv_sec: 1_764_000_000, tv_nsec: 250_000_000)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        #expect(CaptureTime.of(ImageFacts(bytes: 0), path: path) == 1_764_000_000_250)
    }
}
