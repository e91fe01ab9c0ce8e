import Glibc

extension SystemdNotifier {
    /// Whether standard error is connected to journald, so that log lines should start with a
    /// syslog priority (`<3>` error … `<7>` debug) that the journal turns into the entry's level.
    ///
    /// `JOURNAL_STREAM` (`device:inode`) must be set *and* name the stream `standardError` is
    /// now, as systemd.exec(5) advises: a variable inherited by a process whose stderr was then
    /// redirected (to a file, a terminal) must not put `<6>` into that file.
    public static func journalPriorityPrefix(environment: [String: String], standardError: Int32 = 2) -> Bool {
        guard let value = environment["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var status = stat()
        guard fstat(standardError, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }
}
