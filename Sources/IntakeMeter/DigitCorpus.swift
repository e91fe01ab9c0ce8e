import IntakeCore
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

    /// The rows of `labels.csv` (`file,value`, or `file,needle_value` for dials) in `folder`,
    /// read with the strict CSV reader: a broken line stops the run with its number.
    package static func samples(folder: String) throws(DigitModelError) -> [DigitSample] {
        guard let bytes = try? WholeFile.read(folder + "/labels.csv") else {
            throw DigitModelError("cannot read \(folder)/labels.csv")
        }
        let table: CSV.Table
        do {
            table = try CSV.table(String(decoding: bytes, as: UTF8.self))
        } catch {
            throw DigitModelError("\(folder)/labels.csv \(error)")
        }
        guard table.header.count == 2, table.header[0] == "file" else {
            throw DigitModelError("\(folder)/labels.csv: the header must be file,value (found: \(table.header.joined(separator: ",")))")
        }
        var samples: [DigitSample] = []
        for row in table.rows {
            guard let raw = Double(row.fields[1].trimmedWhitespace) else {
                throw DigitModelError("\(folder)/labels.csv line \(row.line): value \"\(row.fields[1])\" is not a number")
            }
            let value = (raw * 10).rounded() / 10
            guard (0..<10).contains(value) else {
                throw DigitModelError("\(folder)/labels.csv line \(row.line): value \(raw) is outside 0.0…9.9")
            }
            samples.append(DigitSample(path: row.fields[0], value: value))
        }
        return samples
    }

    /// Whether `path` belongs to the validation split: one in ten, chosen by a hash of the path
    /// alone so that the split never changes with ordering, seed or corpus additions elsewhere.
    package static func isValidation(_ path: String) -> Bool {
        StableHash.fnv1a(path) % 10 == 0
    }

    /// Decodes a crop file, JPEG or PNG whatever its name says.
    package static func decodeCrop(_ bytes: [UInt8], jpeg codec: JPEGCodec) throws(CodecError) -> RGBImage {
        // withUnsafeBytes only rethrows untyped errors: carry the typed one out in a Result.
        try bytes.withUnsafeBytes { raw in
            Result { () throws(CodecError) -> RGBImage in try decodeCrop(raw, jpeg: codec) }
        }.get()
    }

    private static func decodeCrop(_ raw: UnsafeRawBufferPointer, jpeg codec: JPEGCodec) throws(CodecError) -> RGBImage {
        try WholeImageDecoder.decode(raw, jpeg: codec, maxPixels: 4_000_000)
    }
}

extension String {
    fileprivate var trimmingCarriageReturn: String {
        hasSuffix("\r") ? String(dropLast()) : self
    }
}
