import Layers
import Tensors

/// The study's CNN-LSTM (BRIEF §1), exactly as `../shared/bench/torch_reference.py` builds it,
/// with the same parameter names, so a PyTorch `state_dict` loads one to one:
/// ```
/// sequence branch  x_seq [B, T, 7]  → conv_seq (7→64, K 2, same) → bn_seq → ReLU
///                                   → lstm (64→128, 3 layers) → last step [B, 128] → fc_seq (128→2)
/// static branch    x_stat [B, T, 4] → conv_stat (4→64, K 2, same) → bn_stat → ReLU
///                                   → flatten channels-first [B, 64·T] → fc_stat (64·T→2)
/// head             concat [B, 4] → head (4→2) → logits [B, 2]; softmax gives P(no order), P(order)
/// ```
/// The static features arrive repeated along time (`[B, T, 4]`), the study's layout. The model
/// returns logits; the focal loss in its two-class softmax form takes them directly.
/// 366,862 parameters at the default sizes.
///
/// With `Configuration.staticBranch = false` it is the study's "CNN+LSTM without the static
/// branch": the sequence branch alone, `fc_seq`'s two outputs being the logits (parameters
/// `conv_seq`, `bn_seq`, `lstm`, `fc_seq`; no `conv_stat`, `bn_stat`, `fc_stat`, `head`).
///
/// `mask` (`[B, T]`, 1 = real visit) reaches the LSTM, so left-padded histories keep the
/// recurrent state at zero through the padding; the convolutions and batch norm see the padded
/// steps as the zero rows they hold.
public struct CNNLSTM {
    public struct Configuration: Sendable, Equatable, Codable {
        public var steps = 10
        public var sequenceFeatures = 7
        public var staticFeatures = 4
        public var convolutionChannels = 64
        public var kernelSize = 2
        public var hiddenSize = 128
        public var layerCount = 3
        /// false: the CNN+LSTM without the static branch (statics are ignored).
        public var staticBranch = true
        /// Outputs O of `fc_seq`, `fc_stat` and `head` (`head` reads their 2·O): the study's two
        /// class logits, or one logit per bin of a hazard head (``TimingCNNLSTM``).
        public var outputs = 2
        public init() {}
    }

    public let configuration: Configuration
    var convSequence: Conv1D, normSequence: BatchNorm, lstm: LSTM, denseSequence: Linear
    // nil without the static branch.
    var convStatic: Conv1D?, normStatic: BatchNorm?, denseStatic: Linear?, head: Linear?

    // Activations, named by the step that produces them; B = batch, T = steps, F = filters.
    private var sequenceConvolved = Tensor.zeros([0]), sequenceNormalized = Tensor.zeros([0])  // [B, T, F]
    private var sequenceActivated = Tensor.zeros([0])  // [B, T, F]
    private var lastHidden = Tensor.zeros([0])  // [B, H]
    private var sequenceLogits = Tensor.zeros([0]), staticLogits = Tensor.zeros([0])  // [B, O]
    private var staticConvolved = Tensor.zeros([0]), staticNormalized = Tensor.zeros([0])  // [B, T, F]
    private var staticActivated = Tensor.zeros([0])  // [B, T, F]
    private var staticFlat = Tensor.zeros([0])  // [B, F·T] channels-first
    var repeatedStatics = Tensor.zeros([0])  // [B, T, S] (Classifier)
    private var joined = Tensor.zeros([0])  // [B, 2·O]
    // Gradients.
    private var joinedGradient = Tensor.zeros([0]), sequenceLogitsGradient = Tensor.zeros([0])
    private var staticLogitsGradient = Tensor.zeros([0]), staticFlatGradient = Tensor.zeros([0])
    private var staticActivatedGradient = Tensor.zeros([0]), staticNormalizedGradient = Tensor.zeros([0])
    private var staticConvolvedGradient = Tensor.zeros([0]), lastHiddenGradient = Tensor.zeros([0])
    private var sequenceActivatedGradient = Tensor.zeros([0]), sequenceNormalizedGradient = Tensor.zeros([0])
    private var sequenceConvolvedGradient = Tensor.zeros([0])

