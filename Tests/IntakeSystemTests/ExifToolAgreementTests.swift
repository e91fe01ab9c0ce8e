import Foundation
import IntakeCodecs
import IntakePipeline
import IntakeTestSupport
import Testing

/// intake's EXIF against ExifTool's on the corpus's camera JPEGs (MANIFEST.csv rows of type jpeg
/// with a make): make, model, date taken, orientation, ISO and GPS. The issue's goal is 98%.
@Suite struct ExifToolAgreementTests {
    static let exiftool = "/usr/bin/exiftool"

    /// One field as both readers give it, normalised so that only a different value disagrees:
    /// dates to their first 19 characters (ExifTool appends a zone some files keep elsewhere),
    /// ISO rounded (ExifTool composes Canon's as a fraction), GPS to 4 decimals (about 10 m).
    struct Pair: CustomStringConvertible {
        let field: String, file: String, exiftool: String?, intake: String?
        var description: String { "\(field) of \(file): ExifTool \(exiftool ?? "none"), intake \(intake ?? "none")" }
    }

    static func text(_ value: Any?) -> String? {
        switch value {
        case let string as String: string.trimmingCharacters(in: .whitespaces).isEmpty ? nil : string.trimmingCharacters(in: .whitespaces)
        case let number as NSNumber: number.stringValue
        default: nil
        }
    }

    static func number(_ value: Any?) -> Double? {
        (value as? NSNumber)?.doubleValue ?? (value as? String).flatMap { Double($0.split(separator: ",").first.map(String.init) ?? $0) }
    }

    static func pairs(file: String, exiftool tool: [String: Any], facts: ImageFacts) -> [Pair] {
        let exif = facts.exif
        func date(_ value: String?) -> String? { value.map { String($0.prefix(19)) } }
        func gps(_ latitude: Double?, _ longitude: Double?) -> String? {
            guard let latitude, let longitude else { return nil }
            return String(format: "%.4f %.4f", latitude, longitude)
        }
        // The orientation intake applied, wherever it came from (EXIF, else XMP), as ExifTool
        // reports either.
        let orientation = facts.orientationSource != nil ? facts.orientation : exif?.orientation
        return [
            Pair(field: "make", file: file, exiftool: text(tool["Make"]), intake: exif?.make),
            Pair(field: "model", file: file, exiftool: text(tool["Model"]), intake: exif?.model),
            Pair(field: "date taken", file: file, exiftool: date(text(tool["DateTimeOriginal"])), intake: date(exif?.dateTaken)),
            Pair(field: "orientation", file: file, exiftool: number(tool["Orientation"]).map { String(Int($0)) }, intake: orientation.map(String.init)),
            Pair(field: "ISO", file: file, exiftool: number(tool["ISO"]).map { String(Int($0.rounded())) }, intake: exif?.iso.map(String.init)),
            Pair(field: "GPS", file: file, exiftool: gps(number(tool["GPSLatitude"]), number(tool["GPSLongitude"])),
                 intake: gps(exif?.latitude, exif?.longitude)),
        ].filter { $0.exiftool != nil || $0.intake != nil }
    }

    @Test(.enabled(if: Fixtures.corpus != nil && access(exiftool, X_OK) == 0,
                   "needs ../shared/corpus and ExifTool (Debian libimage-exiftool-perl; make test installs it)"))
    func intakeAgreesWithExifToolOnTheCorpusCameraJPEGs() throws {
        let corpus = try #require(Fixtures.corpus)
        let manifest = try #require(Manifest(corpus: corpus))
        let files = manifest.rows.filter { $0["type"] == "jpeg" && !$0["make"].isEmpty }.map(\.path)
        #expect(files.count > 80)

        let answer = try ChildProcess.run(Self.exiftool, [
            "-json", "-n", "-fast", "-charset", "filename=utf8",
            "-Make", "-Model", "-DateTimeOriginal", "-Orientation", "-ISO", "-GPSLatitude", "-GPSLongitude",
        ] + files.map { corpus + "/" + $0 })
        let parsed = try JSONSerialization.jsonObject(with: Data(answer.standardOutput.utf8)) as? [[String: Any]]
        let byFile = Dictionary((parsed ?? []).compactMap { row in (row["SourceFile"] as? String).map { ($0, row) } }) { first, _ in first }

        let processor = try ImageProcessor(options: ProcessingOptions())
        var pairs: [Pair] = [], refused: [String] = []
        for file in files {
            let bytes = try #require(Fixtures.readFile(corpus + "/" + file))
            let outcome = processor.process(bytes)
            // A file intake refuses (its image data is broken) has no facts to compare.
            guard case .success = outcome.result else {
                refused.append(file)
                continue
            }
            pairs += Self.pairs(file: file, exiftool: byFile[corpus + "/" + file] ?? [:], facts: outcome.facts)
        }
        let disagreements = pairs.filter { $0.exiftool != $0.intake }
        let agreement = Double(pairs.count - disagreements.count) / Double(max(pairs.count, 1))
        print("EXIF agreement with ExifTool: \(pairs.count - disagreements.count)/\(pairs.count) = \(String(format: "%.1f", agreement * 100))% over \(files.count - refused.count) camera JPEGs (\(refused.count) refused by intake, not compared)")
        for pair in disagreements { print("  differs: \(pair)") }
        #expect(agreement >= 0.98, "\(disagreements)")
        // The maker note is where the Canon cameras' ISO comes from, and the record says so.
        let canon = try #require(Fixtures.readFile(corpus + "/images/exif-samples/jpg/Canon_PowerShot_S40.jpg"))
        let facts = processor.process(canon).facts
        #expect(facts.exif?.iso == 100 && facts.exif?.sources?["iso"] == "maker note (Canon)")
    }
}
