#if canImport(Glibc)
import Glibc
#endif

/// The command line as the kernel gave it. Swift's `CommandLine.arguments` repairs bytes that
/// are not UTF-8 into U+FFFD, so a state root or a file named in another encoding (a folder
/// a Latin-1 client made) would silently become another path, and every error would name that
/// one. intake keeps paths as UTF-8 text, so such an argument is refused, saying which.
public enum CommandLineBytes {
    /// Exits with EX_USAGE (64), saying why, when an argument is not UTF-8. Called first thing in
    /// `main`, before the arguments are decoded.
    public static func refuseAnyNotUTF8(program: String) {
        guard let refusal = refusal(program: program) else { return }
        let line = Array((refusal + "\n").utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        exit(64)
    }

    /// What to say of the first argument that is not UTF-8, or nil when all of them are.
    public static func refusal(program: String) -> String? {
        for index in 1..<Int(CommandLine.argc) {
            guard let argument = CommandLine.unsafeArgv[index] else { continue }
            let bytes = UnsafeBufferPointer(start: argument, count: strlen(argument)).map { UInt8(bitPattern: $0) }
            guard String(validating: bytes, as: UTF8.self) == nil else { continue }
            // Shown as intake shows every name it keeps (`SafeName`): the bytes that are not
            // UTF-8 as %XX, so the refusal reads as the file's name would in the state root.
            return "\(program): argument \(index) (\(SafeName.from(bytes: bytes))) is not UTF-8 text, and intake names files and folders in UTF-8: "
                + "rename it, or link to it from a UTF-8 name"
        }
        return nil
    }

}
