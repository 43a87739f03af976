/// A dense, row-major, contiguous tensor of Float32 values.
///
/// `Tensor` is a value type with copy-on-write storage: assigning it is O(1), and the first
/// mutation of a shared value copies the elements once. Hot loops avoid allocation with the
/// `into:` and in-place variants of each operation, which reuse the destination's buffer when
/// it is uniquely referenced and already has the right element count.
///
/// Shapes are `[Int]`, outermost axis first; a rank-0 tensor (shape `[]`) holds one scalar.
/// Element `(i0, i1, …, ik)` lives at offset `((i0 · d1 + i1) · d2 + …) + ik`.
///
/// Operations check shapes before touching data and stop the process with a message that names
/// the operation and both shapes (`Tensors.add: shapes [2, 3] and [3, 2] differ`): a shape
/// mismatch is a programming error, not a recoverable condition.
public struct Tensor {
    /// Extent of each axis, outermost first.
    public internal(set) var shape: [Int]
    @usableFromInline var buffer: TensorBuffer

    /// Number of elements: the product of `shape` (1 for a rank-0 tensor).
    @inlinable public var count: Int { buffer.count }
    /// Number of axes.
    @inlinable public var rank: Int { shape.count }

    /// A tensor of the given shape whose elements are not yet set. Internal: every public
    /// initialiser defines every element.
    @usableFromInline
    init(uninitializedShape shape: [Int]) {
        self.shape = shape
        buffer = TensorBuffer(count: Tensor.elementCount(of: shape, operation: "Tensor"))
    }

    /// A tensor with the given shape and elements in row-major order.
    ///
    /// - Precondition: `scalars.count` equals the product of `shape`.
    public init(shape: [Int], scalars: [Float]) {
        let count = Tensor.elementCount(of: shape, operation: "Tensor(shape:scalars:)")
        precondition(
            scalars.count == count,
            "Tensor(shape:scalars:): shape \(shape) needs \(count) scalars, got \(scalars.count)")
        self.init(uninitializedShape: shape)
        scalars.withUnsafeBufferPointer { source in
            if count > 0 { buffer.base.update(from: source.baseAddress!, count: count) }
        }
    }

    /// A rank-1 tensor holding `scalars`.
    public init(_ scalars: [Float]) { self.init(shape: [scalars.count], scalars: scalars) }