    /// Declares every parameter and buffer in `layout` under torch_reference.py's names.
    public init(_ configuration: Configuration = Configuration(), layout: inout ParameterLayout) {
        self.configuration = configuration
        let c = configuration
        convSequence = Conv1D(
            "conv_seq", inputChannels: c.sequenceFeatures, outputChannels: c.convolutionChannels,
            kernelSize: c.kernelSize, padding: .same, layout: &layout)
        normSequence = BatchNorm("bn_seq", channels: c.convolutionChannels, layout: &layout)
        lstm = LSTM(
            "lstm", inputSize: c.convolutionChannels, hiddenSize: c.hiddenSize, layerCount: c.layerCount,
            layout: &layout)
        denseSequence = Linear("fc_seq", inputFeatures: c.hiddenSize, outputFeatures: c.outputs, layout: &layout)
        guard c.staticBranch else { return }
        convStatic = Conv1D(
            "conv_stat", inputChannels: c.staticFeatures, outputChannels: c.convolutionChannels,
            kernelSize: c.kernelSize, padding: .same, layout: &layout)
        normStatic = BatchNorm("bn_stat", channels: c.convolutionChannels, layout: &layout)
        denseStatic = Linear(
            "fc_stat", inputFeatures: c.convolutionChannels * c.steps, outputFeatures: c.outputs, layout: &layout)
        head = Linear("head", inputFeatures: 2 * c.outputs, outputFeatures: c.outputs, layout: &layout)
    }

    /// PyTorch's default initialisation for every layer (same distributions; the draws come
    /// from `random`, not from PyTorch's generator).
    public func initialize(_ parameters: ParameterStore, using random: inout SeededRandom) {
        convSequence.initialize(parameters, using: &random)
        normSequence.initialize(parameters)
        lstm.initialize(parameters, using: &random)
        denseSequence.initialize(parameters, using: &random)
        convStatic?.initialize(parameters, using: &random)
        normStatic?.initialize(parameters)
        denseStatic?.initialize(parameters, using: &random)
        head?.initialize(parameters, using: &random)
    }

    /// Logits `[B, O]` (the study's O = 2: column 1 = order) for `sequence [B, T, 7]` and `statics [B, T, 4]`
    /// (`statics` is not read without the static branch).
    public mutating func forward(
        sequence: Tensor, statics: Tensor, mask: Tensor? = nil, mode: Mode, _ parameters: ParameterStore,
        into logits: inout Tensor
    ) {
        let c = configuration
        precondition(
            sequence.rank == 3 && sequence.shape[1] == c.steps && sequence.shape[2] == c.sequenceFeatures,
            "CNNLSTM.forward: sequence shape \(sequence.shape) is not [B, \(c.steps), \(c.sequenceFeatures)]")
        let b = sequence.shape[0], t = c.steps, f = c.convolutionChannels

        convSequence.forward(sequence, parameters, into: &sequenceConvolved)
        normSequence.forward(sequenceConvolved, mode: mode, parameters, into: &sequenceNormalized)
        Activation.relu.forward(sequenceNormalized, into: &sequenceActivated)
        lstm.forward(sequenceActivated, mask: mask, returnSequences: false, parameters, into: &lastHidden)
        guard c.staticBranch else {
            denseSequence.forward(lastHidden, parameters, into: &logits)
            return
        }
        // The static-branch layers are mutated in place through `!` (binding them to locals
        // would share their saved buffers and copy them on the next write).
        denseSequence.forward(lastHidden, parameters, into: &sequenceLogits)
        precondition(
            statics.rank == 3 && statics.shape[0] == sequence.shape[0] && statics.shape[1] == c.steps
                && statics.shape[2] == c.staticFeatures,
            "CNNLSTM.forward: static shape \(statics.shape) is not [\(sequence.shape[0]), \(c.steps), \(c.staticFeatures)]"
        )

        convStatic!.forward(statics, parameters, into: &staticConvolved)
        normStatic!.forward(staticConvolved, mode: mode, parameters, into: &staticNormalized)
        Activation.relu.forward(staticNormalized, into: &staticActivated)
        // PyTorch flattens [B, F, T]: column f·T + t.
        staticFlat.prepare(rows: b, columns: f * t)
        staticActivated.withUnsafeBufferPointer { source in
            staticFlat.withUnsafeMutableBufferPointer { flat in
                for sample in 0..<b {
                    for step in 0..<t {
                        for channel in 0..<f {
                            flat[sample * f * t + channel * t + step] = source[(sample * t + step) * f + channel]
                        }
                    }
                }
            }
        }
        denseStatic!.forward(staticFlat, parameters, into: &staticLogits)

        // concat(sequence logits, static logits) per row, as torch.cat(dim=1).
        let o = c.outputs
        joined.prepare(rows: b, columns: 2 * o)
        sequenceLogits.withUnsafeBufferPointer { s in
            staticLogits.withUnsafeBufferPointer { st in
                joined.withUnsafeMutableBufferPointer { j in
                    for sample in 0..<b {
                        for k in 0..<o {
                            j[sample * 2 * o + k] = s[sample * o + k]
                            j[sample * 2 * o + o + k] = st[sample * o + k]
                        }
                    }
                }
            }
        }
        head!.forward(joined, parameters, into: &logits)
    }

