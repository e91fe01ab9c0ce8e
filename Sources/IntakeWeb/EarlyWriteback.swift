import CLinux

/// Has the disk start on an upload's bytes while the rest is still arriving: without it, every
/// byte of a large upload waits in the page cache until the fsync at its end, which then waits
/// for all of it, and the client for that. Only the writing starts early; what makes the upload
/// durable is still that fsync (data, metadata and the disk's cache), and an error shows there.
struct EarlyWriteback {
    /// Written since the last start, at least this much before the next: none for a small file,
    /// and at most one for each chunk of the body (NIO reads up to 64 KiB at a time).
    static let step = 64 << 10
    private var startedTo: Int

    /// For a file whose first `offset` bytes were written before (a resumed upload's).
    init(from offset: Int = 0) { startedTo = offset }

    /// After a write that ended at `end` bytes into `fd`: the bytes whose writing it started, if any.
    @discardableResult
    mutating func wrote(to fd: Int32, end: Int) -> Range<Int>? {
        guard end - startedTo >= Self.step else { return nil }
        let range = startedTo..<end
        // Advisory: a failure here changes nothing that the fsync would not report.
        _ = startWriteback(fd, offset: range.lowerBound, length: range.count)
        startedTo = end
        return range
    }
}

/// sync_file_range(SYNC_FILE_RANGE_WRITE) on `length` bytes at `offset`: 0, or −1 with errno.
func startWriteback(_ fd: Int32, offset: Int, length: Int) -> Int32 {
    intake_start_writeback(fd, Int64(offset), Int64(length))
}
