// intake-train: trains the counter-wheel digit reader on the haverland crops of the shared
// corpus (meters/digits, Apache-2.0) and writes etc/meters/digits.weights (format: DigitWeightsFile).
//
//   intake-train [--corpus PATH] [--out etc/meters/digits.weights] [--epochs N] [--seed S]
//
// Run from the package root, it finds ../shared/corpus (or $INTAKE_CORPUS). With the defaults it
// takes about 6 minutes on two cores and reads 99.66% of the validation crops within half a digit
// (99.52% within 0.2, 98.29% within 0.1).
//
// Deterministic: the validation split is a hash of each path (1 in 10, never trained on), and
// every random choice (initial weights, order, augmentation) derives from --seed, so the same
// command (same --threads) on the same corpus writes the same weights. The threads share each
// mini-batch and their gradients are added in a fixed order.

import Dispatch
import Foundation
import IntakeCodecs
import IntakeMeter

// MARK: Options

struct Options {
    var corpus: String?
    var out = "etc/meters/digits.weights"
    var epochs = 30
    var seed: UInt64 = 1
    var batchSize = 64
    var learningRate: Float = 0.002
    var threads = 2
    var inputWidth = 20, inputHeight = 32
    /// The network: three convolution + pool stages (32×20 → 16×10 → 8×5 → 4×2), a hidden dense
    /// layer, the 100 tenths. 134k parameters; half the channels read about 0.3% fewer crops.
    var layers: [DigitNetwork.Layer] = [
        .convolution(outputs: 32), .maxPool, .convolution(outputs: 64), .maxPool, .convolution(outputs: 64), .maxPool,
        .dense(outputs: 128, relu: true), .dense(outputs: DigitDecoding.classCount, relu: false),
    ]
    /// Width (in classes) of the circular Gaussian the targets are smoothed with. One class (a
    /// tenth) rather than half: the tenths in the labels are themselves a human's estimate.
    var labelSigma = 1.0
    /// How often a training crop is shown in negative (light digits on dark and the reverse), so
    /// that an LCD or wheel style seen in only one polarity is still read in the other.
    var inversion: Float = 0.2

    static let usage = """
        usage: intake-train [--corpus PATH] [--out etc/meters/digits.weights] [--epochs N] [--seed S]
                            [--batch N] [--lr RATE] [--threads N] [--sigma CLASSES] [--invert P]
                            [--layers c32,p,c64,p,c64,p,d128]
        PATH is the corpus root (../shared/corpus, or $INTAKE_CORPUS, by default) or its meters/digits folder.
        """

    /// `c16,p,c32,d64`: 3×3 convolutions (channels), 2×2 pools, dense layers (units); the
    /// 100-class output layer is added.
    static func parseLayers(_ text: String) -> [DigitNetwork.Layer] {
        var layers: [DigitNetwork.Layer] = text.split(separator: ",").map { item in
            let size = Int(item.dropFirst())
            switch (item.first, size) {
            case ("c", let size?): return .convolution(outputs: size)
            case ("p", nil): return .maxPool
            case ("d", let size?): return .dense(outputs: size, relu: true)
            default: fail("--layers: cannot read \(item) (c<channels>, p, d<units>)")
            }
        }
        layers.append(.dense(outputs: DigitDecoding.classCount, relu: false))
        return layers
    }

    init(arguments: [String]) {
        var rest = arguments[...]
        func value(_ flag: String) -> String {
            guard let next = rest.popFirst() else { fail("\(flag) needs a value\n\(Self.usage)") }
            return next
        }
        func number<T: LosslessStringConvertible>(_ flag: String, _: T.Type) -> T {
            let text = value(flag)
            guard let parsed = T(text) else { fail("\(flag): not a number: \(text)") }
            return parsed
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--corpus": corpus = value(flag)
            case "--out": out = value(flag)
            case "--epochs": epochs = number(flag, Int.self)
            case "--seed": seed = number(flag, UInt64.self)
            case "--batch": batchSize = number(flag, Int.self)
            case "--lr": learningRate = number(flag, Float.self)
            case "--threads": threads = number(flag, Int.self)
            case "--sigma": labelSigma = number(flag, Double.self)
            case "--invert": inversion = number(flag, Float.self)
            case "--layers": layers = Self.parseLayers(value(flag))
            case "-h", "--help": print(Self.usage); exit(0)
            default: fail("unknown argument \(flag)\n\(Self.usage)")
            }
        }
        guard epochs >= 1, batchSize >= 2, threads >= 1, learningRate > 0, labelSigma > 0 else {
            fail("--epochs, --batch, --threads, --lr and --sigma must be positive")
        }
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("intake-train: " + message + "\n").utf8))
    exit(1)
}

