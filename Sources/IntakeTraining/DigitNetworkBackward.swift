import IntakeMeter

/// The backward pass of the readers' network: only training needs it, so it lives here and not in
/// the library the daemon links. It uses the forward pass's SIMD kernels (`axpy`, `dot`, blocks).
extension DigitNetwork {
    // MARK: Backward

    /// Adds the gradient of the loss with respect to every parameter into `gradients`, given the
    /// `activations` of a `forward` on `input` and `logitGradient`, the loss's gradient with
    /// respect to the logits. `transposed` holds `transposeWeights` of the same parameters;
    /// `scratch` two buffers of `largestActivation` floats each.
    package func backward(
        input: UnsafePointer<Float>, parameters: UnsafePointer<Float>, transposed: UnsafePointer<Float>,
        activations: UnsafePointer<Float>, logitGradient: UnsafePointer<Float>,
        gradients: UnsafeMutablePointer<Float>, scratch: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
    ) {
        var upstream = scratch.0, downstream = scratch.1
        upstream.update(from: logitGradient, count: outputCount)
        for index in layers.indices.reversed() {
            let from = shapes[index], to = shapes[index + 1]
            let layerInput = index == 0 ? input : activations + activationOffsets[index - 1]
            let layerOutput = activations + activationOffsets[index]
            let weights = parameters + weightOffsets[index]
            let weightGradient = gradients + weightOffsets[index], biasGradient = weightGradient + weightCounts[index]
            let needsInputGradient = index > 0
            switch layers[index] {
            case .convolution:
                // Through the ReLU: only outputs that were positive pass gradient.
                for i in 0..<to.count where layerOutput[i] <= 0 { upstream[i] = 0 }
                Self.convolutionBackward(
                    layerInput, from, upstream, to.channels, weightGradient, biasGradient,
                    needsInputGradient ? (transposed + weightOffsets[index], downstream) : nil)
            case .maxPool:
                Self.maxPoolBackward(layerInput, from, layerOutput, upstream, downstream)
            case .dense(let outputs, let relu):
                if relu { for i in 0..<outputs where layerOutput[i] <= 0 { upstream[i] = 0 } }
                Self.denseBackward(
                    layerInput, from.count, weights, upstream, outputs, weightGradient, biasGradient,
                    needsInputGradient ? downstream : nil)
            }
            swap(&upstream, &downstream)
        }
    }

    /// The convolution weights rearranged input channel innermost ([tap][output][input]), which
    /// the backward pass needs to spread gradient to the inputs with contiguous loops.
    package func transposeWeights(_ parameters: UnsafePointer<Float>, into transposed: UnsafeMutablePointer<Float>) {
        for (index, layer) in layers.enumerated() {
            guard case .convolution(let outputs) = layer else { continue }
            let inputs = shapes[index].channels
            let source = parameters + weightOffsets[index], target = transposed + weightOffsets[index]
            for tap in 0..<9 {
                for i in 0..<inputs {
                    for o in 0..<outputs {
                        target[(tap * outputs + o) * inputs + i] = source[(tap * inputs + i) * outputs + o]
                    }
                }
            }
        }
    }

    fileprivate static func convolutionBackward(
        _ input: UnsafePointer<Float>, _ shape: Shape, _ gradient: UnsafePointer<Float>, _ outputs: Int,
        _ weightGradient: UnsafeMutablePointer<Float>, _ biasGradient: UnsafeMutablePointer<Float>,
        _ inputGradient: (transposed: UnsafePointer<Float>, into: UnsafeMutablePointer<Float>)?
    ) {
        let pixels = shape.height * shape.width
        for p in 0..<pixels { axpy(outputs, 1, gradient + p * outputs, biasGradient) }

        convolutionWeightGradient(input, shape, gradient, outputs, weightGradient)
        if let (transposed, into) = inputGradient {
            convolutionInputGradient(shape, gradient, outputs, transposed, into)
        }
    }