    /// Backpropagates `dL/dlogits [B, O]` through the last forward pass, accumulating every
    /// parameter gradient.
    public mutating func backward(_ logitsGradient: Tensor, _ parameters: ParameterStore) {
        let c = configuration
        let b = logitsGradient.shape[0], t = c.steps, f = c.convolutionChannels
        guard c.staticBranch else {
            denseSequence.backward(logitsGradient, parameters, inputGradient: &lastHiddenGradient)
            backwardSequenceBranch(parameters)
            return
        }
        head!.backward(logitsGradient, parameters, inputGradient: &joinedGradient)
        let o = c.outputs
        sequenceLogitsGradient.prepare(rows: b, columns: o)
        staticLogitsGradient.prepare(rows: b, columns: o)
        joinedGradient.withUnsafeBufferPointer { j in
            sequenceLogitsGradient.withUnsafeMutableBufferPointer { s in
                staticLogitsGradient.withUnsafeMutableBufferPointer { st in
                    for sample in 0..<b {
                        for k in 0..<o {
                            s[sample * o + k] = j[sample * 2 * o + k]
                            st[sample * o + k] = j[sample * 2 * o + o + k]
                        }
                    }
                }
            }
        }

        denseStatic!.backward(staticLogitsGradient, parameters, inputGradient: &staticFlatGradient)
        staticActivatedGradient.prepare(depth: b, rows: t, columns: f)
        staticFlatGradient.withUnsafeBufferPointer { flat in
            staticActivatedGradient.withUnsafeMutableBufferPointer { out in
                for sample in 0..<b {
                    for step in 0..<t {
                        for channel in 0..<f {
                            out[(sample * t + step) * f + channel] = flat[sample * f * t + channel * t + step]
                        }
                    }
                }
            }
        }
        Activation.relu.backward(
            staticActivatedGradient, output: staticActivated, inputGradient: &staticNormalizedGradient)
        normStatic!.backward(staticNormalizedGradient, parameters, inputGradient: &staticConvolvedGradient)
        convStatic!.accumulateParameterGradients(staticConvolvedGradient, parameters)

        denseSequence.backward(sequenceLogitsGradient, parameters, inputGradient: &lastHiddenGradient)
        backwardSequenceBranch(parameters)
    }

    /// From `lastHiddenGradient` down to the sequence convolution's parameters.
    private mutating func backwardSequenceBranch(_ parameters: ParameterStore) {
        lstm.backward(lastHiddenGradient, parameters, inputGradient: &sequenceActivatedGradient)
        Activation.relu.backward(
            sequenceActivatedGradient, output: sequenceActivated, inputGradient: &sequenceNormalizedGradient)
        normSequence.backward(sequenceNormalizedGradient, parameters, inputGradient: &sequenceConvolvedGradient)
        convSequence.accumulateParameterGradients(sequenceConvolvedGradient, parameters)
    }
}

extension CNNLSTM: Classifier {
    public var architecture: Architecture { configuration.staticBranch ? .cnnLSTM : .cnnLSTMSequenceOnly }
    public var outputForm: OutputForm { .twoClassLogits }

    /// Repeats the `[B, S]` statics along time into the study's `[B, T, S]` layout.
    public mutating func forward(
        _ input: ModelInput, mode: Mode, random: inout SeededRandom, _ parameters: ParameterStore,
        into logits: inout Tensor
    ) {
        let b = input.batchSize, t = configuration.steps, s = configuration.staticFeatures
        if configuration.staticBranch {
            precondition(
                input.statics.rank == 2 && input.statics.shape == [b, s],
                "CNNLSTM: statics shape \(input.statics.shape) is not [\(b), \(s)]")
            repeatedStatics.prepare(depth: b, rows: t, columns: s)
            input.statics.withUnsafeBufferPointer { source in
                repeatedStatics.withUnsafeMutableBufferPointer { out in
                    for sample in 0..<b {
                        for step in 0..<t {
                            (out.baseAddress! + (sample * t + step) * s).update(
                                from: source.baseAddress! + sample * s, count: s)
                        }
                    }
                }
            }
        }
        forward(
            sequence: input.sequence, statics: repeatedStatics, mask: input.mask, mode: mode, parameters, into: &logits)
    }
}
