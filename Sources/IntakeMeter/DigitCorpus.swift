package import IntakeCodecs

#if canImport(Glibc)
import Glibc
#endif

/// One labelled crop of the digit corpus.
package struct DigitSample: Sendable, Equatable {
    /// The path from the folder of `labels.csv`, as the file names it.
    package let path: String
    /// The wheel position with tenths, rounded to one decimal (the file has float artefacts).
    package let value: Double

    /// The class the network is trained towards: the value in tenths, 0…99.
    package var tenths: Int { Int((value * 10).rounded()) % DigitDecoding.classCount }
}

/// The labelled digit crops of the shared corpus (`meters/digits/`, haverland, Apache-2.0) and
/// the fixed split that keeps one in ten away from training, used by `intake-train` and the tests.
package enum DigitCorpus {
    /// The folder that holds `labels.csv`: `path` itself or its `meters/digits` (the corpus root).
    package static func digitsFolder(_ path: String) -> String? { labelledFolder(path, within: "meters/digits") }

    /// The folder that holds `labels.csv`: `path` itself or its `subfolder` (below the corpus root).
    package static func labelledFolder(_ path: String, within subfolder: String) -> String? {
        for candidate in [path, path + "/" + subfolder] where access(candidate + "/labels.csv", R_OK) == 0 {
            return candidate
        }
        return nil
    }

    /// The rows of `labels.csv` (`file,value`) in `folder`.
    package static func samples(folder: String) throws(DigitModelError) -> [DigitSample] {
        guard let bytes = FileBytes.read(folder + "/labels.csv") else {
            throw DigitModelError("cannot read \(folder)/labels.csv")
        }
        var samples: [DigitSample] = []
        for (number, line) in bytes.split(separator: UInt8(ascii: "\n")).enumerated() {
            let text = String(decoding: line, as: UTF8.self).trimmingCarriageReturn
            if number == 0 && text.hasPrefix("file,") { continue }
            if text.isEmpty { continue }
            let fields = text.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count >= 2, let raw = Double(fields[1]) else {
                throw DigitModelError("labels.csv line \(number + 1): expected file,value, got \(text)")
            }
            let value = (raw * 10).rounded() / 10
            guard (0..<10).contains(value) else {
                throw DigitModelError("labels.csv line \(number + 1): value \(raw) is outside 0.0…9.9")
            }
            samples.append(DigitSample(path: String(fields[0]), value: value))
        }
        return samples
    }

    /// Whether `path` belongs to the validation split: one in ten, chosen by a hash of the path
    /// alone so that the split never changes with ordering, seed or corpus additions elsewhere.
    package static func isValidation(_ path: String) -> Bool {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in path.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash % 10 == 0
    }

    /// Decodes a crop file, JPEG or PNG whatever its name says.
    package static func decodeCrop(_ bytes: [UInt8], jpeg codec: JPEGCodec) throws(CodecError) -> RGBImage {
        // withUnsafeBytes only rethrows untyped errors: carry the typed one out in a Result.
        try bytes.withUnsafeBytes { raw in
            Result { () throws(CodecError) -> RGBImage in try decodeCrop(raw, jpeg: codec) }
        }.get()
    }

    private static func decodeCrop(_ raw: UnsafeRawBufferPointer, jpeg codec: JPEGCodec) throws(CodecError) -> RGBImage {
            switch Sniffer.sniff(raw) {
            case .jpeg:
                let header = try codec.readHeader(raw)
                return try codec.decode(raw, header: header, scale: .full, adobeInverted: true).image
            case .png:
                return try PNGDecoder.decode(raw, limits: DecodeLimits(maxPixels: 4_000_000)).image
            case .refused(let what):
                throw CodecError("a digit crop must be JPEG or PNG, this is \(what)")
            }
    }
}

extension String {
    fileprivate var trimmingCarriageReturn: String {
        hasSuffix("\r") ? String(dropLast()) : self
    }
}