    /// For each tap and input channel, a block of output channels' weight gradient at a time: the
    /// sum over pixels of input × output gradient, kept in registers. Unlike the other kernels it
    /// does not skip zero inputs: along this loop the branch mispredicts more than it saves.
    fileprivate static func convolutionWeightGradient(
        _ input: UnsafePointer<Float>, _ shape: Shape, _ gradient: UnsafePointer<Float>, _ outputs: Int,
        _ weightGradient: UnsafeMutablePointer<Float>
    ) {
        let height = shape.height, width = shape.width, inputs = shape.channels
        for block in stride(from: 0, to: outputs, by: 2 * Block.scalarCount) {
            let pair = block + Block.scalarCount < outputs
            for ky in 0..<3 {
                for kx in 0..<3 {
                    let ys = max(0, 1 - ky)..<min(height, height + 1 - ky)
                    let xs = max(0, 1 - kx)..<min(width, width + 1 - kx)
                    for c in 0..<inputs {
                        var sum = Block(), sum2 = Block()
                        for y in ys {
                            var pixel = input + (((y &+ ky &- 1) &* width &+ (xs.lowerBound &+ kx &- 1)) &* inputs &+ c)
                            var g = gradient + ((y &* width &+ xs.lowerBound) &* outputs &+ block)
                            if pair {
                                for _ in xs {
                                    let a = pixel.pointee
                                    sum += a * loadBlock(g)
                                    sum2 += a * loadBlock(g + Block.scalarCount)
                                    pixel += inputs
                                    g += outputs
                                }
                            } else {
                                for _ in xs {
                                    sum += pixel.pointee * loadBlock(g)
                                    pixel += inputs
                                    g += outputs
                                }
                            }
                        }
                        let row = weightGradient + (((ky &* 3 &+ kx) &* inputs &+ c) &* outputs &+ block)
                        storeBlock(loadBlock(row) + sum, row)
                        if pair { storeBlock(loadBlock(row + Block.scalarCount) + sum2, row + Block.scalarCount) }
                    }
                }
            }
        }
    }

    /// For each input pixel, a block of input channels' gradient at a time: what the pixel fed,
    /// gathered from the output gradients through the transposed weights ([tap][output][input]).
    fileprivate static func convolutionInputGradient(
        _ shape: Shape, _ gradient: UnsafePointer<Float>, _ outputs: Int, _ transposed: UnsafePointer<Float>,
        _ inputGradient: UnsafeMutablePointer<Float>
    ) {
        let height = shape.height, width = shape.width, inputs = shape.channels
        for block in stride(from: 0, to: inputs, by: 2 * Block.scalarCount) {
            let pair = block + Block.scalarCount < inputs
            for y in 0..<height {
                let rows = max(0, 1 + y - (height - 1))...min(2, 1 + y)
                for x in 0..<width {
                    let columns = max(0, 1 + x - (width - 1))...min(2, 1 + x)
                    var sum = Block(), sum2 = Block()
                    for ky in rows {
                        for kx in columns {
                            // Output pixel (y − ky + 1, x − kx + 1) saw this pixel through tap (ky, kx).
                            let g = gradient + ((y &- ky &+ 1) &* width &+ (x &- kx &+ 1)) &* outputs
                            var tap = transposed + ((ky &* 3 &+ kx) &* outputs &* inputs &+ block)
                            if pair {
                                for o in 0..<outputs {
                                    let d = g[o]
                                    if d != 0 {
                                        sum += d * loadBlock(tap)
                                        sum2 += d * loadBlock(tap + Block.scalarCount)
                                    }
                                    tap += inputs
                                }
                            } else {
                                for o in 0..<outputs {
                                    let d = g[o]
                                    if d != 0 { sum += d * loadBlock(tap) }  // Pooling and ReLU zeroed most.
                                    tap += inputs
                                }
                            }
                        }
                    }
                    let out = inputGradient + ((y &* width &+ x) &* inputs &+ block)
                    storeBlock(sum, out)
                    if pair { storeBlock(sum2, out + Block.scalarCount) }
                }
            }
        }
    }

    fileprivate static func maxPoolBackward(
        _ input: UnsafePointer<Float>, _ shape: Shape, _ output: UnsafePointer<Float>, _ gradient: UnsafePointer<Float>,
        _ inputGradient: UnsafeMutablePointer<Float>
    ) {
        let width = shape.width, channels = shape.channels
        inputGradient.update(repeating: 0, count: shape.count)
        for y in 0..<(shape.height / 2) {
            for x in 0..<(width / 2) {
                let o = (y * (width / 2) + x) * channels
                let topLeft = ((2 * y) * width + 2 * x) * channels, bottomLeft = topLeft + width * channels
                for k in 0..<channels {
                    // The first input that holds the maximum takes the whole gradient.
                    let best = output[o + k]
                    let corner =
                        input[topLeft + k] == best ? topLeft
                        : input[topLeft + channels + k] == best ? topLeft + channels
                        : input[bottomLeft + k] == best ? bottomLeft : bottomLeft + channels
                    inputGradient[corner + k] = gradient[o + k]
                }
            }
        }
    }

    fileprivate static func denseBackward(
        _ input: UnsafePointer<Float>, _ inputs: Int, _ weights: UnsafePointer<Float>, _ gradient: UnsafePointer<Float>,
        _ outputs: Int, _ weightGradient: UnsafeMutablePointer<Float>, _ biasGradient: UnsafeMutablePointer<Float>,
        _ inputGradient: UnsafeMutablePointer<Float>?
    ) {
        axpy(outputs, 1, gradient, biasGradient)
        for i in 0..<inputs {
            let a = input[i]
            if a == 0 { continue }
            axpy(outputs, a, gradient, weightGradient + i * outputs)
        }
        guard let inputGradient else { return }
        for i in 0..<inputs { inputGradient[i] = dot(outputs, weights + i * outputs, gradient) }
    }
}
