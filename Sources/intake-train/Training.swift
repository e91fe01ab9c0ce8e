// The parts of training that digits and dials share: options, randomness, the workers, Adam and
// the training loop.

import Dispatch
import Foundation
import IntakeMeter
import IntakeTraining

/// The settings of one training run; `digits` and `dials` each have their defaults.
struct TrainingOptions {
    var corpus: String?
    var out: String
    var epochs: Int
    var seed: UInt64 = 1
    var batchSize = 64
    var learningRate: Float = 0.002
    var threads = 2
    var inputWidth: Int, inputHeight: Int
    var layers: [DigitNetwork.Layer]
    /// Width (in classes) of the circular Gaussian the targets are smoothed with.
    var labelSigma = 1.0
    /// Digits: how often a training crop is shown in negative.
    var inversion: Float = 0.2
    /// Digits: the share of the training wheels that are rendered (`WheelRenderer`), not the corpus's.
    var renderedWheelShare = 0.15
    /// Dials: how many dials are rendered for each epoch (each epoch renders new ones).
    var dialsPerEpoch = 20_000

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

    /// The defaults of `kind`.
    init(kind: ReaderKind) {
        switch kind {
        case .digits:
            out = "etc/meters/digits.weights"
            epochs = 30
            (inputWidth, inputHeight) = (20, 32)
            // Three convolution + pool stages (32×20 → 16×10 → 8×5 → 4×2), a hidden dense layer,
            // the 100 tenths. 134k parameters; half the channels read about 0.3% fewer crops.
            layers = Self.parseLayers("c32,p,c64,p,c64,p,d128")
            // One class (a tenth) rather than half: the tenths in the labels are a human's estimate.
            labelSigma = 1.0
        case .dials:
            out = "etc/meters/dials.weights"
            epochs = DialTrainingDefaults.epochs
            (inputWidth, inputHeight) = (DialTrainingDefaults.size, DialTrainingDefaults.size)
            layers = Self.parseLayers(DialTrainingDefaults.layers)
            labelSigma = DialTrainingDefaults.sigma
            learningRate = DialTrainingDefaults.learningRate
            dialsPerEpoch = DialTrainingDefaults.dialsPerEpoch
        }
    }

    /// The corpus root: --corpus, $INTAKE_CORPUS, or ../shared/corpus.
    var corpusRoot: String { corpus ?? ProcessInfo.processInfo.environment["INTAKE_CORPUS"] ?? "../shared/corpus" }
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

// MARK: Training

/// The target distribution for a label at `position` classes (tenths; 87.4 for 8.74): a Gaussian
/// of `sigma` classes around it, wrapping round the wheel (9.9 is next to 0.0), so near misses
/// cost little and far ones much.
func smoothedTarget(position: Double, sigma: Double, into target: UnsafeMutablePointer<Float>) {
    let classes = DigitDecoding.classCount
    var row = [Double](repeating: 0, count: classes), sum = 0.0
    for k in 0..<classes {
        let distance = abs(Double(k) - position).truncatingRemainder(dividingBy: Double(classes))
        let d = min(distance, Double(classes) - distance)
        row[k] = exp(-d * d / (2 * sigma * sigma))
        sum += row[k]
    }
    for k in 0..<classes { target[k] = Float(row[k] / sum) }
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
    let target: UnsafeMutablePointer<Float>
    let gradients: UnsafeMutablePointer<Float>
    var loss = 0.0

    init(_ network: DigitNetwork) {
        input = .allocate(capacity: network.input.count)
        activations = .allocate(capacity: network.activationCount)
        scratch = (.allocate(capacity: network.largestActivation), .allocate(capacity: network.largestActivation))
        logitGradient = .allocate(capacity: network.outputCount)
        target = .allocate(capacity: network.outputCount)
        gradients = .allocate(capacity: network.parameterCount)
        gradients.initialize(repeating: 0, count: network.parameterCount)
    }

    /// Adds one sample's loss and gradients: forward on `input` (already prepared), cross-entropy
    /// against `target`, backward.
    func learn(network: DigitNetwork, parameters: UnsafePointer<Float>, transposed: UnsafePointer<Float>) {
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

/// What a training run learns from: the items of an epoch (indices of loaded crops, or simply
/// numbers for rendered ones), how one item becomes the network's input and its label, and what
/// to report after each epoch.
struct Curriculum {
    var items: [Int]
    /// Writes item's input (with augmentation drawn from `random`) and returns its label in
    /// classes (tenths: 87.4 for 8.74). Called from several threads at once: must share nothing.
    var prepare: (_ item: Int, _ input: UnsafeMutablePointer<Float>, _ random: inout SplitMix64) -> Double
    /// A line on the weights after an epoch (validation figures).
    var report: (_ parameters: [Float]) -> String
}

/// Trains from `initialParameters` over `curriculum`, reporting each epoch.
func train(_ network: DigitNetwork, _ curriculum: Curriculum, options: TrainingOptions) -> [Float] {
    var parameters = initialParameters(network, seed: options.seed)
    var transposed = [Float](repeating: 0, count: network.parameterCount)
    var adam = Adam(network)
    let workers = (0..<options.threads).map { _ in Worker(network) }
    let batchesPerEpoch = (curriculum.items.count + options.batchSize - 1) / options.batchSize
    let totalSteps = batchesPerEpoch * options.epochs, warmupSteps = max(1, batchesPerEpoch / 2)

    for epoch in 1...options.epochs {
        let epochStarted = seconds()
        // This epoch's order: Fisher–Yates with the epoch's own stream.
        var order = curriculum.items
        var shuffler = SplitMix64(seed: options.seed, stream: 2, item: UInt64(epoch))
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, shuffler.below(i + 1)) }
        var epochLoss = 0.0

        for batchStart in stride(from: 0, to: order.count, by: options.batchSize) {
            let batch = order[batchStart..<min(batchStart + options.batchSize, order.count)]
            network.transposeWeights(parameters, into: &transposed)
            parameters.withUnsafeBufferPointer { parameters in
                transposed.withUnsafeBufferPointer { transposed in
                    inParallel(workers.count) { part in
                        let worker = workers[part]
                        worker.gradients.update(repeating: 0, count: network.parameterCount)
                        worker.loss = 0
                        // Each thread takes every n-th sample of the batch; each sample's
                        // augmentation has its own random stream, so threads never matter.
                        for position in stride(from: batch.startIndex + part, to: batch.endIndex, by: workers.count) {
                            var random = SplitMix64(seed: options.seed, stream: 3, item: UInt64(epoch) << 32 | UInt64(position))
                            let label = curriculum.prepare(batch[position], worker.input, &random)
                            smoothedTarget(position: label, sigma: options.labelSigma, into: worker.target)
                            worker.learn(network: network, parameters: parameters.baseAddress!, transposed: transposed.baseAddress!)
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
        say(
            String(format: "epoch %2d  loss %.4f  ", epoch, epochLoss / Double(order.count))
                + curriculum.report(parameters) + String(format: "  (%.1f s)", trainSeconds))
    }
    return parameters
}

func describe(_ layers: [DigitNetwork.Layer]) -> String {
    layers.map { layer in
        switch layer {
        case .convolution(let outputs): "conv3×3 \(outputs)"
        case .maxPool: "pool"
        case .dense(let outputs, _): "dense \(outputs)"
        }
    }.joined(separator: " → ")
}
