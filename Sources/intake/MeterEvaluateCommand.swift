import ArgumentParser
import Foundation
import IntakeCodecs
import IntakeConfig
import IntakeMeter
import IntakePipeline
import IntakeReports

/// `intake meter evaluate`: the meter reader's accuracy on the corpus, as `make bench-meter`
/// prints it — digits on the validation split the model never trained on, dials within ±0.2 on
/// the needle crops (overall, per family, per confidence band, on the tuning and report halves),
/// and whole readings of the demo meter's photos against their file names.
struct MeterEvaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate", abstract: "Accuracy of the digit model, the dial reader and whole readings.")
    @Option(help: "The shared corpus.") var corpus = "../shared/corpus"
    @Option(help: "Folder of the meter profiles, digits.weights and dials.weights.") var profiles = "etc/meters"
    @Flag(help: "Name every photo the reader abstained on, with the reason, and every dial crop of the tuning half read wrong.") var verbose = false
    @Flag(help: "Only the demo photos, untransformed and moved (not the digit and dial crops).") var photosOnly = false

    func run() throws {
        guard FileManager.default.fileExists(atPath: corpus + "/meters") else {
            output("bench-meter: no corpus at \(corpus); skipping\n")
            return
        }
        let codec = try JPEGCodec()
        if !photosOnly {
            evaluateDigits(codec)
            evaluateDials(codec)
        }
        let station = MeterStation(profilesFolder: profiles)
        guard case .success(let reader)? = station.reader(for: "demo-meter") else {
            return output("demo photos: the demo-meter profile in \(profiles) cannot be loaded\n")
        }
        let photos = demoPhotos()
        let plain = evaluateDemoPhotos(photos, reader)
        evaluateMovedPhotos(photos, plain: plain, reader)
    }

    private func evaluateDigits(_ codec: JPEGCodec) {
        guard let folder = DigitCorpus.digitsFolder(corpus + "/meters/digits"), let samples = try? DigitCorpus.samples(folder: folder),
            let model = try? DigitModel(weightsAt: profiles + "/digits.weights")
        else { return output("digits: corpus or weights missing\n") }
        let validation = samples.filter { DigitCorpus.isValidation($0.path) }
        var within = [0.5: 0, 0.2: 0, 0.1: 0], read = 0
        for sample in validation {
            guard let bytes = FileManager.default.contents(atPath: folder + "/" + sample.path),
                let crop = try? DigitCorpus.decodeCrop(Array(bytes), jpeg: codec)
            else { continue }
            read += 1
            let distance = DigitReading.circularDistance(model.read(crop).value, sample.value)
            for limit in within.keys where distance <= limit + 1e-9 { within[limit, default: 0] += 1 }
        }
        func share(_ n: Int) -> String { Cell.decimal(100 * Double(n) / Double(max(1, read)), 2) + "%" }
        output(
            "digits: \(read) validation crops: within half a step (0.5) \(share(within[0.5]!)), within 0.2 \(share(within[0.2]!)), within 0.1 \(share(within[0.1]!)) (goal >= 99%)\n"
        )
    }

    /// The dial reader on the needle crops, split by a hash of the path: the tuning half chose the
    /// renderer's styles and the training's settings, the report half was never looked at.
    private func evaluateDials(_ codec: JPEGCodec) {
        guard let folder = NeedleCorpus.folder(corpus), let samples = try? NeedleCorpus.samples(folder: folder) else {
            return output("dials: no needles\n")
        }
        let model: DialModel
        do { model = try DialModel(weightsAt: profiles + "/dials.weights") } catch { return output("dials: \(error)\n") }
        let crops = NeedleCorpus.decode(folder: folder, samples, jpeg: codec)
        for half in NeedleHalf.allCases {
            var score = DialScore(threshold: DialModel.confidenceThreshold), geometric = DialScore(threshold: DialModel.confidenceThreshold)
            for (sample, crop) in zip(samples, crops) where sample.half == half {
                guard let crop else { continue }
                let reading = model.read(crop), alone = DialReader.read(crop)
                score.add(reading, label: sample.value, family: sample.family)
                geometric.add(alone, label: sample.value, family: sample.family)
                // Only the tuning half's misses are named: the report half is never looked at.
                if verbose, half == .tuning, DigitReading.circularDistance(reading.value, sample.value) > DialModel.window + 1e-9 {
                    output(
                        "  dial miss: \(sample.path) label \(sample.value) read \(Cell.decimal(reading.value, 2)) "
                            + "confidence \(Cell.decimal(reading.confidence, 2)); geometry \(alone.map { "\(Cell.decimal($0.value, 2)) (\(Cell.decimal($0.confidence, 2)))" } ?? "none")\n"
                    )
                }
            }
            let role = half == .tuning ? "looked at while tuning" : "only reported, never tuned on"
            output("dials, \(half) half (\(role); decodable crops): goals >= 97% overall, >= 90% per family, >= 99.5% when confident\n")
            output(score.lines(indent: "  ").joined(separator: "\n") + "\n")
            output(
                "  the geometric reader alone: within ±0.2 \(Cell.decimal(100 * geometric.all.share02, 1))%, "
                    + "confident \(geometric.confident.count), \(Cell.decimal(100 * geometric.confident.share02, 1))% of them within ±0.2\n")
        }
    }

    /// The demo photos, each read untransformed and as a moved camera would take it: does the
    /// reader follow the camera, or abstain, and never read another value?
    private func demoPhotos() -> [(name: String, image: RGBImage)] {
        let folder = corpus + "/meters/demo-meter"
        guard let processor = try? ImageProcessor(options: ProcessingOptions()),
            let names = try? FileManager.default.contentsOfDirectory(atPath: folder)
        else { return [] }
        // Named by the reading the camera took them at: a file named otherwise is not one of them.
        return names.filter { $0.hasSuffix(".jpg") && Double($0.dropLast(4)) != nil }.sorted().compactMap { name in
            guard let bytes = try? ImageFile.read(path: folder + "/" + name, maxBytes: 50 << 20, followSymlinks: false),
                case .success(let image) = processor.decodeUpright(bytes)
            else { return nil }
            return (name, image)
        }
    }

    /// Each demo photo read as it is, searched afresh: its value and the meter stage's CPU
    /// milliseconds. Then read again as a fixed camera's photos come, each following where the
    /// last was found: the cost of the common case, which must read the same values.
    private func evaluateDemoPhotos(_ photos: [(name: String, image: RGBImage)], _ reader: MeterReader) -> [(value: Double?, ms: Double)] {
        var right = 0, readable = 0, wrong = 0
        var results: [(value: Double?, ms: Double)] = []
        for (name, image) in photos {
            let truth = Double(name.dropLast(4))!
            let ((_, reading), ms) = CPUClock.timed { reader.inspect(image, followingLastPhoto: false) }
            results.append((reading.value, ms))
            let value = reading.value
            // The file names are the camera's own readings, which lag some photos by up to 4.5 L:
            // within 5 L counts as right, and any difference over 1 L is checked by eye.
            let verdict: String
            if let value {
                readable += 1
                if abs(value - truth) <= 0.005 {
                    right += 1; verdict = abs(value - truth) <= 0.001 ? "ok" : "ok (name lags by \(Cell.decimal((value - truth) * 1000, 1)) L)"
                } else {
                    wrong += 1; verdict = "WRONG"
                }
            } else {
                verdict = "abstained"
            }
            output("  \(name)  read \(value.map { Cell.decimal($0, 5) } ?? "unreadable (\(reading.unreadableReason ?? ""))")  \(verdict)\n")
        }
        output(
            "demo photos: \(right) of \(photos.count) read right (within 5 L of the file name), \(wrong) wrong, \(photos.count - readable) abstained (goal >= 11 right, 0 wrong)\n"
        )

        let resolution = 1 / pow(10, Double(reader.profile.profile.decimals))
        var followed = 0, differing = 0, followedMs: [Double] = []
        for ((name, image), searched) in zip(photos, results) {
            let ((aligned, reading), ms) = CPUClock.timed { reader.inspect(image) }
            guard case .success(let alignment) = aligned, alignment.followedLastPhoto else { continue }
            followed += 1
            followedMs.append(ms)
            let same =
                switch (reading.value, searched.value) {
                case (nil, nil): true
                case (let a?, let b?): abs(a - b) <= resolution / 2
                default: false
                }
            if !same {
                differing += 1
                output(
                    "  DIFFERENT when followed: \(name): \(reading.value.map { Cell.decimal($0, 6) } ?? "unreadable") vs \(searched.value.map { Cell.decimal($0, 6) } ?? "unreadable") searched\n"
                )
            }
        }
        output(
            "fixed camera (each photo following the last): \(followed) of \(photos.count) followed, \(differing) read differently from the full search; "
                + "whole meter stage \(Self.median(followedMs)) ms when followed, \(Self.median(results.map(\.ms))) ms searched (median CPU, one run each; the goal's figure is the last line's)\n"
        )
        return results
    }

    /// Each demo photo's CPU time searched afresh is the least of this many runs, taken in rounds
    /// over all the photos: the work is the same every run, and what varies (another process on
    /// the core, a cold cache, a slower host under the VM, for seconds at a time) only ever adds.
    /// Measured once per photo, the same build's median moved from 38 to 53 ms between two runs.
    static let timingRuns = 5

    /// The meter stage's and the alignment's CPU milliseconds for each photo searched afresh.
    private func afreshCPU(_ photos: [(name: String, image: RGBImage)], _ reader: MeterReader) -> [(stage: Double, alignment: Double)] {
        var least = [(stage: Double, alignment: Double)](repeating: (.infinity, .infinity), count: photos.count)
        for _ in 0..<Self.timingRuns {
            for (index, photo) in photos.enumerated() {
                let stage = CPUClock.timed { reader.inspect(photo.image, followingLastPhoto: false) }.ms
                let alignment = CPUClock.timed { Aligner.align(photo.image, to: reader.profile) }.ms
                least[index] = (min(least[index].stage, stage), min(least[index].alignment, alignment))
            }
        }
        return least
    }

    static func median(_ values: [Double]) -> String { values.isEmpty ? "-" : Cell.decimal(values.sorted()[values.count / 2], 1) }

    /// Each demo photo as a moved camera would take it, against its own untransformed reading.
    private func evaluateMovedPhotos(_ photos: [(name: String, image: RGBImage)], plain: [(value: Double?, ms: Double)], _ reader: MeterReader) {
        let loaded = reader.profile
        var same = 0, abstained = 0, different = 0, total = 0, readOnlyMoved = 0, followedMoved = 0
        let resolution = 1 / pow(10, Double(loaded.profile.decimals))
        var alignCPU: [Double] = [], readCPU: [Double] = []
        var byMove: [String: (same: Int, abstained: Int, different: Int)] = [:]
        for ((name, image), plain) in zip(photos, plain) {
            for move in CameraMove.standardSet {
                let moved = move.apply(to: image)
                let ((aligned, reading), readMs) = CPUClock.timed { reader.inspect(moved) }
                readCPU.append(readMs)
                if case .success(let alignment) = aligned, alignment.followedLastPhoto { followedMoved += 1 }
                alignCPU.append(CPUClock.timed { Aligner.align(moved, to: loaded) }.ms)
                total += 1
                var counts = byMove[move.description] ?? (0, 0, 0)
                switch (plain.value, reading.value) {
                case (_, nil):
                    abstained += 1
                    counts.abstained += 1
                // The same value to the profile's resolution (the last dial's continuous position
                // may differ by a hair between two resamplings of the same picture).
                case (let a?, let b?) where abs(a - b) <= resolution / 2:
                    same += 1
                    counts.same += 1
                case (nil, let b?):
                    // Read only once moved: not a different value, but checked against the name.
                    let truth = Double(name.dropLast(4))!
                    if abs(b - truth) <= 0.005 {
                        readOnlyMoved += 1
                    } else {
                        different += 1
                        counts.different += 1
                        output("  WRONG where the photo itself abstained: \(name) \(move): \(Cell.decimal(b, 6))\n")
                    }
                default:
                    different += 1
                    counts.different += 1
                    if case .success(let a) = aligned {
                        output(
                            "  (alignment: \(a.inliers) of \(a.correspondences), residual \(Cell.decimal(a.residualPixels, 2)) px, spread \(Cell.decimal(a.perspectiveSpread, 3)), similarity \(Cell.decimal(a.similarity, 2)))\n"
                        )
                    }
                    output(
                        "  DIFFERENT: \(name) \(move): \(reading.value.map { Cell.decimal($0, 6) } ?? "-") vs \(plain.value.map { Cell.decimal($0, 6) } ?? "unreadable")\n"
                    )
                }
                if reading.value == nil, verbose { output("  abstained: \(name) \(move): \(reading.unreadableReason ?? "")\n") }
                byMove[move.description] = counts
            }
        }
        for move in CameraMove.standardSet {
            let c = byMove[move.description] ?? (0, 0, 0)
            output("  \(move.description): \(c.same) same, \(c.abstained) abstained, \(c.different) different\n")
        }
        func share(_ n: Int) -> String { Cell.decimal(100 * Double(n) / Double(max(1, total)), 1) + "%" }
        output(
            "moved demo photos: \(total): \(share(same)) read as untransformed, \(share(abstained)) abstained, \(different) different, "
                + "\(readOnlyMoved) read right (within 5 L of the name) where the untransformed photo abstained (goal >= 95% as untransformed, 0 different)\n"
        )
        let median = Self.median
        guard !alignCPU.isEmpty else { return }
        let afresh = afreshCPU(photos, reader)
        output(
            "meter CPU per photo (median ms): 640x480 photos searched afresh (each the least of \(Self.timingRuns) runs): alignment \(median(afresh.map(\.alignment))), whole meter stage \(median(afresh.map(\.stage))) (goal <= 30); "
                + "moved photos (up to 896x672, each after another moved photo; \(followedMoved) of \(total) followed the last): alignment searched \(median(alignCPU)), whole stage \(median(readCPU))\n"
        )
    }
}

/// CPU time of the calling thread: what one photo costs, whatever else the machine does.
enum CPUClock {
    /// `work`'s result and the thread CPU milliseconds it took.
    static func timed<T>(_ work: () -> T) -> (result: T, ms: Double) {
        let start = threadSeconds()
        let result = work()
        return (result, (threadSeconds() - start) * 1000)
    }

    static func threadSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