/// Prints at once (stdout may be a pipe to a log), so progress shows while training runs.
func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

/// Runs `body(0)`…`body(threads - 1)` at once and waits for all. Not `@Sendable`: every caller
/// gives each part its own slice of the buffers (its own samples, its own worker), never shared writes.
func inParallel(_ threads: Int, _ body: (Int) -> Void) {
    struct Unchecked<T>: @unchecked Sendable { let value: T }
    withoutActuallyEscaping(body) { body in
        let part = Unchecked(value: body)
        DispatchQueue.concurrentPerform(iterations: threads) { part.value($0) }
    }
}

func seconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

// MARK: Randomness

/// SplitMix64: small, fast, and the same on every machine, which reproducibility needs.
struct SplitMix64 {
    var state: UInt64

    init(_ seed: UInt64) { state = seed }

    /// A generator for one purpose (`stream`) and one item, independent of thread scheduling.
    init(seed: UInt64, stream: UInt64, item: UInt64) {
        var mixer = SplitMix64(seed ^ (stream &* 0x9E37_79B9_7F4A_7C15))
        state = mixer.next() ^ (item &* 0xD1B5_4A32_D192_ED03)
        _ = next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `range`.
    mutating func uniform(_ range: ClosedRange<Float>) -> Float {
        let unit = Float(next() >> 40) / Float(1 << 24)
        return range.lowerBound + (range.upperBound - range.lowerBound) * unit
    }

    /// Standard normal (Box–Muller).
    mutating func normal() -> Float {
        let u = max(Float(next() >> 40) / Float(1 << 24), 1e-7), v = Float(next() >> 40) / Float(1 << 24)
        return (-2 * log(u)).squareRoot() * cos(2 * Float.pi * v)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

// MARK: Data

/// Every crop decoded once and resampled to the input size, as luma in 0...1 (not yet normalised,
/// so that augmentation can work on the pixels before the normalisation inference applies).
struct Dataset {
    var samples: [DigitSample] = []
    var pixels: [Float] = []
    let pixelsPerSample: Int
}

func loadDataset(folder: String, samples all: [DigitSample], width: Int, height: Int, threads: Int) -> (Dataset, failures: [String]) {
    let perSample = width * height
    let results = UnsafeMutableBufferPointer<Float>.allocate(capacity: all.count * perSample)
    defer { results.deallocate() }
    let ok = UnsafeMutableBufferPointer<Bool>.allocate(capacity: all.count)
    defer { ok.deallocate() }
    let errors = UnsafeMutableBufferPointer<String?>.allocate(capacity: all.count)
    errors.initialize(repeating: nil)
    defer {
        errors.deinitialize()
        errors.deallocate()
    }
    inParallel(threads) { part in
        guard let codec = try? JPEGCodec() else { fatalError("TurboJPEG could not be initialised") }
        var index = part
        while index < all.count {
            do throws(CodecError) {
                guard let bytes = FileBytes.read(folder + "/" + all[index].path) else {
                    throw CodecError("unreadable file")
                }
                let crop = try DigitCorpus.decodeCrop(bytes, jpeg: codec)
                DigitPreprocessing.grayscale(crop, width: width, height: height, into: results.baseAddress! + index * perSample)
                ok[index] = true
            } catch {
                ok[index] = false
                errors[index] = "\(all[index].path): \(error.reason)"
            }
            index += threads
        }
    }
    var dataset = Dataset(pixelsPerSample: perSample)
    var failures: [String] = []
    for index in all.indices {
        if ok[index] {
            dataset.samples.append(all[index])
            dataset.pixels.append(contentsOf: results[(index * perSample)..<((index + 1) * perSample)])
        } else {
            failures.append(errors[index] ?? all[index].path)
        }
    }
    return (dataset, failures)
}

/// A random small change of view and light, applied to a sample's luma before normalisation:
/// what another camera, lens, exposure or crop box would give. Vertical shifts stay within a
/// pixel, because a wheel's vertical position is exactly what the tenths measure.
func augment(
    _ source: UnsafePointer<Float>, width: Int, height: Int, inversion: Float, into output: UnsafeMutablePointer<Float>,
    random: inout SplitMix64
) {
    let scaleX = random.uniform(0.9...1.1), scaleY = random.uniform(0.95...1.05)
    let angle = random.uniform(-0.05...0.05)  // about ±3°
    let shiftX = random.uniform(-1.5...1.5), shiftY = random.uniform(-1...1)
    let gamma = exp(random.uniform(-0.4...0.4))
    let contrast = random.uniform(0.6...1.3), brightness = random.uniform(-0.15...0.15)
    let noise = random.uniform(0...0.03)
    let inverted = random.uniform(0...1) < inversion
    let cosine = cos(angle), sine = sin(angle)
    let centreX = Float(width - 1) / 2, centreY = Float(height - 1) / 2
    for y in 0..<height {
        for x in 0..<width {
            // Where this output pixel comes from in the source (inverse of the transform).
            let u = Float(x) - centreX - shiftX, v = Float(y) - centreY - shiftY
            let sx = (cosine * u + sine * v) / scaleX + centreX
            let sy = (-sine * u + cosine * v) / scaleY + centreY
            let cx = min(max(sx, 0), Float(width - 1)), cy = min(max(sy, 0), Float(height - 1))
            let x0 = min(Int(cx), width - 2), y0 = min(Int(cy), height - 2)
            let fx = cx - Float(x0), fy = cy - Float(y0)
            let p = source + y0 * width + x0
            let top = p[0] + (p[1] - p[0]) * fx, bottom = p[width] + (p[width + 1] - p[width]) * fx
            var value = top + (bottom - top) * fy
            value = pow(max(value, 0), gamma)
            value = (value - 0.5) * contrast + 0.5 + brightness + noise * random.normal()
            value = min(max(value, 0), 1)
            output[y * width + x] = inverted ? 1 - value : value
        }
    }
    DigitPreprocessing.normalise(output, count: width * height)
}

// MARK: Training

/// The target distribution for each class: a Gaussian of `sigma` classes around it, wrapping
/// round the wheel (9.9 is next to 0.0), so near misses cost little and far ones much.
func smoothedTargets(sigma: Double) -> [Float] {
    let classes = DigitDecoding.classCount
    var targets = [Float](repeating: 0, count: classes * classes)
    for label in 0..<classes {
        var row = [Double](repeating: 0, count: classes), sum = 0.0
        for k in 0..<classes {
            let d = Double(min(abs(k - label), classes - abs(k - label)))
            row[k] = exp(-d * d / (2 * sigma * sigma))
            sum += row[k]
        }
        for k in 0..<classes { targets[label * classes + k] = Float(row[k] / sum) }
    }
    return targets
}

/// He-normal weights (ReLU layers), zero biases; the logits layer starts smaller.
func initialParameters(_ network: DigitNetwork, seed: UInt64) -> [Float] {
    var parameters = [Float](repeating: 0, count: network.parameterCount)
    var random = SplitMix64(seed: seed, stream: 1, item: 0)
    for (index, layer) in network.layers.enumerated() {
        let count = network.weightCounts[index]
        guard count > 0 else { continue }
        let fanIn: Int
        var gain: Float = 2
        switch layer {
        case .convolution: fanIn = 9 * network.shapes[index].channels
        case .maxPool: continue
        case .dense(_, let relu): fanIn = network.shapes[index].count; if !relu { gain = 1 }
        }
        let deviation = (gain / Float(fanIn)).squareRoot()
        for i in 0..<count { parameters[network.weightOffsets[index] + i] = deviation * random.normal() }
    }
    return parameters
}

/// One worker's buffers; each thread owns one, so the forward and backward passes share nothing.
final class Worker: @unchecked Sendable {
    // Unchecked: each worker is used by exactly one thread of an `inParallel` at a time.
    let input: UnsafeMutablePointer<Float>
    let activations: UnsafeMutablePointer<Float>
    let scratch: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
    let logitGradient: UnsafeMutablePointer<Float>
    let gradients: UnsafeMutablePointer<Float>
    var loss = 0.0

    init(_ network: DigitNetwork) {
        input = .allocate(capacity: network.input.count)
        activations = .allocate(capacity: network.activationCount)
        scratch = (.allocate(capacity: network.largestActivation), .allocate(capacity: network.largestActivation))
        logitGradient = .allocate(capacity: network.outputCount)
        gradients = .allocate(capacity: network.parameterCount)
        gradients.initialize(repeating: 0, count: network.parameterCount)
    }

    /// Adds one sample's loss and gradients: augment, forward, cross-entropy against `target`, backward.
    func learn(
        _ pixels: UnsafePointer<Float>, target: UnsafePointer<Float>, inversion: Float, network: DigitNetwork, parameters: UnsafePointer<Float>,
        transposed: UnsafePointer<Float>, random: inout SplitMix64
    ) {
        augment(pixels, width: network.input.width, height: network.input.height, inversion: inversion, into: input, random: &random)
        network.forward(input: input, parameters: parameters, activations: activations)
        let logits = activations + network.activationOffsets[network.layers.count - 1]
        DigitNetwork.softmax(logits, count: network.outputCount)
        // Cross-entropy against the smoothed target: its gradient on the logits is p − t.
        for k in 0..<network.outputCount {
            loss -= Double(target[k]) * log(Double(max(logits[k], 1e-12)))
            logitGradient[k] = logits[k] - target[k]
        }
        network.backward(
            input: input, parameters: parameters, transposed: transposed, activations: activations,
            logitGradient: logitGradient, gradients: gradients, scratch: scratch)
    }
}

/// Adam with decoupled weight decay (AdamW) on the weights, none on the biases.
struct Adam {
    var firstMoment: [Float], secondMoment: [Float]
    let decays: [Bool]
    let beta1: Float = 0.9, beta2: Float = 0.999, weightDecay: Float = 1e-4
    var steps = 0

    init(_ network: DigitNetwork) {
        firstMoment = [Float](repeating: 0, count: network.parameterCount)
        secondMoment = firstMoment
        var decays = [Bool](repeating: false, count: network.parameterCount)
        for (index, count) in network.weightCounts.enumerated() {
            for i in 0..<count { decays[network.weightOffsets[index] + i] = true }
        }
        self.decays = decays
    }

    /// One step on `parameters` along the mean of the workers' summed gradients, added in a fixed
    /// order so that the result does not depend on which thread finished first.
    mutating func step(_ parameters: inout [Float], workers: [Worker], samples: Int, rate: Float) {
        steps += 1
        let correction1 = 1 - pow(beta1, Float(steps)), correction2 = 1 - pow(beta2, Float(steps))
        let scale = 1 / Float(samples)
        let (beta1, beta2, weightDecay) = (self.beta1, self.beta2, self.weightDecay)
        let gradients = workers.map(\.gradients)
        parameters.withUnsafeMutableBufferPointer { parameters in
            firstMoment.withUnsafeMutableBufferPointer { m in
                secondMoment.withUnsafeMutableBufferPointer { v in
                    decays.withUnsafeBufferPointer { decays in
                        for i in 0..<parameters.count {
                            var g: Float = 0
                            for worker in gradients { g += worker[i] }
                            g *= scale
                            m[i] = beta1 * m[i] + (1 - beta1) * g
                            v[i] = beta2 * v[i] + (1 - beta2) * g * g
                            let update = (m[i] / correction1) / ((v[i] / correction2).squareRoot() + 1e-8)
                            parameters[i] -= rate * (update + (decays[i] ? weightDecay * parameters[i] : 0))
                        }
                    }
                }
            }
        }
    }
}

/// Trains from `initialParameters` over `training`, reporting each epoch on `validation`.
func train(_ network: DigitNetwork, _ dataset: Dataset, training: [Int], validation: [Int], options: Options) -> [Float] {
    let targets = smoothedTargets(sigma: options.labelSigma)
    var parameters = initialParameters(network, seed: options.seed)
    var transposed = [Float](repeating: 0, count: network.parameterCount)
    var adam = Adam(network)
    let workers = (0..<options.threads).map { _ in Worker(network) }
    let batchesPerEpoch = (training.count + options.batchSize - 1) / options.batchSize
    let totalSteps = batchesPerEpoch * options.epochs, warmupSteps = max(1, batchesPerEpoch / 2)

    for epoch in 1...options.epochs {
        let epochStarted = seconds()
        // This epoch's order: Fisher–Yates with the epoch's own stream.
        var order = training
        var shuffler = SplitMix64(seed: options.seed, stream: 2, item: UInt64(epoch))
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, shuffler.below(i + 1)) }
        var epochLoss = 0.0

        for batchStart in stride(from: 0, to: order.count, by: options.batchSize) {
            let batch = order[batchStart..<min(batchStart + options.batchSize, order.count)]
            network.transposeWeights(parameters, into: &transposed)
            parameters.withUnsafeBufferPointer { parameters in
                transposed.withUnsafeBufferPointer { transposed in
                    dataset.pixels.withUnsafeBufferPointer { pixels in
                        targets.withUnsafeBufferPointer { targets in
                            inParallel(workers.count) { part in
                                let worker = workers[part]
                                worker.gradients.update(repeating: 0, count: network.parameterCount)
                                worker.loss = 0
                                // Each thread takes every n-th sample of the batch; each sample's
                                // augmentation has its own random stream, so threads never matter.
                                for position in stride(from: batch.startIndex + part, to: batch.endIndex, by: workers.count) {
                                    let index = batch[position]
                                    var random = SplitMix64(seed: options.seed, stream: 3, item: UInt64(epoch) << 32 | UInt64(position))
                                    worker.learn(
                                        pixels.baseAddress! + index * dataset.pixelsPerSample,
                                        target: targets.baseAddress! + dataset.samples[index].tenths * DigitDecoding.classCount,
                                        inversion: options.inversion,
                                        network: network, parameters: parameters.baseAddress!, transposed: transposed.baseAddress!,
                                        random: &random)
                                }
                            }
                        }
                    }
                }
            }
            // A cosine learning rate after half an epoch of warm-up.
            let step = adam.steps + 1
            let warmup = min(1, Float(step) / Float(warmupSteps))
            let rate = options.learningRate * warmup * 0.5 * (1 + cos(Float.pi * Float(step) / Float(totalSteps))) + 1e-6
            adam.step(&parameters, workers: workers, samples: batch.count, rate: rate)
            for worker in workers { epochLoss += worker.loss }
        }
        let trainSeconds = seconds() - epochStarted
        let figures = evaluate(DigitModel(network: network, parameters: parameters), dataset, validation, threads: options.threads)
        say(
            String(
                format: "epoch %2d  loss %.4f  validation within 0.5 %@  0.2 %@  0.1 %@  (%.1f s)", epoch,
                epochLoss / Double(training.count), figures.percent(figures.within05), figures.percent(figures.within02),
                figures.percent(figures.within01), trainSeconds))
    }
    return parameters
}

struct Figures {
    var within05 = 0, within02 = 0, within01 = 0, exactTenth = 0, count = 0
    var confidenceSum = 0.0
    var worst: [(path: String, label: Double, reading: DigitReading)] = []
    var outcomes: [(distance: Double, confidence: Double)] = []

