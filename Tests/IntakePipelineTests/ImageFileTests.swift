import IntakeCore
import IntakePipeline
import IntakeTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the pipeline refuses to read, and how it says so: never by opening what is not a file.
@Suite struct ImageFileTests {
    let folder = try! TemporaryFolder()

    func reason(_ path: String) -> String? {
        do {
            _ = try ImageFile.read(path: path, maxBytes: 1 << 20, followSymlinks: false)
            return nil
        } catch {
            #expect(error.kind == .permanent, "\(path): \(error) would be retried")
            return error.reason
        }
    }

    @Test func aPipeASocketAndAFolderAreRefusedSayingWhatTheyAre() throws {
        let pipe = folder.path + "/pipe.jpg"
        #expect(mkfifo(pipe, 0o644) == 0)
        #expect(reason(pipe) == "not a regular file: a pipe (FIFO)")

        // A socket cannot be opened at all (ENXIO), which read as a passing fault and was tried 5 times.
        let socketPath = folder.path + "/socket.jpg"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in socketPath.utf8.enumerated() where i < raw.count - 1 { raw[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        #expect(reason(socketPath) == "not a regular file: a socket")

        try DurableFile.makeFolders(folder.path + "/folder.jpg")
        #expect(reason(folder.path + "/folder.jpg") == "not a regular file: a folder")
    }

    @Test(.enabled(if: geteuid() == 0, "making a device node needs root"))
    func aDeviceIsRefusedWithoutBeingOpened() {
        // /dev/null's numbers (1, 3): opened, it would read as an empty file.
        let device = folder.path + "/device.jpg"
        #expect(mknod(device, S_IFCHR | 0o644, dev_t(1 << 8 | 3)) == 0)  // makedev(1, 3), which Swift does not import
        #expect(reason(device) == "not a regular file: a character device")
    }
}
