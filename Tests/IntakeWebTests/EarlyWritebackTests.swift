import Foundation
@testable import IntakeWeb
import Testing

/// An upload's bytes are handed to the disk in steps while the rest arrives: each range once,
/// none before a resumed upload's offset, none for a small file, and on a real file the kernel
/// takes the request.
@Suite struct EarlyWritebackTests {
    @Test func eachStepOfTheFileIsStartedOnceInOrder() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("writeback-\(UUID()).part").path
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        try #require(fd >= 0)
        defer {
            close(fd)
            unlink(path)
        }
        let step = EarlyWriteback.step, chunk = [UInt8](repeating: 7, count: 10_000)
        var writeback = EarlyWriteback()
        var written = 0, started: [Range<Int>] = []
        while written < 3 * step + 5_000 {
            try #require(chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == chunk.count)
            written += chunk.count
            if let range = writeback.wrote(to: fd, end: written) { started.append(range) }
        }
        #expect(started.count == 3)
        #expect(started.first?.lowerBound == 0)
        #expect(zip(started, started.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        #expect(started.allSatisfy { $0.count >= step && $0.count < step + chunk.count })
        #expect(startingWritebackSucceeds(fd, written))
    }

    @Test func aResumedUploadStartsAtItsOffsetAndASmallOneNotAtAll() {
        var resumed = EarlyWriteback(from: 1_000_000)
        #expect(resumed.wrote(to: -1, end: 1_000_000 + EarlyWriteback.step - 1) == nil)
        #expect(resumed.wrote(to: -1, end: 1_000_000 + EarlyWriteback.step) == 1_000_000..<(1_000_000 + EarlyWriteback.step))
        var small = EarlyWriteback()
        #expect(small.wrote(to: -1, end: EarlyWriteback.step - 1) == nil)
    }

    /// The system call itself, on a file with dirty pages: 0, not an error such as ENOSYS.
    func startingWritebackSucceeds(_ fd: Int32, _ length: Int) -> Bool {
        IntakeWeb.startWriteback(fd, offset: 0, length: length) == 0
    }
}
