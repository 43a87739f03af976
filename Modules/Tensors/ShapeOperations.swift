/// Reshape, 2-D transpose, first-axis slicing, concatenation and split.
///
/// Concatenation and split treat a tensor of shape `[d0, …, d(axis), …, dk]` as
/// `outer × d(axis) × inner` with `outer = d0 ⋯ d(axis−1)` and `inner = d(axis+1) ⋯ dk`, and move
/// contiguous runs of `d(axis) · inner` elements.
extension Tensor {
    /// The same elements under a new shape (O(1): the storage is shared until one side is
    /// mutated). One extent may be `-1`, inferred from the element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        let inferred = newShape.indices.filter { newShape[$0] == -1 }
        precondition(inferred.count <= 1, "Tensors.reshape: more than one -1 in \(newShape)")
        if let axis = inferred.first {
            let known = newShape.enumerated().filter { $0.offset != axis }.reduce(1) { $0 * $1.element }
            precondition(
                known > 0 && count % known == 0,
                "Tensors.reshape: cannot infer -1 in \(newShape) for \(count) elements of shape \(shape)")
            resolved[axis] = count / known
        }
        let newCount = Tensor.elementCount(of: resolved, operation: "Tensors.reshape")
        precondition(
            newCount == count,
            "Tensors.reshape: shape \(shape) (\(count) elements) cannot become \(resolved) (\(newCount) elements)")
        var result = self
        result.shape = resolved
        return result
    }

    /// The transpose of a rank-2 tensor: `[R, C]` → `[C, R]`.
    public func transposed() -> Tensor {
        var result = Tensor.zeros([])
        Tensor.transpose(self, into: &result)
        return result
    }

    /// Writes the transpose of rank-2 `source` into `result` (reusing its buffer when possible).
    /// Works in 32 × 32 tiles so that both the reads and the writes stay in cache.
    public static func transpose(_ source: Tensor, into result: inout Tensor) {
        precondition(source.rank == 2, "Tensors.transpose: needs a rank-2 tensor, got shape \(source.shape)")
        let rows = source.shape[0], columns = source.shape[1]
        result.prepare(rows: columns, columns: rows)
        let from = source.buffer.base, to = result.buffer.base
        let tile = 32
        var rowStart = 0
        while rowStart < rows {
            let rowEnd = Swift.min(rowStart + tile, rows)
            var columnStart = 0
            while columnStart < columns {
                let columnEnd = Swift.min(columnStart + tile, columns)
                for r in rowStart..<rowEnd {
                    for c in columnStart..<columnEnd { to[c * rows + r] = from[r * columns + c] }
                }
                columnStart = columnEnd
            }
            rowStart = rowEnd
        }
    }

    /// Rows `range` of the first axis, as a new tensor of shape `[range.count] + shape[1...]`.
    public func slice(_ range: Range<Int>) -> Tensor {
        precondition(rank >= 1, "Tensors.slice: cannot slice a rank-0 tensor")
        precondition(
            range.lowerBound >= 0 && range.upperBound <= shape[0],
            "Tensors.slice: rows \(range) out of range 0..<\(shape[0]) for shape \(shape)")
        let rowSize = shape.dropFirst().reduce(1, *)
        let result = Tensor(uninitializedShape: [range.count] + shape.dropFirst())
        result.buffer.base.update(from: buffer.base + range.lowerBound * rowSize, count: range.count * rowSize)
        return result
    }

    /// The tensors joined along `axis`. Every other extent must agree.
    public static func concatenate(_ parts: [Tensor], alongAxis axis: Int) -> Tensor {
        var result = Tensor.zeros([])
        concatenate(parts, alongAxis: axis, into: &result)
        return result
    }

    /// Writes the concatenation of `parts` along `axis` into `result`.
    public static func concatenate(_ parts: [Tensor], alongAxis axis: Int, into result: inout Tensor) {
        precondition(!parts.isEmpty, "Tensors.concatenate: no tensors to join")
        let first = parts[0]
        precondition(
            axis >= 0 && axis < first.rank,
            "Tensors.concatenate: axis \(axis) out of range for rank \(first.rank) (shape \(first.shape))")
        var joinedExtent = 0
        var index = 0
        while index < parts.count {
            let part = parts[index]
            precondition(
                Tensor.sameShape(part.shape, first.shape, exceptAxis: axis),
                "Tensors.concatenate: shapes \(first.shape) and \(part.shape) differ outside axis \(axis)")
            joinedExtent += part.shape[axis]
            index += 1
        }
        if Tensor.sameShape(result.shape, first.shape, exceptAxis: axis) && result.shape[axis] == joinedExtent {
            result.prepare(shape: result.shape)
        } else {
            var resultShape = first.shape
            resultShape[axis] = joinedExtent
            result.prepare(shape: resultShape)
        }
        let outer = Tensor.product(of: first.shape, 0..<axis)
        let inner = Tensor.product(of: first.shape, (axis + 1)..<first.rank)
        let resultRun = joinedExtent * inner
        var columnOffset = 0
        index = 0
        while index < parts.count {
            let part = parts[index]
            let run = part.shape[axis] * inner
            for o in 0..<outer {
                (result.buffer.base + o * resultRun + columnOffset).update(from: part.buffer.base + o * run, count: run)
            }
            columnOffset += run
            index += 1
        }
    }

    /// Splits along `axis` into pieces of the given extents, which must add up to `shape[axis]`.
    public func split(sizes: [Int], alongAxis axis: Int) -> [Tensor] {
        precondition(
            axis >= 0 && axis < rank, "Tensors.split: axis \(axis) out of range for rank \(rank) (shape \(shape))")
        precondition(
            sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == shape[axis],
            "Tensors.split: sizes \(sizes) do not add up to extent \(shape[axis]) of axis \(axis) in shape \(shape)")
        let outer = Tensor.product(of: shape, 0..<axis)
        let inner = Tensor.product(of: shape, (axis + 1)..<rank)
        let sourceRun = shape[axis] * inner
        var columnOffset = 0
        return sizes.map { size in
            var pieceShape = shape
            pieceShape[axis] = size
            let piece = Tensor(uninitializedShape: pieceShape)
            let run = size * inner
            for o in 0..<outer {
                (piece.buffer.base + o * run).update(from: buffer.base + o * sourceRun + columnOffset, count: run)
            }
            columnOffset += run
            return piece
        }
    }
}
