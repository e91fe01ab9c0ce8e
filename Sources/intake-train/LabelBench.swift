// The quality labels' bench (make bench-labels): the corpus's everyday photos, each degraded
// as a camera or its user would (defocus, motion, exposure, haze, noise, a poor JPEG, a small
// copy) and saved as a camera saves (JPEG quality 92), then decoded and labelled as the pipeline
// does. Photos are split in two halves by a hash of their path: thresholds are chosen on the
// tuning half (`--tune` prints its figures, `--tune --list` every sample's measures) and the
// figures that count are the validation half's, with the thresholds intake ships.

import ArgumentParser
import Dispatch
import Foundation
import IntakeClassify
import IntakeCodecs
import IntakeCore
import IntakeMeter
import IntakeTraining

struct Labels: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the quality labels on degraded corpus photos: precision, recall, false alarms (make bench-labels).")

    @Option(help: "The corpus root (default: $INTAKE_CORPUS, else ../shared/corpus).")
    var corpus: String?
    @Flag(help: "Also print the tuning half's figures, which the thresholds were chosen on.")
    var tune = false
    @Option(help: "Threads.")
    var threads = 2
    @Flag(help: "With --tune, list the tuning half's samples of the named degradations' measures.")
    var list = false
    @Option(help: "Which untouched photos deserve a quality label, judged by eye (CSV).")
    var judgement = "bench/label-judgement.csv"

    func run() throws {
        let root = corpus ?? ProcessInfo.processInfo.environment["INTAKE_CORPUS"] ?? "../shared/corpus"
        let photos = LabelBench.photos(corpus: root)
        guard photos.count >= 20 else { fail("too few photos in \(root) (found \(photos.count))") }
        let started = seconds()
        let samples = LabelBench.samples(photos: photos, threads: threads)
        say("label bench: \(photos.count) photos (\(photos.filter(\.validation).count) in the validation half), \(samples.count) images, \(String(format: "%.0f", seconds() - started)) s")
        let judged = LabelBench.judgement(path: judgement, corpus: root)
        LabelBench.report(samples.filter(\.validation), half: "validation half", judged: judged)
        if tune {
            LabelBench.report(samples.filter { !$0.validation }, half: "tuning half (what the thresholds were chosen on)", judged: judged)
        }
        if tune && list { LabelBench.list(samples.filter { !$0.validation }) }
    }
}

enum LabelBench {
    /// What a degradation deserves, for each quality label.
    enum Truth { case positive, negative, ignored }

    static let qualityLabels = ["blurred", "dark", "overexposed", "low_contrast"]

    /// Every degradation tried on every photo, with what each quality label should say. A
    /// degradation a person would not call obvious for a label, or one that makes the label
    /// a matter of taste (edges gone in a blown-out photo), is ignored for that label.
    static let degradations: [(Degradation, [String: Truth])] = {
        func truth(_ positive: String?, ignoring: [String] = []) -> [String: Truth] {
            Dictionary(uniqueKeysWithValues: qualityLabels.map { label in
                (label, label == positive ? .positive : ignoring.contains(label) ? .ignored : .negative)
            })
        }
        var list: [(Degradation, [String: Truth])] = [(.untouched, truth(nil))]
        // From a soft 1-pixel blur at the derivative's size (1/256 of the long side) to 3% of it.
        let sigmas: [Double] = [1 / 256, 1 / 120, 1 / 60, 1 / 33]
        for sigma in sigmas { list.append((.defocus(sigma: sigma), truth("blurred"))) }
        let streaks: [(length: Double, degrees: Double)] = [(1 / 60, 0), (1 / 60, 90), (1 / 30, 45), (1 / 30, 135), (1 / 40, 20)]
        for (length, degrees) in streaks {
            list.append((.motion(length: length, degrees: degrees), truth("blurred")))
        }
        // Whether the exposure label is owed depends on what the change did to the photo (see
        // `samples(of:)`); blur and contrast are a matter of taste once highlights or shadows go.
        for factor in [0.1, 0.18, 0.5, 1.6, 2.5, 3.5, 4.0] {
            list.append((.exposure(factor: factor), truth(factor > 1 ? "overexposed" : "dark", ignoring: ["blurred", "low_contrast"])))
        }
        list.append((.haze(contrast: 0.3), truth("low_contrast", ignoring: ["blurred"])))
        list.append((.noise(sigma: 10), truth(nil)))
        list.append((.jpeg(quality: 10), truth(nil, ignoring: ["blurred"])))
        list.append((.downscale(longSide: 400), truth(nil)))
        return list
    }()

