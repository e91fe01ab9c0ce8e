import IntakeCodecs
import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// When a photo was taken, for comparing its reading with the manual readings: EXIF's
/// DateTimeOriginal (read as UTC: EXIF carries no zone), else the time its uploader claims (in
/// the file's name or its sidecar), else the file's modification time.
public enum CaptureTime {
    public static func of(_ facts: ImageFacts, claimed: Int64? = nil, path: String) -> Int64 {
        if let taken = facts.exif?.dateTaken, let milliseconds = ISOTime.exifMilliseconds(taken) { return milliseconds }
        if let claimed { return claimed }
        var status = stat()
        // A modification time past year 9999 or before 1900 (a filesystem keeping 64-bit seconds
        // keeps any) says nothing of when the photo was taken, and in milliseconds overflows.
        guard stat(path, &status) == 0, (-2_208_988_800...253_402_300_799).contains(Int64(status.st_mtim.tv_sec)) else {
            return Timestamp.nowMilliseconds()
        }
        return Int64(status.st_mtim.tv_sec) * 1000 + Int64(status.st_mtim.tv_nsec) / 1_000_000
    }
}
