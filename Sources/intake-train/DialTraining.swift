// Training the dial reader on rendered dials (DialRenderer), written to etc/meters/dials.weights.
// The needle crops of the corpus (no licence) are never trained on: they only measure, split by a
// hash of the path into a tuning half (which chose the renderer's styles and these settings) and
// a report half (only ever reported).
//
// With the defaults (24 epochs of 16,000 new dials, seed 1, two threads) it takes about 11 minutes
// on two idle cores and writes 212 KB. Within ±0.2, as the meter reader reads (the learned model
// checked by the geometry, close readings blended): tuning half 93.6%, report half 91.2%; the
// learned model alone 89.1% and 86.2%. 40 epochs instead of 24 gave the same.

import Foundation
import IntakeCodecs
import IntakeMeter
import IntakeTraining

/// The dial model's defaults, as `make train-dials` runs them.
enum DialTrainingDefaults {
    static let epochs = 24
    static let dialsPerEpoch = 16_000
    /// 40 pixels, not 32: at 32 a short needle's tip is a few pixels, too few for ±0.2 (7°).
    static let size = 40
    /// 40×40×2 → 20×20 → 10×10 → 5×5 → 2×2, a hidden layer, the 100 tenths.
    static let layers = "c16,p,c32,p,c64,p,c64,p,d128"
    static let sigma = 1.0
    static let learningRate: Float = 0.002
}

/// The needle crops, prepared once as the model's input, with the geometric reader's readings.
struct NeedleSet {
    var samples: [NeedleSample] = []
    var inputs: [Float] = []
    var geometric: [DialReading?] = []
    let inputCount: Int

    func indices(_ half: NeedleHalf) -> [Int] { samples.indices.filter { samples[$0].half == half } }
}

func loadNeedles(root: String, network: DigitNetwork, threads: Int) -> NeedleSet? {
    guard let folder = NeedleCorpus.folder(root), let samples = try? NeedleCorpus.samples(folder: folder),
        let codec = try? JPEGCodec()
    else { return nil }
    let crops = NeedleCorpus.decode(folder: folder, samples, jpeg: codec)
    var set = NeedleSet(inputCount: network.input.count)
    let input = UnsafeMutablePointer<Float>.allocate(capacity: network.input.count)
    defer { input.deallocate() }
    for (sample, crop) in zip(samples, crops) {
        guard let crop else { continue }
        DialPreprocessing.input(crop, width: network.input.width, height: network.input.height, into: input)
        set.samples.append(sample)
        set.inputs.append(contentsOf: UnsafeBufferPointer(start: input, count: network.input.count))
        set.geometric.append(DialReader.read(crop))
    }
    return set
}

/// The learned model's readings of `indices`, both cores.
func readNeedles(_ model: DigitModel, _ needles: NeedleSet, _ indices: [Int], threads: Int) -> [DigitReading] {
    let readings = UnsafeMutableBufferPointer<DigitReading>.allocate(capacity: indices.count)
    defer { readings.deallocate() }
    needles.inputs.withUnsafeBufferPointer { inputs in
        inParallel(threads) { part in
            var i = part
            while i < indices.count {
                let input = inputs.baseAddress! + indices[i] * needles.inputCount
                (readings.baseAddress! + i).initialize(to: DialModel(model: model).learned(preprocessed: input))
                i += threads
            }
        }
    }
    return Array(readings)
}

/// The scores of the learned model alone and combined with the geometry, on one half.
func scoreNeedles(_ model: DigitModel, _ needles: NeedleSet, _ half: NeedleHalf, threads: Int) -> (learned: DialScore, combined: DialScore) {
    let indices = needles.indices(half)
    let readings = readNeedles(model, needles, indices, threads: threads)
    var learned = DialScore(threshold: DialModel.confidenceThreshold), combined = learned
    for (index, reading) in zip(indices, readings) {
        let sample = needles.samples[index]
        learned.add(DialReading(value: reading.value, confidence: reading.confidence), label: sample.value, family: sample.family)
        combined.add(DialModel.combine(learned: reading, geometric: needles.geometric[index]), label: sample.value, family: sample.family)
    }
    return (learned, combined)
}