    struct Photo {
        let path: String
        let validation: Bool
    }

    struct Sample {
        let photo: String
        let degradation: String
        let validation: Bool
        let truth: [String: Truth]
        let measures: QualityMeasures
        let labels: Set<String>
    }

    /// The corpus's everyday photos: JPEGs the reference decoders read cleanly from the camera
    /// and photo collections, at least 480 pixels on their short side, and the Kodak PNGs.
    static func photos(corpus: String) -> [Photo] {
        guard let text = try? String(contentsOfFile: corpus + "/MANIFEST.csv", encoding: .utf8),
            let table = try? CSV.table(text),
            let path = table.column("path"), let type = table.column("type"), let decode = table.column("decode"),
            let width = table.column("w"), let height = table.column("h")
        else { return [] }
        let folders = ["images/exif-samples/jpg/", "images/photoprism-samples/", "images/pillow-selected/jpeg/", "images/exif-samples/from-exif-py/"]
        let found = table.rows.map(\.fields).filter { fields in
            let file = fields[path]
            let isPhoto = fields[type] == "jpeg" && fields[decode] == "ok" && folders.contains { file.hasPrefix($0) }
            let isKodak = file.hasPrefix("images/image-png-extras/benches/kodim")
            guard isPhoto || isKodak, let w = Int(fields[width]), let h = Int(fields[height]) else { return false }
            return min(w, h) >= 480
        }.map { $0[path] }
        // By a hash of the path: the same halves on every machine and every run.
        return found.sorted().map { Photo(path: corpus + "/" + $0, validation: StableHash.fnv1a($0) & 1 == 1) }
    }

    /// Every photo, every degradation: saved at quality 92, decoded at the scale the pipeline
    /// decodes for a 256-pixel derivative, measured and labelled.
    static func samples(photos: [Photo], threads: Int) -> [Sample] {
        final class Results: @unchecked Sendable {
            var parts: [[Sample]]
            init(_ count: Int) { parts = Array(repeating: [], count: count) }
        }
        let results = Results(photos.count)
        let next = NSLock()
        nonisolated(unsafe) var cursor = 0
        inParallel(threads) { _ in
            let codec = try! JPEGCodec()
            while true {
                next.lock()
                let index = cursor
                cursor += 1
                next.unlock()
                guard index < photos.count else { return }
                let found = samples(of: photos[index], index: index, codec: codec)
                next.lock()
                results.parts[index] = found
                next.unlock()
            }
        }
        return results.parts.flatMap { $0 }
    }

