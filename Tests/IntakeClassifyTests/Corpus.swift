import IntakeCodecs

#if canImport(Glibc)
import Glibc
#endif

/// The shared test corpus — `$INTAKE_CORPUS`, or `../shared/corpus` beside the checkout — and
/// its images decoded the way the pipeline decodes them for classification.
enum Corpus {
    /// The corpus folder, or nil (after saying so) when it is not there: the corpus is never
    /// committed, so a fresh clone elsewhere skips these tests.
    static let root: String? = {
        let path: String
        if let value = getenv("INTAKE_CORPUS") {
            path = String(cString: value)
        } else {
            // Drop <file>.swift, IntakeClassifyTests and Tests to reach the package root.
            var root = #filePath
            for _ in 0..<3 { root = String(root[..<(root.lastIndex(of: "/") ?? root.startIndex)]) }
            path = (root.isEmpty ? "." : root) + "/../shared/corpus"
        }
        guard access(path + "/MANIFEST.csv", R_OK) == 0 else {
            print("skipped: no corpus at \(path)")
            return nil
        }
        return path
    }()

    /// A decoded image and the size its file stores.
    struct Decoded {
        var image: RGBImage
        var storedWidth: Int
        var storedHeight: Int
    }

    /// The names of the files in `folder` (relative to the corpus) ending in `suffix`, sorted.
    static func files(in folder: String, suffix: String = ".jpg") -> [String] {
        guard let root, let directory = opendir(root + "/" + folder) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.lowercased().hasSuffix(suffix) { names.append(name) }
        }
        return names.sorted()
    }

    /// The file at `path` (relative to the corpus) decoded as the pipeline does before classifying:
    /// a JPEG shrunk on load to the smallest DCT scale that still covers a 256-pixel box, a PNG in full.
    static func decode(_ path: String) throws -> Decoded {
        guard let root else { throw CorpusError("no corpus") }
        guard let bytes = read(root + "/" + path) else { throw CorpusError("cannot read \(path)") }
        return try bytes.withUnsafeBytes { data throws -> Decoded in
            if bytes.starts(with: [0xFF, 0xD8]) {
                let codec = try JPEGCodec()
                let header = try codec.readHeader(data)
                let need = BoxFit.size(width: header.width, height: header.height, box: 256)
                let scale = ScaleFactor.smallest(width: header.width, height: header.height, covering: need.width, need.height)
                let decoded = try codec.decode(data, header: header, scale: scale, adobeInverted: false)
                return Decoded(image: decoded.image, storedWidth: header.width, storedHeight: header.height)
            }
            let png = try PNGDecoder.decode(data, limits: DecodeLimits())
            return Decoded(image: png.image, storedWidth: png.header.width, storedHeight: png.header.height)
        }
    }

    private static func read(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return bytes
    }
}

struct CorpusError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