    /// At a confidence cut-off: the share of crops kept, and the share of those within 0.5.
    func kept(atConfidence threshold: Double) -> (kept: Double, right: Double) {
        let kept = outcomes.filter { $0.confidence >= threshold }
        let right = kept.filter { $0.distance <= 0.5 + 1e-9 }.count
        return (Double(kept.count) / Double(max(outcomes.count, 1)), Double(right) / Double(max(kept.count, 1)))
    }

    func percent(_ n: Int) -> String { String(format: "%.2f%%", 100 * Double(n) / Double(max(count, 1))) }
}

/// The validation figures of `model` on `indices` of `dataset`, both cores.
func evaluate(_ model: DigitModel, _ dataset: Dataset, _ indices: [Int], threads: Int) -> Figures {
    let network = model.network
    let readings = UnsafeMutableBufferPointer<DigitReading>.allocate(capacity: indices.count)
    defer { readings.deallocate() }
    dataset.pixels.withUnsafeBufferPointer { pixels in
        inParallel(threads) { part in
            let input = UnsafeMutablePointer<Float>.allocate(capacity: network.input.count)
            defer { input.deallocate() }
            var i = part
            while i < indices.count {
                input.update(from: pixels.baseAddress! + indices[i] * dataset.pixelsPerSample, count: network.input.count)
                DigitPreprocessing.normalise(input, count: network.input.count)
                (readings.baseAddress! + i).initialize(to: model.read(preprocessed: input))
                i += threads
            }
        }
    }
    var figures = Figures()
    for (i, index) in indices.enumerated() {
        let label = dataset.samples[index].value, reading = readings[i]
        let distance = DigitReading.circularDistance(reading.value, label)
        figures.count += 1
        if distance <= 0.5 + 1e-9 { figures.within05 += 1 } else { figures.worst.append((dataset.samples[index].path, label, reading)) }
        if distance <= 0.2 + 1e-9 { figures.within02 += 1 }
        if distance <= 0.1 + 1e-9 { figures.within01 += 1 }
        if Int((reading.value * 10).rounded()) % 100 == dataset.samples[index].tenths { figures.exactTenth += 1 }
        figures.confidenceSum += reading.confidence
        figures.outcomes.append((distance, reading.confidence))
    }
    return figures
}

// MARK: Main

func describe(_ layers: [DigitNetwork.Layer]) -> String {
    layers.map { layer in
        switch layer {
        case .convolution(let outputs): "conv3×3 \(outputs)"
        case .maxPool: "pool"
        case .dense(let outputs, _): "dense \(outputs)"
        }
    }.joined(separator: " → ")
}

let options = Options(arguments: Array(CommandLine.arguments.dropFirst()))
let corpusRoot = options.corpus ?? ProcessInfo.processInfo.environment["INTAKE_CORPUS"] ?? "../shared/corpus"
guard let folder = DigitCorpus.digitsFolder(corpusRoot) else {
    fail("no labels.csv in \(corpusRoot) or \(corpusRoot)/meters/digits (use --corpus PATH)")
}
let started = seconds()
let network: DigitNetwork
do {
    network = try DigitNetwork(inputWidth: options.inputWidth, inputHeight: options.inputHeight, layers: options.layers)
} catch {
    fail("\(error)")
}

let labelled: [DigitSample]
do { labelled = try DigitCorpus.samples(folder: folder) } catch { fail("\(error)") }
let (dataset, failures) = loadDataset(
    folder: folder, samples: labelled, width: options.inputWidth, height: options.inputHeight, threads: options.threads)
for failure in failures.prefix(10) { say("skipped \(failure)") }
let validation = dataset.samples.indices.filter { DigitCorpus.isValidation(dataset.samples[$0].path) }
let training = dataset.samples.indices.filter { !DigitCorpus.isValidation(dataset.samples[$0].path) }
say(
    "corpus \(folder): \(labelled.count) labelled, \(failures.count) undecodable; \(training.count) training, \(validation.count) validation; "
        + String(format: "loaded in %.1f s", seconds() - started))
say("network: input \(options.inputWidth)×\(options.inputHeight), \(describe(options.layers)), \(network.parameterCount) parameters")

let trained = train(network, dataset, training: training, validation: validation, options: options)
// The figures are those of the weights as shipped: rounded to Float16 as the file stores them.
let parameters = DigitWeightsFile.rounded(trained)
let final = evaluate(DigitModel(network: network, parameters: parameters), dataset, validation, threads: options.threads)
say("validation (\(final.count) crops, never trained on), with the weights as written:")
say("  within 0.5 (half a digit): \(final.percent(final.within05))")
say("  within 0.2:                \(final.percent(final.within02))")
say("  within 0.1:                \(final.percent(final.within01))")
say("  tenth exact:               \(final.percent(final.exactTenth))")
say(String(format: "  mean confidence:           %.3f", final.confidenceSum / Double(max(final.count, 1))))
for threshold in [0.5, 0.7, 0.9] {
    let (kept, right) = final.kept(atConfidence: threshold)
    say(String(format: "  confidence ≥ %.1f: %.2f%% of crops, %.2f%% of them within 0.5", threshold, 100 * kept, 100 * right))
}
for miss in final.worst.prefix(30) {
    say(String(format: "  miss %@: label %.1f read %.2f (confidence %.2f)", miss.path, miss.label, miss.reading.value, miss.reading.confidence))
}
do {
    try DigitWeightsFile.write(network, parameters: trained, to: options.out)
} catch {
    fail("\(error)")
}
say(String(format: "wrote %@ (%d bytes) in %.0f s", options.out, DigitWeightsFile.encode(network, parameters: trained).count, seconds() - started))