    /// The photo at a working size of 1,024 pixels on its long side (a camera's full size would
    /// make the blurs slow and change nothing: every size is a fraction of the long side).
    private static func samples(of photo: Photo, index: Int, codec: JPEGCodec) -> [Sample] {
        guard let bytes = FileManager.default.contents(atPath: photo.path),
            let decoded = try? [UInt8](bytes).withUnsafeBytes({ try WholeImageDecoder.decode($0, jpeg: codec, maxPixels: 50_000_000) })
        else { return [] }
        let size = BoxFit.size(width: decoded.width, height: decoded.height, box: 1024)
        let working = size.width < decoded.width ? AreaResampler.resize(decoded, width: size.width, height: size.height) : decoded
        var random = SplitMix64(seed: 7, stream: 3, item: UInt64(index))
        return degradations.compactMap { degradation, listed in
            let degraded = degradation.apply(to: working, codec: codec, random: &random)
            var truth = listed
            if case .exposure(let factor) = degradation {
                // An exposure label is owed where the change did what a person sees at once:
                // blew out a fifth of the picture, or sank a quarter of it into black. A dark
                // photo pushed up is only brighter; a snowfield pulled down is only greyer.
                if factor > 1 { truth["overexposed"] = changedShare(from: working, to: degraded, into: 250...255) >= 0.2 ? .positive : .ignored }
                if factor < 1 { truth["dark"] = changedShare(from: working, to: degraded, into: 0...24) >= 0.25 ? .positive : .ignored }
            }
            guard let saved = try? codec.encode(degraded, quality: 92),
                let image = try? saved.withUnsafeBytes({ raw throws(CodecError) -> RGBImage in
                    let header = try codec.readHeader(raw)
                    let fitted = BoxFit.size(width: header.width, height: header.height, box: 256)
                    let scale = ScaleFactor.smallest(width: header.width, height: header.height, covering: fitted.width, fitted.height)
                    return try codec.decode(raw, header: header, scale: scale, adobeInverted: true).image
                })
            else { return nil }
            let labels = ImageClassifier.labels(for: image, originalWidth: degraded.width, originalHeight: degraded.height)
            return Sample(
                photo: photo.path, degradation: degradation.description, validation: photo.validation, truth: truth,
                measures: ImageClassifier.qualityMeasures(of: image), labels: Set(labels.map(\.name)))
        }
    }

    /// The share of pixels whose luma is in `range` in `degraded` and was not in `original`:
    /// newly blown out (250–255) or newly black (0–24).
    static func changedShare(from original: RGBImage, to degraded: RGBImage, into range: ClosedRange<Int>) -> Double {
        let before = original.pixels, after = degraded.pixels
        var changed = 0
        for i in stride(from: 0, to: min(before.count, after.count), by: 3) {
            func luma(_ p: UnsafeBufferPointer<UInt8>) -> Int { (299 * Int(p[i]) + 587 * Int(p[i + 1]) + 114 * Int(p[i + 2])) / 1000 }
            if range.contains(luma(after)) && !range.contains(luma(before)) { changed += 1 }
        }
        return Double(changed) / Double(max(1, after.count / 3))
    }

    /// What an annotator, looking at each untouched photo blind to intake's labels, said it
    /// deserves: the quality labels it plainly deserves, and whether it is a camera photo at all.
    struct Judgement {
        var deserved: Set<String>
        var notAPhoto: Bool
    }

