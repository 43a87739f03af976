/// Whether a forward pass is part of training or of inference. Layers whose behaviour differs
/// (batch normalisation, dropout) take it as an explicit argument: there is no global mode flag.
public enum Mode: Sendable {
    /// Batch statistics, running-statistic updates, dropout active.
    case training
    /// Running statistics, dropout off: deterministic.
    case inference
}