/// Prints the scores on both halves, the learned model alone and as the meter reader combines it.
func reportNeedles(_ model: DigitModel, _ needles: NeedleSet, threads: Int) {
    for half in NeedleHalf.allCases {
        let (learned, combined) = scoreNeedles(model, needles, half, threads: threads)
        say("\(half) half (\(half == .tuning ? "looked at, chose the renderer's styles and settings" : "only reported")), learned model alone:")
        learned.lines(indent: "    ").forEach(say)
        say("\(half) half, learned model checked by the geometry (what the meter reader uses):")
        combined.lines(indent: "    ").forEach(say)
    }
}

/// Writes `count` rendered dials as PPM files into `folder`, to look at.
func writePreviews(_ count: Int, folder: String, seed: UInt64) {
    for item in 0..<count {
        var random = SplitMix64(seed: seed, stream: 3, item: UInt64(item))
        let value = Double(random.below(100)) / 10
        let image = DialRenderer(value: value, random: &random).image(random: &random)
        var bytes = Array("P6\n\(image.width) \(image.height)\n255\n".utf8)
        bytes += UnsafeBufferPointer(start: image.storage.base, count: image.width * image.height * 3)
        _ = FileManager.default.createFile(atPath: folder + String(format: "/%.1f_%04d.ppm", value, item), contents: Data(bytes))
    }
}

/// The tuning half's readings, one line per crop (path, label, family, learned value and
/// confidence, geometric value and confidence, the learned model's 100 probabilities), to choose
/// how the two readers combine. Only the tuning half: the report half is never looked at crop by
/// crop.
func dumpTuningHalf(_ model: DigitModel, _ needles: NeedleSet, to path: String) {
    let reader = DialModel(model: model)
    var text = "path\tlabel\tfamily\tlearned\tlearned_confidence\tgeometric\tgeometric_confidence\tprobabilities\n"
    for index in needles.indices(.tuning) {
        let sample = needles.samples[index], geometric = needles.geometric[index]
        let probabilities = needles.inputs.withUnsafeBufferPointer {
            reader.learnedProbabilities(preprocessed: $0.baseAddress! + index * needles.inputCount)
        }
        let reading = DialModel.reading(probabilities)
        text +=
            "\(sample.path)\t\(sample.value)\t\(sample.family.rawValue)\t\(reading.value)\t\(reading.confidence)\t"
            + "\(geometric.map { "\($0.value)" } ?? "")\t\(geometric.map { "\($0.confidence)" } ?? "0")\t"
            + probabilities.map { String(format: "%.4f", $0) }.joined(separator: " ") + "\n"
    }
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
}

/// Measures existing dial weights on the needle crops, and writes the tuning half's readings to
/// `dump` when given.
func measureDials(weights: String, dump: String?, options: TrainingOptions) {
    let model: DigitModel
    do { model = try DigitModel(weightsAt: weights, kind: .dials) } catch { fail("\(error)") }
    guard let needles = loadNeedles(root: options.corpusRoot, network: model.network, threads: options.threads) else {
        fail("no needle crops at \(options.corpusRoot)")
    }
    reportNeedles(model, needles, threads: options.threads)
    if let dump { dumpTuningHalf(model, needles, to: dump) }
}

/// Trains the dial model on rendered dials and writes its weights, measuring it on the needle crops.
func trainDials(_ options: TrainingOptions) {
    let started = seconds()
    let network: DigitNetwork
    do {
        network = try DigitNetwork(
            inputWidth: options.inputWidth, inputHeight: options.inputHeight, inputChannels: DialPreprocessing.channels, layers: options.layers)
    } catch {
        fail("\(error)")
    }
    let needles = loadNeedles(root: options.corpusRoot, network: network, threads: options.threads)
    if let needles {
        say("needle crops (measured only, never trained on): \(needles.indices(.tuning).count) tuning, \(needles.indices(.report).count) report")
    } else {
        say("no needle crops at \(options.corpusRoot)/meters/needles: training without measuring")
    }
    say(
        "network: input \(options.inputWidth)×\(options.inputHeight)×2, \(describe(options.layers)), \(network.parameterCount) parameters; "
            + "\(options.dialsPerEpoch) new dials an epoch")

    let curriculum = Curriculum(
        items: Array(0..<options.dialsPerEpoch),
        prepare: { _, input, random in
            let value = Double(random.uniform(0...1)) * 10
            let image = DialRenderer(value: value, random: &random).image(random: &random)
            DialPreprocessing.input(image, width: options.inputWidth, height: options.inputHeight, into: input)
            return (value * 10).truncatingRemainder(dividingBy: 100)
        },
        report: { parameters in
            guard let needles else { return "" }
            let model = DigitModel(network: network, parameters: parameters, kind: .dials)
            let (learned, combined) = scoreNeedles(model, needles, .tuning, threads: options.threads)
            return String(
                format: "tuning half within ±0.2: learned %.1f%%, confident %.1f%% of %d", 100 * learned.all.share02,
                100 * combined.confident.share02, combined.confident.count)
        })
    let trained = train(network, curriculum, options: options)
    // The figures are those of the weights as shipped: rounded to Float16 as the file stores them.
    let model = DigitModel(network: network, parameters: DigitWeightsFile.rounded(trained), kind: .dials)
    if let needles { reportNeedles(model, needles, threads: options.threads) }
    do {
        try DigitWeightsFile.write(network, kind: .dials, parameters: trained, to: options.out)
    } catch {
        fail("\(error)")
    }
    let bytes = DigitWeightsFile.encode(network, kind: .dials, parameters: trained).count
    say(String(format: "wrote %@ (%d bytes) in %.0f s", options.out, bytes, seconds() - started))
}
