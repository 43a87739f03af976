/// Reductions along one axis, and over all elements.
///
/// Reducing axis `a` of shape `[d0, …, da, …, dk]` gives shape `[d0, …, d(a−1), d(a+1), …, dk]`
/// (the axis is removed). Sums accumulate in Double, so the result does not depend on how
/// many elements are reduced beyond Float rounding of the final value.
///
/// Empty axes: `sum` is 0, `mean` is NaN (0/0, as numpy), `max` and `argmax` stop with a message.
extension Tensor {
    /// `shape` as `outer × extent × inner` around `axis`.
    private func reductionGeometry(_ axis: Int, _ operation: StaticString) -> (outer: Int, extent: Int, inner: Int) {
        precondition(
            axis >= 0 && axis < rank,
            "Tensors.\(operation): axis \(axis) out of range for rank \(rank) (shape \(shape))")
        return (Tensor.product(of: shape, 0..<axis), shape[axis], Tensor.product(of: shape, (axis + 1)..<rank))
    }

    /// The shape with `axis` removed.
    private func reducedShape(removing axis: Int) -> [Int] {
        var reduced = shape
        reduced.remove(at: axis)
        return reduced
    }

    /// Whether `candidate` is the shape with `axis` removed (checked without building it).
    private func isReducedShape(_ candidate: [Int], removing axis: Int) -> Bool {
        guard candidate.count == rank - 1 else { return false }
        var position = 0
        while position < candidate.count {
            if candidate[position] != shape[position < axis ? position : position + 1] { return false }
            position += 1
        }
        return true
    }

    /// Sum along `axis`.
    public func sum(alongAxis axis: Int) -> Tensor {
        var result = Tensor.zeros([])
        Tensor.sum(self, alongAxis: axis, into: &result)
        return result
    }

    /// Writes the sum of `source` along `axis` into `result`, or adds it to what `result`
    /// holds when `accumulate` is true (`result` must then already have the reduced shape):
    /// the bias-gradient step `db += Σ_rows dy`.
    public static func sum(_ source: Tensor, alongAxis axis: Int, into result: inout Tensor, accumulate: Bool = false) {
        let g = source.reductionGeometry(axis, "sum")
        if accumulate {
            precondition(
                source.isReducedShape(result.shape, removing: axis),
                "Tensors.sum: accumulating into shape \(result.shape), but the reduced shape is \(source.reducedShape(removing: axis))"
            )
            result.makeUnique()
        } else if source.isReducedShape(result.shape, removing: axis) {
            result.prepare(shape: result.shape)
        } else {
            result.prepare(shape: source.reducedShape(removing: axis))
        }
        let input = source.buffer.base, out = result.buffer.base
        for o in 0..<g.outer {
            for i in 0..<g.inner {
                var total = 0.0
                var position = o * g.extent * g.inner + i
                for _ in 0..<g.extent {
                    total += Double(input[position])
                    position += g.inner
                }
                let target = o * g.inner + i
                out[target] = accumulate ? out[target] + Float(total) : Float(total)
            }
        }
    }

    /// Arithmetic mean along `axis` (NaN where the axis is empty).
    public func mean(alongAxis axis: Int) -> Tensor {
        let extent = shape.indices.contains(axis) ? shape[axis] : 1
        var result = sum(alongAxis: axis)
        result /= Float(extent)
        return result
    }

    /// Largest element along `axis`. A NaN along the axis makes the result NaN.
    public func max(alongAxis axis: Int) -> Tensor {
        let g = reductionGeometry(axis, "max")
        precondition(g.extent > 0, "Tensors.max: axis \(axis) of shape \(shape) is empty")
        let result = Tensor(uninitializedShape: reducedShape(removing: axis))
        let input = buffer.base
        for o in 0..<g.outer {
            for i in 0..<g.inner {
                var position = o * g.extent * g.inner + i
                var best = input[position]
                for _ in 1..<g.extent {
                    position += g.inner
                    let x = input[position]
                    if x > best || x.isNaN { best = x }
                    if best.isNaN { break }
                }
                result.buffer.base[o * g.inner + i] = best
            }
        }
        return result
    }

    /// Index of the largest element along `axis`, for every position of the other axes in
    /// row-major order (so `argmax(alongAxis: 1)` of `[N, C]` gives N class indices). Ties go
    /// to the first index, as numpy and PyTorch; a NaN counts as the largest.
    public func argmax(alongAxis axis: Int) -> [Int] {
        let g = reductionGeometry(axis, "argmax")
        precondition(g.extent > 0, "Tensors.argmax: axis \(axis) of shape \(shape) is empty")
        var indices = [Int](repeating: 0, count: g.outer * g.inner)
        let input = buffer.base
        for o in 0..<g.outer {
            for i in 0..<g.inner {
                let start = o * g.extent * g.inner + i
                var best = input[start], bestIndex = 0
                if !best.isNaN {
                    for k in 1..<g.extent {
                        let x = input[start + k * g.inner]
                        if x > best || x.isNaN {
                            best = x
                            bestIndex = k
                            if x.isNaN { break }
                        }
                    }
                }
                indices[o * g.inner + i] = bestIndex
            }
        }
        return indices
    }

    /// Sum of all elements (accumulated in Double).
    public func sum() -> Float {
        var total = 0.0
        for i in 0..<count { total += Double(buffer.base[i]) }
        return Float(total)
    }

    /// Mean of all elements (NaN for an empty tensor).
    public func mean() -> Float { Float(Double(sum()) / Double(count)) }

    /// Largest element.
    public func max() -> Float { reshaped([count]).max(alongAxis: 0).scalar }
}
