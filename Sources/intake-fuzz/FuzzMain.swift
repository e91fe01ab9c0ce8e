#if canImport(Glibc)
import Glibc
#endif

#if INTAKE_FUZZ
/// Built by `make fuzz` (`-sanitize=fuzzer,address -DINTAKE_FUZZ`), libFuzzer's own `main` drives
/// the target named by `INTAKE_FUZZ_TARGET`: `INTAKE_FUZZ_TARGET=image intake-fuzz [options] [corpus…]`.
enum FuzzEntry {
    nonisolated(unsafe) static let target: FuzzTarget = {
        let name = getenv("INTAKE_FUZZ_TARGET").map { String(cString: $0) } ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
            fatalError("set INTAKE_FUZZ_TARGET to one of \(names)")
        }
        return target
    }()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzEntry.target.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#else
/// Built plainly (as `swift build` does), it runs a target once on each file named, which replays
/// an input the fuzzer saved: `intake-fuzz image crash-…`.
@main
enum ReplayMain {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count >= 2, let target = FuzzTarget(rawValue: arguments[1]) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
            complain("usage: intake-fuzz TARGET FILE…; TARGET is one of \(names)")
            exit(2)
        }
        for path in arguments.dropFirst(2) {
            guard let file = fopen(path, "rb") else {
                complain("intake-fuzz: cannot open \(path)")
                exit(1)
            }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while case let n = fread(&chunk, 1, chunk.count, file), n > 0 { bytes += chunk[0..<n] }
            fclose(file)
            bytes.withUnsafeBytes { target.run($0) }
            print("ran \(target.rawValue) on \(path): no crash")
        }
    }

    static func complain(_ text: String) {
        let line = text + "\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}
#endif
