package import IntakeCodecs
import IntakeCore

/// One labelled needle crop of the corpus (`meters/needles`, no licence: it only ever measures).
package struct NeedleSample: Sendable, Equatable {
    /// The path from the folder of `labels.csv`.
    package let path: String
    /// The needle position, 0.0…9.9.
    package let value: Double
    package var family: DialFamily { DialFamily(path: path) }
    package var half: NeedleHalf { NeedleHalf(path: path) }
}

/// The two halves of the needle crops, chosen by a hash of the path. The tuning half may be looked
/// at and chooses the renderer's styles and the training's settings; the report half is only ever
/// reported, so that its figures are those of crops nothing was tuned on.
package enum NeedleHalf: String, Sendable, CaseIterable {
    case tuning, report

    package init(path: String) {
        self = (StableHash.fnv1a(path) >> 17) % 2 == 0 ? .tuning : .report
    }
}

/// The kinds of dial among the needle crops, named by what follows the label in the file name.
package enum DialFamily: String, Sendable, CaseIterable {
    /// `pointer_…`: a red half-disc sector with a wedge pointer opposite its flat edge.
    case pointer
    /// `ana…`, `analog…`, `main_ana…`: red and black needles on white, cream or olive faces.
    case analog
    /// `zeiger…`: red teardrop needles on a large red hub.
    case zeiger
    /// `jdc`: slim black needles with a round tail.
    case jdc
    /// 32 hexadecimal digits: crops of many meters, red needles, glare, stickers, tints.
    case hashed
    /// Everything else (names that are only the value).
    case other

    package init(path: String) {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        // What follows the label: "3.4_1788_zeiger2_…" → "1788_zeiger2_…"; "7.3._jdc.jpg" → "_jdc.jpg".
        var rest = Substring(file)
        while let first = rest.first, first.isNumber || first == "." { rest = rest.dropFirst() }
        let name = rest.drop { $0 == "_" }.lowercased()
        let stem = name.hasSuffix(".jpg") ? String(name.dropLast(4)) : name
        if name.contains("pointer") {
            self = .pointer
        } else if name.contains("zeiger") {
            self = .zeiger
        } else if name.contains("jdc") {
            self = .jdc
        } else if name.contains("ana") {
            self = .analog
        } else if stem.count == 32, stem.allSatisfy(\.isHexDigit) {
            self = .hashed
        } else {
            self = .other
        }
    }
}

/// The labelled needle crops of the shared corpus and how well a reader reads them.
package enum NeedleCorpus {
    /// The folder that holds `labels.csv`: `path` itself or its `meters/needles` (the corpus root).
    package static func folder(_ path: String) -> String? { DigitCorpus.labelledFolder(path, within: "meters/needles") }

    /// The rows of `labels.csv` (`file,needle_value`) in `folder`.
    package static func samples(folder: String) throws(DigitModelError) -> [NeedleSample] {
        try DigitCorpus.samples(folder: folder).map { NeedleSample(path: $0.path, value: $0.value) }
    }

    /// Every crop of `samples` decoded, or nil where it cannot be.
    package static func decode(folder: String, _ samples: [NeedleSample], jpeg codec: JPEGCodec) -> [RGBImage?] {
        samples.map { sample in
            guard let bytes = try? WholeFile.read(folder + "/" + sample.path) else { return nil }
            return try? DigitCorpus.decodeCrop(bytes, jpeg: codec)
        }
    }
}

/// How well dial readings match their labels: overall, per family and per confidence band, on
/// one half of the needle crops.
package struct DialScore: Sendable {
    /// Confidence bands, lower bounds; the last runs to 1.
    package static let bands = [0.0, 0.3, 0.5, 0.7, 0.9]

    package struct Tally: Sendable {
        package var count = 0, within02 = 0, within05 = 0

        mutating func add(distance: Double) {
            count += 1
            if distance <= 0.2 + 1e-9 { within02 += 1 }
            if distance <= 0.5 + 1e-9 { within05 += 1 }
        }

        package var share02: Double { Double(within02) / Double(max(count, 1)) }
    }

    package var all = Tally()
    /// Readings at or above the confidence threshold.
    package var confident = Tally()
    package var families: [DialFamily: Tally] = [:]
    package var byBand = [Tally](repeating: Tally(), count: bands.count)
    package let threshold: Double

    package init(threshold: Double) { self.threshold = threshold }

    /// Adds one reading of a crop labelled `label` (a missing reading counts as wrong).
    package mutating func add(_ reading: DialReading?, label: Double, family: DialFamily) {
        let distance = reading.map { DigitReading.circularDistance($0.value, label) } ?? .infinity
        let confidence = reading?.confidence ?? 0
        all.add(distance: distance)
        families[family, default: Tally()].add(distance: distance)
        byBand[Self.bands.lastIndex { confidence >= $0 } ?? 0].add(distance: distance)
        if confidence >= threshold { confident.add(distance: distance) }
    }

    /// The figures as lines of text, each starting with `indent`.
    package func lines(indent: String = "  ") -> [String] {
        func percent(_ tally: Tally) -> String {
            tally.count == 0 ? "—" : String(Int((tally.share02 * 1000).rounded())).withDecimal + "%"
        }
        var lines = [
            "\(indent)overall: \(all.count) crops, within ±0.2 \(percent(all)), within ±0.5 "
                + "\(String(Int((Double(all.within05) / Double(max(all.count, 1)) * 1000).rounded())).withDecimal)%",
            "\(indent)confidence ≥ \(threshold): \(confident.count) of \(all.count) crops "
                + "(\(String(Int((Double(confident.count) / Double(max(all.count, 1)) * 1000).rounded())).withDecimal)%), "
                + "\(percent(confident)) of them within ±0.2",
        ]
        let familyText = DialFamily.allCases.compactMap { family -> String? in
            guard let tally = families[family] else { return nil }
            return "\(family.rawValue) \(percent(tally)) of \(tally.count)"
        }
        lines.append("\(indent)per family (within ±0.2): " + familyText.joined(separator: ", "))
        var bandText: [String] = []
        for (index, lower) in Self.bands.enumerated() {
            let upper = index + 1 < Self.bands.count ? "\(Self.bands[index + 1])" : "1"
            bandText.append("[\(lower), \(upper)\(index + 1 < Self.bands.count ? ")" : "]") \(percent(byBand[index])) of \(byBand[index].count)")
        }
        lines.append("\(indent)per confidence band (within ±0.2): " + bandText.joined(separator: ", "))
        return lines
    }
}

extension String {
    /// "975" (tenths of a percent) → "97.5".
    fileprivate var withDecimal: String {
        let digits = count < 2 ? String(repeating: "0", count: 2 - count) + self : self
        return digits.dropLast() + "." + digits.suffix(1)
    }
}
