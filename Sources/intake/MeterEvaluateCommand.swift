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
    static let configuration = CommandConfiguration(commandName: "evaluate", abstract: "Accuracy of the digit model, the dial reader and whole readings.")
    @Option(help: "The shared corpus.") var corpus = "../shared/corpus"
    @Option(help: "Folder of the meter profiles, digits.weights and dials.weights.") var profiles = "etc/meters"

    func run() throws {
        guard FileManager.default.fileExists(atPath: corpus + "/meters") else {
            output("bench-meter: no corpus at \(corpus); skipping\n")
            return
        }
        let codec = try JPEGCodec()
        evaluateDigits(codec)
        evaluateDials(codec)
        evaluateDemoPhotos()
    }

    private func evaluateDigits(_ codec: JPEGCodec) {
        guard let folder = DigitCorpus.digitsFolder(corpus + "/meters/digits"), let samples = try? DigitCorpus.samples(folder: folder),
            let model = try? DigitModel(weightsAt: profiles + "/digits.weights")
        else { return output("digits: corpus or weights missing\n") }
        let validation = samples.filter { DigitCorpus.isValidation($0.path) }
        var within = [0.5: 0, 0.2: 0, 0.1: 0], read = 0
        for sample in validation {
            guard let bytes = FileManager.default.contents(atPath: folder + "/" + sample.path),
                let crop = try? DigitCorpus.decodeCrop(Array(bytes), jpeg: codec) else { continue }
            read += 1
            let distance = DigitReading.circularDistance(model.read(crop).value, sample.value)
            for limit in within.keys where distance <= limit + 1e-9 { within[limit, default: 0] += 1 }
        }
        func share(_ n: Int) -> String { Cell.decimal(100 * Double(n) / Double(max(1, read)), 2) + "%" }
        output("digits: \(read) validation crops: within half a step (0.5) \(share(within[0.5]!)), within 0.2 \(share(within[0.2]!)), within 0.1 \(share(within[0.1]!)) (goal >= 99%)\n")
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
                score.add(model.read(crop), label: sample.value, family: sample.family)
                geometric.add(DialReader.read(crop), label: sample.value, family: sample.family)
            }
            let role = half == .tuning ? "looked at while tuning" : "only reported, never tuned on"
            output("dials, \(half) half (\(role); decodable crops): goals >= 97% overall, >= 90% per family, >= 99.5% when confident\n")
            output(score.lines(indent: "  ").joined(separator: "\n") + "\n")
            output("  the geometric reader alone: within ±0.2 \(Cell.decimal(100 * geometric.all.share02, 1))%, "
                + "confident \(geometric.confident.count), \(Cell.decimal(100 * geometric.confident.share02, 1))% of them within ±0.2\n")
        }
    }

    private func evaluateDemoPhotos() {
        let folder = corpus + "/meters/demo-meter"
        let station = MeterStation(profilesFolder: profiles)
        guard let processor = try? ImageProcessor(options: ProcessingOptions()),
            let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        var right = 0, readable = 0
        let photos = names.filter { $0.hasPrefix("5") && $0.hasSuffix(".jpg") }.sorted()
        for name in photos {
            let truth = Double(name.dropLast(4))!
            guard let bytes = try? ImageFile.read(path: folder + "/" + name, maxBytes: 50 << 20, followSymlinks: false),
                case .success(let image) = processor.decodeUpright(bytes),
                let read = station.read(meter: "demo-meter", photo: image) else { continue }
            let value = read.reading.value
            if value != nil { readable += 1 }
            let ok = value.map { abs($0 - truth) <= 0.001 } ?? false
            if ok { right += 1 }
            output("  \(name)  read \(value.map { Cell.decimal($0, 5) } ?? "unreadable (\(read.reading.unreadableReason ?? ""))")  \(ok ? "ok" : "WRONG")\n")
        }
        output("demo photos: \(right) of \(photos.count) within 0.001 m3 of the file name (\(readable) readable; goal 12 of 12)\n")
    }
}
