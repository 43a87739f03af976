/// Elementwise arithmetic: tensor ∘ tensor (same shape), tensor ∘ scalar, scalar ∘ tensor, and
/// tensor ∘ row vector, where a rank-1 right operand of extent `shape.last` is broadcast over
/// every row (how a bias is added to a `[N, C]` activation).
///
/// Each operator has three forms: the operator itself (allocates its result), the compound
/// assignment (`+=`, in place) and `Tensor.apply(_:_:_:into:)` (writes into a caller-owned
/// buffer); the last two do not allocate once the destination exists.
public enum BinaryOperation: Sendable {
    case add, subtract, multiply, divide

    @usableFromInline var symbol: String {
        switch self {
        case .add: "add"
        case .subtract: "subtract"
        case .multiply: "multiply"
        case .divide: "divide"
        }
    }
}

extension Tensor {
    /// How the right operand's shape relates to the left one's.
    @usableFromInline
    enum Broadcast { case sameShape, rowVector }

    @usableFromInline
    static func broadcast(_ lhs: [Int], _ rhs: [Int], operation: BinaryOperation) -> Broadcast {
        if sameShape(lhs, rhs) { return .sameShape }
        if rhs.count == 1 && lhs.count >= 2 && rhs[0] == lhs[lhs.count - 1] { return .rowVector }
        preconditionFailure(
            "Tensors.\(operation.symbol): shapes \(lhs) and \(rhs) differ (expected equal shapes, or a row vector [\(lhs.last.map(String.init) ?? "?")] on the right)"
        )
    }

    /// `result = lhs ∘ rhs`, elementwise, with row-vector broadcasting of `rhs`.
    /// `result` may be `lhs` itself's storage only through the compound operators.
    public static func apply(_ operation: BinaryOperation, _ lhs: Tensor, _ rhs: Tensor, into result: inout Tensor) {
        let mode = broadcast(lhs.shape, rhs.shape, operation: operation)
        result.prepare(shape: lhs.shape)
        combine(
            operation, lhs.buffer.base, rhs.buffer.base, result.buffer.base, count: lhs.count,
            rowLength: mode == .rowVector ? rhs.count : lhs.count)
    }

    /// `result = lhs ∘ scalar`.
    public static func apply(_ operation: BinaryOperation, _ lhs: Tensor, _ scalar: Float, into result: inout Tensor) {
        result.prepare(shape: lhs.shape)
        withUnsafePointer(to: scalar) { rhs in
            combine(operation, lhs.buffer.base, rhs, result.buffer.base, count: lhs.count, rowLength: 1)
        }
    }

    /// The kernel: `out[i] = a[i] ∘ b[i mod rowLength]`. `out` may alias `a`.
    @inlinable
    static func combine(
        _ operation: BinaryOperation, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
        _ out: UnsafeMutablePointer<Float>, count: Int, rowLength: Int
    ) {
        guard count > 0 else { return }
        var start = 0
        while start < count {
            // One row of `rowLength` at a time keeps the inner loop branch-free and vectorisable.
            let a = a + start, out = out + start
            switch operation {
            case .add: for j in 0..<rowLength { out[j] = a[j] + b[j] }
            case .subtract: for j in 0..<rowLength { out[j] = a[j] - b[j] }
            case .multiply: for j in 0..<rowLength { out[j] = a[j] * b[j] }
            case .divide: for j in 0..<rowLength { out[j] = a[j] / b[j] }
            }
            start += rowLength
        }
    }

    /// `lhs ∘= rhs` in place (same shape or row vector).
    @usableFromInline
    static func applyInPlace(_ operation: BinaryOperation, _ lhs: inout Tensor, _ rhs: Tensor) {
        let mode = broadcast(lhs.shape, rhs.shape, operation: operation)
        lhs.makeUnique()
        combine(
            operation, lhs.buffer.base, rhs.buffer.base, lhs.buffer.base, count: lhs.count,
            rowLength: mode == .rowVector ? rhs.count : lhs.count)
    }

