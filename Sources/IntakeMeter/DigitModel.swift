public import IntakeCodecs

/// A trained tenths model: reads one counter-wheel crop (digits) or one dial crop (dials) as a
/// position 0.0…9.9 with a confidence.
///
/// A small convolutional network trained by `intake-train`: digits on the haverland digit crops
/// (Apache-2.0), dials on dials the trainer renders itself. It classifies the crop into 100 tenths
/// (0.0…9.9), trained against a circular Gaussian over neighbouring tenths; the value is the
/// circular mean of its softmax, the confidence the probability within a window of that value
/// (see `DigitDecoding`).
///
/// Immutable after loading: any number of threads may call `read` at once; each call brings its
/// own scratch memory.
public final class DigitModel: Sendable {
    package let network: DigitNetwork
    package let parameters: [Float]
    /// What the model reads, and so how its input is prepared.
    public let kind: ReaderKind

    /// Loads the weights written by `intake-train` (normally `etc/meters/digits.weights`, or
    /// `dials.weights` for `.dials`). Throws, saying why, when the file is missing, not a weights
    /// file, of the other kind, truncated or corrupt.
    public init(weightsAt path: String, kind: ReaderKind = .digits) throws(DigitModelError) {
        (network, parameters) = try DigitWeightsFile.read(path: path, kind: kind)
        self.kind = kind
        guard network.input.channels == Self.inputChannels(kind) else {
            throw DigitModelError("\(path): a \(kind) model takes \(Self.inputChannels(kind)) input channels, this one \(network.input.channels)")
        }
    }

    /// A model from parameters in memory (the trainer evaluates with this).
    package init(network: DigitNetwork, parameters: [Float], kind: ReaderKind = .digits) {
        precondition(parameters.count == network.parameterCount)
        precondition(network.input.channels == Self.inputChannels(kind))
        self.network = network
        self.parameters = parameters
        self.kind = kind
    }

    /// The channels the input of a model of `kind` has.
    package static func inputChannels(_ kind: ReaderKind) -> Int { kind == .digits ? 1 : DialPreprocessing.channels }

    /// The input size crops are resampled to, width × height.
    public var inputSize: (width: Int, height: Int) { (network.input.width, network.input.height) }

    /// Reads `crop`: one digit wheel, roughly centred, upright, any size (or one dial, for a
    /// dial model); the confidence is the probability within `window` of the value.
    public func read(_ crop: RGBImage, window: Double = 0.5) -> DigitReading {
        let input = network.input
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: input.count)
        defer { buffer.deallocate() }
        prepare(crop, into: buffer)
        return read(preprocessed: buffer, window: window)
    }

    /// `crop` as this model's input, as training prepares it too.
    package func prepare(_ crop: RGBImage, into buffer: UnsafeMutablePointer<Float>) {
        let input = network.input
        switch kind {
        case .digits: DigitPreprocessing.input(crop, width: input.width, height: input.height, into: buffer)
        case .dials: DialPreprocessing.input(crop, width: input.width, height: input.height, into: buffer)
        }
    }

    /// Reads an input already prepared by `prepare` (`DigitPreprocessing.input` or `DialPreprocessing.input`).
    package func read(preprocessed input: UnsafePointer<Float>, window: Double = 0.5) -> DigitReading {
        let probabilities = self.probabilities(preprocessed: input)
        return probabilities.withUnsafeBufferPointer { DigitDecoding.reading(from: $0, window: window) }
    }

    /// The 100 class probabilities (tenths 0.0…9.9) for an input already prepared by `prepare`.
    package func probabilities(preprocessed input: UnsafePointer<Float>) -> [Float] {
        let activations = UnsafeMutablePointer<Float>.allocate(capacity: network.activationCount)
        defer { activations.deallocate() }
        parameters.withUnsafeBufferPointer { weights in
            network.forward(input: input, parameters: weights.baseAddress!, activations: activations)
        }
        let logits = activations + network.activationOffsets[network.layers.count - 1]
        DigitNetwork.softmax(logits, count: network.outputCount)
        return Array(UnsafeBufferPointer(start: logits, count: network.outputCount))
    }
}