    /// A rank-0 tensor holding one value.
    public init(scalar: Float) { self.init(shape: [], scalars: [scalar]) }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int]) -> Tensor { filled(shape, with: 0) }

    /// A tensor whose every element is `value`.
    public static func filled(_ shape: [Int], with value: Float) -> Tensor {
        let tensor = Tensor(uninitializedShape: shape)
        tensor.buffer.base.initialize(repeating: value, count: tensor.count)
        return tensor
    }

    /// The elements in row-major order.
    public var scalars: [Float] {
        Array(UnsafeBufferPointer(start: buffer.base, count: count))
    }

    /// The single element of a one-element tensor (any rank).
    public var scalar: Float {
        precondition(count == 1, "Tensor.scalar: tensor of shape \(shape) has \(count) elements, not 1")
        return buffer.base[0]
    }

    /// Reads or writes one element by its full index.
    public subscript(_ indices: Int...) -> Float {
        get { buffer.base[offset(of: indices)] }
        set {
            let position = offset(of: indices)
            makeUnique()
            buffer.base[position] = newValue
        }
    }

    /// Calls `body` with the elements, read-only. The pointer must not escape `body`.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: buffer.base, count: count))
    }

    /// Calls `body` with the elements, writable; copies them first if the storage is shared.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        makeUnique()
        return try body(UnsafeMutableBufferPointer(start: buffer.base, count: count))
    }

    /// Calls `body` with the writable elements of five tensors at once (each copied first if
    /// its storage is shared), for a writer that fills several outputs in one pass. The
    /// pointers must not escape `body`.
    @inlinable
    public static func withUnsafeMutableBufferPointers<R>(
        _ a: inout Tensor, _ b: inout Tensor, _ c: inout Tensor, _ d: inout Tensor, _ e: inout Tensor,
        _ body: (
            UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>,
            UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>
        ) throws -> R
    ) rethrows -> R {
        try a.withUnsafeMutableBufferPointer { a in
            try b.withUnsafeMutableBufferPointer { b in
                try c.withUnsafeMutableBufferPointer { c in
                    try d.withUnsafeMutableBufferPointer { d in
                        try e.withUnsafeMutableBufferPointer { e in try body(a, b, c, d, e) }
                    }
                }
            }
        }
    }

    /// Copies the storage if another tensor value shares it.
    @inlinable
    public mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&buffer) { buffer = buffer.copy() }
    }

    /// Makes `self` a uniquely owned tensor of `shape`, keeping the buffer when it already has
    /// the right element count and nobody else holds it (the allocation-free path of every
    /// `into:` operation). The element values are unspecified afterwards.
    public mutating func prepare(shape newShape: [Int]) {
        if Tensor.sameShape(shape, newShape) {
            if !isKnownUniquelyReferenced(&buffer) { buffer = TensorBuffer(count: buffer.count) }
            return
        }
        let needed = Tensor.elementCount(of: newShape, operation: "Tensor.prepare")
        if needed != buffer.count || !isKnownUniquelyReferenced(&buffer) {
            buffer = TensorBuffer(count: needed)
        }
        shape = newShape
    }

    /// ``prepare(shape:)`` for a rank-1 destination of `length` elements, without building a
    /// shape array when the destination already has it.
    public mutating func prepare(length: Int) {
        if shape.count == 1 && shape[0] == length {
            if !isKnownUniquelyReferenced(&buffer) { buffer = TensorBuffer(count: buffer.count) }
            return
        }
        prepare(shape: [length])
    }

    /// ``prepare(shape:)`` for a rank-2 destination, without building a shape array when the
    /// destination already has it (so a steady-state `into:` call does not allocate).
    public mutating func prepare(rows: Int, columns: Int) {
        if shape.count == 2 && shape[0] == rows && shape[1] == columns {
            if !isKnownUniquelyReferenced(&buffer) { buffer = TensorBuffer(count: buffer.count) }
            return
        }
        prepare(shape: [rows, columns])
    }

    /// ``prepare(shape:)`` for a rank-3 destination `[depth, rows, columns]`, without building a
    /// shape array when the destination already has it.
    public mutating func prepare(depth: Int, rows: Int, columns: Int) {
        if shape.count == 3 && shape[0] == depth && shape[1] == rows && shape[2] == columns {
            if !isKnownUniquelyReferenced(&buffer) { buffer = TensorBuffer(count: buffer.count) }
            return
        }
        prepare(shape: [depth, rows, columns])
    }

    /// Sets every element to `value`, in place.
    public mutating func fill(with value: Float) {
        makeUnique()
        buffer.base.update(repeating: value, count: count)
    }

    // MARK: Shape arithmetic

    // Shape helpers index the arrays directly: in debug builds, generic iteration
    // (`for x in shape`, `==`, `reduce`) allocates, and these run on every `into:` call.

    @usableFromInline
    static func elementCount(of shape: [Int], operation: StaticString) -> Int {
        var product = 1
        var axis = 0
        while axis < shape.count {
            let extent = shape[axis]
            precondition(extent >= 0, "\(operation): negative extent in shape \(shape)")
            let (result, overflow) = product.multipliedReportingOverflow(by: extent)
            precondition(!overflow, "\(operation): shape \(shape) has too many elements")
            product = result
            axis += 1
        }
        return product
    }

    /// Whether two shapes are equal (without the allocation that generic `==` makes in debug builds).
    public static func sameShape(_ a: [Int], _ b: [Int]) -> Bool {
        guard a.count == b.count else { return false }
        var axis = 0
        while axis < a.count {
            if a[axis] != b[axis] { return false }
            axis += 1
        }
        return true
    }

    /// Whether two shapes have the same rank and agree on every axis but `axis`.
    @usableFromInline
    static func sameShape(_ a: [Int], _ b: [Int], exceptAxis axis: Int) -> Bool {
        guard a.count == b.count else { return false }
        var position = 0
        while position < a.count {
            if position != axis && a[position] != b[position] { return false }
            position += 1
        }
        return true
    }

    /// Product of `shape[range]` (1 for an empty range).
    @usableFromInline
    static func product(of shape: [Int], _ range: Range<Int>) -> Int {
        var result = 1
        var axis = range.lowerBound
        while axis < range.upperBound {
            result *= shape[axis]
            axis += 1
        }
        return result
    }

    private func offset(of indices: [Int]) -> Int {
        precondition(
            indices.count == shape.count,
            "Tensor subscript: \(indices.count) indices for a rank-\(shape.count) tensor of shape \(shape)")
        var position = 0
        for (axis, index) in indices.enumerated() {
            precondition(
                index >= 0 && index < shape[axis],
                "Tensor subscript: index \(index) out of range 0..<\(shape[axis]) on axis \(axis) of shape \(shape)")
            position = position * shape[axis] + index
        }
        return position
    }
}

extension Tensor: Equatable {
    /// Tensors are equal when their shapes are equal and every element compares equal
    /// (so a NaN anywhere makes them unequal, as with `Float`).
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        guard lhs.shape == rhs.shape else { return false }
        if lhs.buffer === rhs.buffer { return !lhs.scalars.contains { $0.isNaN } }
        for i in 0..<lhs.count where lhs.buffer.base[i] != rhs.buffer.base[i] { return false }
        return true
    }
}

extension Tensor: CustomStringConvertible {
    /// `Tensor([2, 3]: [0.0, 1.0, …])`, eliding the middle of large tensors.
    public var description: String {
        let values = scalars
        let shown =
            values.count <= 12
            ? values.map { "\($0)" }
            : values.prefix(6).map { "\($0)" } + ["…"] + values.suffix(6).map { "\($0)" }
        return "Tensor(\(shape): [\(shown.joined(separator: ", "))])"
    }
}

/// A `Tensor` may cross threads like an `Array`: it is a value, and every mutation first makes
/// its buffer unique (`makeUnique`, `prepare`), so a buffer that two values share is never
/// written. The buffer class itself stays non-Sendable and internal.
extension Tensor: @unchecked Sendable {}
