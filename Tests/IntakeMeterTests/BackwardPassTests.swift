import IntakeMeter
import IntakeTraining
import Testing

/// The trainer's backward pass against finite differences of the forward pass: every kind of
/// layer (convolution, pool, dense with and without ReLU), on two input channels.
@Suite struct BackwardPassTests {
    @Test func gradientsMatchFiniteDifferences() throws {
        let network = try DigitNetwork(
            inputWidth: 8, inputHeight: 8, inputChannels: 2,
            layers: [.convolution(outputs: 16), .maxPool, .dense(outputs: 12, relu: true), .dense(outputs: 100, relu: false)])
        var random = SplitMix64(seed: 7, stream: 0, item: 0)
        func uniform() -> Float { Float(Double(random.next() >> 11) / Double(1 << 53)) * 2 - 1 }
        let input = (0..<network.input.count).map { _ in uniform() }
        var parameters = (0..<network.parameterCount).map { _ in uniform() * 0.5 }
        // The loss is a fixed weighting of the logits, so its gradient with respect to them is that weighting.
        let weighting = (0..<network.outputCount).map { _ in uniform() }

        func loss(_ parameters: [Float]) -> Double {
            var activations = [Float](repeating: 0, count: network.activationCount)
            network.forward(input: input, parameters: parameters, activations: &activations)
            let logits = activations[network.activationOffsets[network.layers.count - 1]...]
            return zip(logits, weighting).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }

        var activations = [Float](repeating: 0, count: network.activationCount)
        network.forward(input: input, parameters: parameters, activations: &activations)
        var transposed = [Float](repeating: 0, count: network.parameterCount)
        network.transposeWeights(parameters, into: &transposed)
        var gradients = [Float](repeating: 0, count: network.parameterCount)
        var scratch = ([Float](repeating: 0, count: network.largestActivation), [Float](repeating: 0, count: network.largestActivation))
        scratch.0.withUnsafeMutableBufferPointer { first in
            scratch.1.withUnsafeMutableBufferPointer { second in
                network.backward(
                    input: input, parameters: parameters, transposed: transposed, activations: activations,
                    logitGradient: weighting, gradients: &gradients, scratch: (first.baseAddress!, second.baseAddress!))
            }
        }

        // Every layer's weights and biases, a few each.
        let step: Float = 1e-2
        var checked = 0
        for (index, offset) in network.weightOffsets.enumerated() where network.weightCounts[index] > 0 {
            for position in [offset, offset + 1, offset + network.weightCounts[index] - 1, offset + network.weightCounts[index]] {
                let saved = parameters[position]
                parameters[position] = saved + step
                let up = loss(parameters)
                parameters[position] = saved - step
                let down = loss(parameters)
                parameters[position] = saved
                let numeric = (up - down) / Double(2 * step)
                let analytic = Double(gradients[position])
                #expect(abs(numeric - analytic) <= 1e-2 + 0.05 * abs(numeric), "layer \(index), parameter \(position): \(analytic) vs \(numeric)")
                checked += 1
            }
        }
        #expect(checked == 12)
        #expect(gradients.filter { abs($0) > 0.01 }.count > 100, "the gradients are (nearly) all zero: the check proves nothing")
    }
}