    /// The judgement file's rows by photo path (as `photos(corpus:)` gives them); empty, said
    /// so, when there is none.
    static func judgement(path: String, corpus: String) -> [String: Judgement] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let table = try? CSV.table(text),
            let file = table.column("path"), let notAPhoto = table.column("not_a_photo")
        else {
            say("no judgement at \(path): untouched photos' labels are all counted as false alarms")
            return [:]
        }
        var judged: [String: Judgement] = [:]
        for row in table.rows.map(\.fields) {
            let deserved = qualityLabels.filter { label in table.column(label).map { row[$0] == "yes" } ?? false }
            judged[corpus + "/" + row[file]] = Judgement(deserved: Set(deserved), notAPhoto: row[notAPhoto] == "yes")
        }
        return judged
    }

    /// Per label: precision and recall over the samples, and false alarms on untouched photos:
    /// every label counted, then (with a judgement) only those the photo does not deserve.
    static func report(_ samples: [Sample], half: String, judged: [String: Judgement] = [:]) {
        say("\(half), thresholds as shipped:")
        say("  label          precision  recall   false alarms on untouched photos")
        for label in qualityLabels {
            let judged = samples.filter { $0.truth[label] != .ignored }
            let positives = judged.filter { $0.truth[label] == .positive }
            let found = judged.filter { $0.labels.contains(label) }
            let right = found.filter { $0.truth[label] == .positive }.count
            let untouched = samples.filter { $0.degradation == "untouched" }
            let alarms = untouched.filter { $0.labels.contains(label) }.count
            say("  " + label.padding(toLength: 14, withPad: " ", startingAt: 0)
                + percent(right, of: found.count).padding(toLength: 11, withPad: " ", startingAt: 0)
                + percent(right, of: positives.count).padding(toLength: 9, withPad: " ", startingAt: 0)
                + "\(percent(alarms, of: untouched.count)) (\(alarms) of \(untouched.count))")
        }
        let untouched = samples.filter { $0.degradation == "untouched" }
        let anyAlarm = untouched.filter { !$0.labels.isDisjoint(with: qualityLabels) }
        say("  any quality label on an untouched photo: \(percent(anyAlarm.count, of: untouched.count)) (\(anyAlarm.count) of \(untouched.count))")
        let ordinary = untouched.filter { judged[$0.photo].map { !$0.notAPhoto } ?? false }
        if !ordinary.isEmpty {
            let others = untouched.count - ordinary.count
            say("  judged by eye (\(ordinary.count) ordinary photos; \(others) not photos or not judged, left out): labels not deserved, deserved labels missed")
            for label in qualityLabels {
                let undeserved = ordinary.filter { $0.labels.contains(label) && !judged[$0.photo]!.deserved.contains(label) }.count
                let deserving = ordinary.filter { judged[$0.photo]!.deserved.contains(label) }
                let missed = deserving.filter { !$0.labels.contains(label) }.count
                say("    " + label.padding(toLength: 14, withPad: " ", startingAt: 0)
                    + "\(percent(undeserved, of: ordinary.count)) (\(undeserved) of \(ordinary.count))".padding(toLength: 18, withPad: " ", startingAt: 0)
                    + "missed \(missed) of \(deserving.count)")
            }
            let anyUndeserved = ordinary.filter { !$0.labels.intersection(qualityLabels).subtracting(judged[$0.photo]!.deserved).isEmpty }.count
            say("  a quality label an ordinary photo does not deserve: \(percent(anyUndeserved, of: ordinary.count)) (\(anyUndeserved) of \(ordinary.count))")
        }
        say("  recall by degradation:")
        let byDegradation = Dictionary(grouping: samples, by: \.degradation)
        for (degradation, group) in byDegradation.sorted(by: { $0.key < $1.key }) {
            let owed = qualityLabels.filter { label in group.contains { $0.truth[label] == .positive } }
            let text = owed.isEmpty
                ? "owed none; got " + qualityLabels.map { label in "\(label) \(group.filter { $0.labels.contains(label) }.count)" }.joined(separator: ", ")
                : owed.map { label in
                    let owing = group.filter { $0.truth[label] == .positive }
                    return "\(label) \(percent(owing.filter { $0.labels.contains(label) }.count, of: owing.count)) of the \(owing.count) owed"
                }.joined(separator: ", ")
            say("    " + degradation.padding(toLength: 26, withPad: " ", startingAt: 0) + text)
        }
    }

    /// Every tuning sample's measures, one line each, for choosing measures by eye and by script.
    static func list(_ samples: [Sample]) {
        for sample in samples {
            let m = sample.measures
            say(String(format: "sample\t%@\t%@\towed=%@\tblur=%.3f\tmean=%.1f\tp99=%.0f\tclipped=%.3f\tunclipped=%.0f\tspread=%.0f\tscreen=%.2f\tdoc=%.2f\t%@",
                       (sample.photo as NSString).lastPathComponent, sample.degradation,
                       qualityLabels.filter { sample.truth[$0] == .positive }.joined(separator: "+"), m.blur, m.meanLuma, m.percentile99,
                       m.clippedFraction, m.unclippedMean, m.spread, m.screenshot, m.document, sample.labels.sorted().joined(separator: ",")))
        }
    }

    static func percent(_ part: Int, of whole: Int) -> String {
        whole == 0 ? "–" : String(format: "%.1f%%", 100 * Double(part) / Double(whole))
    }
}
