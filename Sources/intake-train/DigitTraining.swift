// Training the counter-wheel digit reader on the haverland crops of the shared corpus
// (meters/digits, Apache-2.0), written to etc/meters/digits.weights (format: DigitWeightsFile).
//
// With the defaults it takes about 6 minutes on two cores and reads 99.66% of the validation crops
// within half a digit (99.52% within 0.2, 98.29% within 0.1).
//
// Deterministic: the validation split is a hash of each path (1 in 10, never trained on), and
// every random choice (initial weights, order, augmentation) derives from --seed, so the same
// command (same --threads) on the same corpus writes the same weights. The threads share each
// mini-batch and their gradients are added in a fixed order.

import Foundation
import IntakeCodecs
import IntakeMeter
import IntakeTraining
import IntakeCore

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
                guard let bytes = try? WholeFile.read(folder + "/" + all[index].path) else {
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
func evaluateDigits(_ model: DigitModel, _ dataset: Dataset, _ indices: [Int], threads: Int) -> Figures {
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

/// Trains the digit model on the corpus's digit crops and writes its weights.
func trainDigits(_ options: TrainingOptions) {
    let corpusRoot = options.corpusRoot
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

    let curriculum = Curriculum(
        items: training,
        prepare: { index, input, random in
            dataset.pixels.withUnsafeBufferPointer { pixels in
                augment(
                    pixels.baseAddress! + index * dataset.pixelsPerSample, width: options.inputWidth, height: options.inputHeight,
                    inversion: options.inversion, into: input, random: &random)
            }
            return Double(dataset.samples[index].tenths)
        },
        report: { parameters in
            let figures = evaluateDigits(DigitModel(network: network, parameters: parameters), dataset, validation, threads: options.threads)
            return "validation within 0.5 \(figures.percent(figures.within05))  0.2 \(figures.percent(figures.within02))  "
                + "0.1 \(figures.percent(figures.within01))"
        })
    let trained = train(network, curriculum, options: options)
    // The figures are those of the weights as shipped: rounded to Float16 as the file stores them.
    let parameters = DigitWeightsFile.rounded(trained)
    let final = evaluateDigits(DigitModel(network: network, parameters: parameters), dataset, validation, threads: options.threads)
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
        try DigitWeightsFile.write(network, kind: .digits, parameters: trained, to: options.out)
    } catch {
        fail("\(error)")
    }
    say(
        String(format: "wrote %@ (%d bytes) in %.0f s", options.out, DigitWeightsFile.encode(network, parameters: trained).count, seconds() - started)
    )
}
