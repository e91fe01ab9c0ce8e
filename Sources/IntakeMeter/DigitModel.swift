public import IntakeCodecs

/// Reads one counter-wheel crop: the digit with tenths of a roll, and a confidence.
///
/// A small convolutional network trained by `intake-train` on the haverland digit crops
/// (Apache-2.0). It classifies the crop into 100 tenths (0.0…9.9), trained against a circular
/// Gaussian over neighbouring tenths; the value is the circular mean of its softmax, the
/// confidence the probability within half a digit of that value (see `DigitDecoding`).
///
/// Immutable after loading: any number of threads may call `read` at once; each call brings its
/// own scratch memory.
public final class DigitModel: Sendable {
    package let network: DigitNetwork
    package let parameters: [Float]

    /// Loads the weights written by `intake-train` (normally `etc/meters/digits.weights`).
    /// Throws, saying why, when the file is missing, not a weights file, truncated or corrupt.
    public init(weightsAt path: String) throws(DigitModelError) {
        (network, parameters) = try DigitWeightsFile.read(path: path)
    }

    /// A model from parameters in memory (the trainer evaluates with this).
    package init(network: DigitNetwork, parameters: [Float]) {
        precondition(parameters.count == network.parameterCount)
        self.network = network
        self.parameters = parameters
    }

    /// The input size crops are resampled to, width × height.
    public var inputSize: (width: Int, height: Int) { (network.input.width, network.input.height) }

    /// Reads `crop`: one digit wheel, roughly centred, upright, any size.
    public func read(_ crop: RGBImage) -> DigitReading {
        let input = network.input
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: input.count)
        defer { buffer.deallocate() }
        DigitPreprocessing.input(crop, width: input.width, height: input.height, into: buffer)
        return read(preprocessed: buffer)
    }

    /// Reads an input already prepared by `DigitPreprocessing.input`.
    package func read(preprocessed input: UnsafePointer<Float>) -> DigitReading {
        let activations = UnsafeMutablePointer<Float>.allocate(capacity: network.activationCount)
        defer { activations.deallocate() }
        parameters.withUnsafeBufferPointer { weights in
            network.forward(input: input, parameters: weights.baseAddress!, activations: activations)
        }
        let logits = activations + network.activationOffsets[network.layers.count - 1]
        DigitNetwork.softmax(logits, count: network.outputCount)
        return DigitDecoding.reading(from: UnsafeBufferPointer(start: logits, count: network.outputCount))
    }
}
