public import IntakeCodecs

#if canImport(Glibc)
import Glibc
#endif

/// Images made by the tests themselves, and helpers to compare them.
public enum Fixtures {
    /// A smooth image with distinct corners: red grows to the right, green downwards, and the
    /// top-left quarter is dark, so every flip and turn is visible.
    public static func gradient(width: Int, height: Int) -> RGBImage {
        RGBImage(width: width, height: height) { p in
            for y in 0..<height {
                for x in 0..<width {
                    let i = (y * width + x) * 3
                    let dark = x < width / 2 && y < height / 2
                    p[i] = UInt8(x * 255 / max(1, width - 1))
                    p[i + 1] = UInt8(y * 255 / max(1, height - 1))
                    p[i + 2] = dark ? 0 : 200
                }
            }
        }
    }

    /// Mean absolute difference per channel between two images of the same size.
    public static func meanDifference(_ a: RGBImage, _ b: RGBImage) -> Double {
        precondition(a.width == b.width && a.height == b.height, "sizes differ: \(a.width)×\(a.height) vs \(b.width)×\(b.height)")
        var total = 0
        for i in 0..<(a.width * a.height * 3) { total += abs(Int(a.storage.base[i]) - Int(b.storage.base[i])) }
        return Double(total) / Double(a.width * a.height * 3)
    }

    /// Where the shared corpus is: $INTAKE_CORPUS, or ../shared/corpus beside the checkout.
    public static var corpus: String? {
        if let value = getenv("INTAKE_CORPUS") {
            let path = String(cString: value)
            return access(path, R_OK) == 0 ? path : nil
        }
        let path = packageRoot + "/../shared/corpus"
        return access(path + "/MANIFEST.csv", R_OK) == 0 ? path : nil
    }

    /// The checkout's root folder.
    public static var packageRoot: String {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }

    public static func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return bytes
    }
}
