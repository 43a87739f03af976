import Tensors

/// A chain of feed-forward stages applied in order (PyTorch's `nn.Sequential`, Keras's
/// `Sequential`), for models that are a plain stack: the MLP on aggregate features and
/// logistic regression.
///
/// Shapes: input `[B, I]` → output `[B, O]` of the last linear stage. Each stage keeps its own
/// output and input-gradient buffers, so backward has every activation it needs and a
/// steady-state step allocates nothing.
///
/// The stages are a closed enum rather than protocol existentials: dispatch is a switch, and a
/// reader sees every kind of stage in one place. Layers with state live in arrays of their own
/// (`linears`, `dropouts`) and are mutated in place there, so their saved buffers are never
/// shared (a shared buffer would be copied on the next write).
public struct Sequential {
    /// One stage of the chain, as the caller describes it.
    public enum Stage {
        case linear(Linear)
        case activation(Activation)
        case dropout(Dropout)
    }

    private enum Step {
        case linear(Int)
        case activation(Activation)
        case dropout(Int)
    }

    private var steps: [Step] = []
    private var linears: [Linear] = []
    private var dropouts: [Dropout] = []
    private var outputs: [Tensor]  // outputs[k]: the output of stage k
    private var gradients: [Tensor]  // gradients[k]: dL/d(input of stage k)

    public init(_ stages: [Stage]) {
        precondition(!stages.isEmpty, "Sequential: needs at least one stage")
        for stage in stages {
            switch stage {
            case .linear(let linear): steps.append(.linear(linears.count)); linears.append(linear)
            case .activation(let activation): steps.append(.activation(activation))
            case .dropout(let dropout): steps.append(.dropout(dropouts.count)); dropouts.append(dropout)
            }
        }
        outputs = Array(repeating: Tensor.zeros([0]), count: steps.count)
        gradients = Array(repeating: Tensor.zeros([0]), count: steps.count)
    }

    /// PyTorch's default initialisation of every linear stage, in order.
    public func initialize(_ parameters: ParameterStore, using random: inout SeededRandom) {
        for linear in linears { linear.initialize(parameters, using: &random) }
    }

    /// Runs every stage on `x [B, I]`; `y` receives the last stage's output. Dropout draws from
    /// `random` in training mode only.
    public mutating func forward(
        _ x: Tensor, mode: Mode, random: inout SeededRandom, _ parameters: ParameterStore, into y: inout Tensor
    ) {
        let steps = self.steps
        outputs.withUnsafeMutableBufferPointer { out in
            for k in steps.indices {
                let input = k == 0 ? x : out[k - 1]
                switch steps[k] {
                case .linear(let index): linears[index].forward(input, parameters, into: &out[k])
                case .activation(let activation): activation.forward(input, into: &out[k])
                case .dropout(let index): dropouts[index].forward(input, mode: mode, random: &random, into: &out[k])
                }
            }
        }
        let last = outputs[steps.count - 1]
        y.prepare(shape: last.shape)
        last.withUnsafeBufferPointer { source in
            y.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: source.baseAddress!, count: source.count) }
        }
    }

    /// Backpropagates `dy` (shape of the output), accumulating every parameter gradient. The
    /// input gradient is not computed (the chain's input is data).
    public mutating func backward(_ dy: Tensor, _ parameters: ParameterStore) {
        propagate(dy, parameters, needsInputGradient: false)
    }

    /// Backpropagates `dy` and writes `dL/dx` into `inputGradient`.
    public mutating func backward(_ dy: Tensor, _ parameters: ParameterStore, inputGradient: inout Tensor) {
        propagate(dy, parameters, needsInputGradient: true)
        let first = gradients[0]
        inputGradient.prepare(shape: first.shape)
        first.withUnsafeBufferPointer { source in
            inputGradient.withUnsafeMutableBufferPointer {
                $0.baseAddress!.update(from: source.baseAddress!, count: source.count)
            }
        }
    }

    private mutating func propagate(_ dy: Tensor, _ parameters: ParameterStore, needsInputGradient: Bool) {
        // A countdown, not `indices.reversed()`: ReversedCollection's iterator runs unspecialised
        // in debug builds and mallocs a box per step (seen under gdb), and a training step must
        // not allocate in any build.
        let steps = self.steps
        linears.withUnsafeBufferPointer { linears in
            dropouts.withUnsafeBufferPointer { dropouts in
                outputs.withUnsafeBufferPointer { outputs in
                    gradients.withUnsafeMutableBufferPointer { gradients in
                        var k = steps.count
                        while k > 0 {
                            k -= 1
                            let upstream = k == steps.count - 1 ? dy : gradients[k + 1]
                            switch steps[k] {
                            case .linear(let index):
                                if k == 0 && !needsInputGradient {
                                    linears[index].accumulateParameterGradients(upstream, parameters)
                                } else {
                                    linears[index].backward(upstream, parameters, inputGradient: &gradients[k])
                                }
                            case .activation(let activation):
                                activation.backward(upstream, output: outputs[k], inputGradient: &gradients[k])
                            case .dropout(let index):
                                dropouts[index].backward(upstream, inputGradient: &gradients[k])
                            }
                        }
                    }
                }
            }
        }
    }
}
