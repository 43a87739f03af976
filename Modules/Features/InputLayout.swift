/// Where every input sits in one example's rows of ``ExampleTensors``, named once so that the
/// encoder that writes them and the pipeline's widths (which size the models) agree by
/// construction rather than by index arithmetic kept in step by hand.
///
/// Sequence row `[F]` per step (F = ``sequenceWidth``):
/// `[ perVisit: study features, per-step numerics, one-hots | daysToAsOf (time-aware) ]`.
/// Static row `[S]` (S = ``staticWidth``):
/// `[ fields: profile and last-visit fields | windowSummary (time-aware) | notes ]`.
public struct InputLayout: Sendable, Equatable {
    /// L: steps per sequence.
    public let sequenceLength: Int
    /// The sequence columns that depend on the visit alone (pre-scaled once per visit).
    public let perVisit: Range<Int>
    /// The per-step days from the visit to the as-of date, the last column (time-aware only).
    public let daysToAsOf: Int?
    /// The profile and last-visit fields: integer codes and numerics, or one-hots and numerics.
    public let fields: Range<Int>
    /// The window summary, one column per aggregate feature (time-aware only; empty otherwise).
    public let windowSummary: Range<Int>
    /// The notes' TF-IDF columns (empty without notes).
    public let notes: Range<Int>
    /// A: the aggregate tensor's width.
    public let aggregateWidth: Int

    /// F.
    public var sequenceWidth: Int { daysToAsOf.map { $0 + 1 } ?? perVisit.upperBound }
    /// S.
    public var staticWidth: Int { notes.upperBound }

    init(
        sequenceLength: Int, perVisitWidth: Int, daysToAsOf: Bool, fieldWidth: Int, windowSummaryWidth: Int,
        notesWidth: Int, aggregateWidth: Int
    ) {
        self.sequenceLength = sequenceLength
        perVisit = 0..<perVisitWidth
        self.daysToAsOf = daysToAsOf ? perVisitWidth : nil
        fields = 0..<fieldWidth
        windowSummary = fieldWidth..<(fieldWidth + windowSummaryWidth)
        notes = windowSummary.upperBound..<(windowSummary.upperBound + notesWidth)
        self.aggregateWidth = aggregateWidth
    }
}