    @usableFromInline
    static func applyInPlace(_ operation: BinaryOperation, _ lhs: inout Tensor, _ scalar: Float) {
        lhs.makeUnique()
        withUnsafePointer(to: scalar) { rhs in
            combine(operation, lhs.buffer.base, rhs, lhs.buffer.base, count: lhs.count, rowLength: 1)
        }
    }

    @usableFromInline
    static func applied(_ operation: BinaryOperation, _ lhs: Tensor, _ rhs: Tensor) -> Tensor {
        var result = Tensor(uninitializedShape: lhs.shape)
        apply(operation, lhs, rhs, into: &result)
        return result
    }

    @usableFromInline
    static func applied(_ operation: BinaryOperation, _ lhs: Tensor, _ scalar: Float) -> Tensor {
        var result = Tensor(uninitializedShape: lhs.shape)
        apply(operation, lhs, scalar, into: &result)
        return result
    }

    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor { applied(.add, lhs, rhs) }
    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor { applied(.subtract, lhs, rhs) }
    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor { applied(.multiply, lhs, rhs) }
    public static func / (lhs: Tensor, rhs: Tensor) -> Tensor { applied(.divide, lhs, rhs) }

    public static func + (lhs: Tensor, rhs: Float) -> Tensor { applied(.add, lhs, rhs) }
    public static func - (lhs: Tensor, rhs: Float) -> Tensor { applied(.subtract, lhs, rhs) }
    public static func * (lhs: Tensor, rhs: Float) -> Tensor { applied(.multiply, lhs, rhs) }
    public static func / (lhs: Tensor, rhs: Float) -> Tensor { applied(.divide, lhs, rhs) }

    public static func + (lhs: Float, rhs: Tensor) -> Tensor { applied(.add, rhs, lhs) }
    public static func * (lhs: Float, rhs: Tensor) -> Tensor { applied(.multiply, rhs, lhs) }
    /// `scalar − tensor`, elementwise.
    public static func - (lhs: Float, rhs: Tensor) -> Tensor { rhs.map { lhs - $0 } }
    /// `scalar ÷ tensor`, elementwise.
    public static func / (lhs: Float, rhs: Tensor) -> Tensor { rhs.map { lhs / $0 } }
    public static prefix func - (operand: Tensor) -> Tensor { applied(.multiply, operand, -1) }

    public static func += (lhs: inout Tensor, rhs: Tensor) { applyInPlace(.add, &lhs, rhs) }
    public static func -= (lhs: inout Tensor, rhs: Tensor) { applyInPlace(.subtract, &lhs, rhs) }
    public static func *= (lhs: inout Tensor, rhs: Tensor) { applyInPlace(.multiply, &lhs, rhs) }
    public static func /= (lhs: inout Tensor, rhs: Tensor) { applyInPlace(.divide, &lhs, rhs) }
    public static func += (lhs: inout Tensor, rhs: Float) { applyInPlace(.add, &lhs, rhs) }
    public static func -= (lhs: inout Tensor, rhs: Float) { applyInPlace(.subtract, &lhs, rhs) }
    public static func *= (lhs: inout Tensor, rhs: Float) { applyInPlace(.multiply, &lhs, rhs) }
    public static func /= (lhs: inout Tensor, rhs: Float) { applyInPlace(.divide, &lhs, rhs) }

    /// `self += alpha · other` in place (same shape), the fused update of gradient accumulation.
    public mutating func addScaled(_ other: Tensor, by alpha: Float) {
        precondition(shape == other.shape, "Tensors.addScaled: shapes \(shape) and \(other.shape) differ")
        makeUnique()
        let out = buffer.base, source = other.buffer.base
        for i in 0..<count { out[i] += alpha * source[i] }
    }

    /// A new tensor of the same shape with `transform` applied to every element.
    @inlinable
    public func map(_ transform: (Float) -> Float) -> Tensor {
        let result = Tensor(uninitializedShape: shape)
        let source = buffer.base, out = result.buffer.base
        for i in 0..<count { out[i] = transform(source[i]) }
        return result
    }
}
