import Tensors

/// Where a layer's parameter lives in a ``ParameterStore``: its index in declaration order and
/// its span in the arenas.
public struct ParameterHandle: Sendable, Equatable {
    public let index: Int
    public let offset: Int
    public let count: Int
}

/// Where a layer's buffer (non-trainable state) lives in ``ParameterStore/buffers``.
public struct BufferHandle: Sendable, Equatable {
    public let offset: Int
    public let count: Int
}

/// The list of a model's parameters, built before any memory is allocated: each layer declares
/// its tensors (a dotted name and a shape) and keeps the handles it gets back.
///
/// Names are the PyTorch reference's `state_dict` keys (`seq_branch.lstm.weight_ih_l0`), so a
/// ``ParameterStore`` saves to and loads from a file that PyTorch reads with `load_state_dict`.
public struct ParameterLayout {
    public struct Entry: Equatable, Sendable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
    }

    public private(set) var entries: [Entry] = []
    /// Total number of Float32 parameters.
    public private(set) var count = 0
    /// Non-trainable state that belongs to the model (batch-norm running statistics): saved
    /// and loaded with the parameters, never touched by an optimizer or given a gradient.
    public private(set) var buffers: [Entry] = []
    /// Total number of Float32 buffer values.
    public private(set) var bufferCount = 0

    public init() {}

    /// Declares a buffer (PyTorch's `register_buffer`). Names share one namespace with parameters.
    public mutating func declareBuffer(_ name: String, shape: [Int]) -> BufferHandle {
        precondition(
            !entries.contains { $0.name == name } && !buffers.contains { $0.name == name },
            "ParameterLayout: \"\(name)\" declared twice")
        let entry = Entry(name: name, shape: shape, offset: bufferCount)
        buffers.append(entry)
        bufferCount += entry.count
        return BufferHandle(offset: entry.offset, count: entry.count)
    }

    /// Declares a parameter. Names must be unique.
    public mutating func declare(_ name: String, shape: [Int]) -> ParameterHandle {
        precondition(
            !entries.contains { $0.name == name } && !buffers.contains { $0.name == name },
            "ParameterLayout: parameter \"\(name)\" declared twice")
        precondition(shape.allSatisfy { $0 > 0 }, "ParameterLayout: parameter \"\(name)\" has shape \(shape)")
        let entry = Entry(name: name, shape: shape, offset: count)
        entries.append(entry)
        count += entry.count
        return ParameterHandle(index: entries.count - 1, offset: entry.offset, count: entry.count)
    }
}

/// Every parameter of a model and its gradient, each in one contiguous arena (llm.c's layout):
/// optimizers walk the arenas in one flat loop, `zeroGradients()` is one `memset`, and a layer
/// reaches its weights through a pointer at a fixed offset, with no per-step allocation.
///
/// Gradients *accumulate*: every backward pass adds to them, so the training loop calls
/// ``zeroGradients()`` once per step, and summing over several backward passes (sub-batches,
/// branches that share a parameter) needs no extra code.
public final class ParameterStore {
    public let layout: ParameterLayout
    /// Parameter values, `layout.count` Float32s.
    public let values: UnsafeMutablePointer<Float>
    /// Gradients, same layout as `values`.
    public let gradients: UnsafeMutablePointer<Float>
    /// Buffer values (`layout.bufferCount` Float32s).
    public let buffers: UnsafeMutablePointer<Float>

    /// Allocates zeroed arenas for `layout`.
    public init(layout: ParameterLayout) {
        self.layout = layout
        let capacity = Swift.max(layout.count, 1)
        values = UnsafeMutableRawPointer.allocate(byteCount: capacity * 4, alignment: 64).bindMemory(
            to: Float.self, capacity: capacity)
        gradients = UnsafeMutableRawPointer.allocate(byteCount: capacity * 4, alignment: 64).bindMemory(
            to: Float.self, capacity: capacity)
        values.initialize(repeating: 0, count: capacity)
        gradients.initialize(repeating: 0, count: capacity)
        let bufferCapacity = Swift.max(layout.bufferCount, 1)
        buffers = UnsafeMutableRawPointer.allocate(byteCount: bufferCapacity * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: bufferCapacity)
        buffers.initialize(repeating: 0, count: bufferCapacity)
    }

    deinit {
        UnsafeMutableRawPointer(values).deallocate()
        UnsafeMutableRawPointer(gradients).deallocate()
        UnsafeMutableRawPointer(buffers).deallocate()
    }

    /// The values of one buffer.
    @inline(__always)
    public func buffer(_ handle: BufferHandle) -> UnsafeMutablePointer<Float> { buffers + handle.offset }

    /// Total number of parameters.
    public var count: Int { layout.count }

    /// The values of one parameter.
    @inline(__always)
    public func values(_ handle: ParameterHandle) -> UnsafeMutablePointer<Float> { values + handle.offset }

    /// The gradient of one parameter.
    @inline(__always)
    public func gradients(_ handle: ParameterHandle) -> UnsafeMutablePointer<Float> { gradients + handle.offset }

    /// Sets every gradient to zero.
    public func zeroGradients() { gradients.update(repeating: 0, count: layout.count) }

    /// Fills a parameter with draws from U(−bound, bound), PyTorch's default for Linear, LSTM,
    /// GRU and RNN weights and biases (with bound = 1/√fan_in or 1/√hidden).
    public func initializeUniform(_ handle: ParameterHandle, bound: Float, using random: inout SeededRandom) {
        let target = values(handle)
        for i in 0..<handle.count { target[i] = random.uniform(in: -bound..<bound) }
    }

    /// Fills a parameter with a constant (batch-norm scale 1 and shift 0).
    public func fill(_ handle: ParameterHandle, with value: Float) {
        values(handle).update(repeating: value, count: handle.count)
    }

    // MARK: Named access (files, tests, fixtures)

    private func entry(named name: String) -> (
        entry: ParameterLayout.Entry, base: UnsafeMutablePointer<Float>, isBuffer: Bool
    )? {
        if let entry = layout.entries.first(where: { $0.name == name }) { return (entry, values, false) }
        if let entry = layout.buffers.first(where: { $0.name == name }) { return (entry, buffers, true) }
        return nil
    }

    /// A copy of a parameter's or buffer's values, by name.
    public func value(named name: String) -> Tensor? {
        guard let (entry, base, _) = entry(named: name) else { return nil }
        return Tensor(
            shape: entry.shape, scalars: Array(UnsafeBufferPointer(start: base + entry.offset, count: entry.count)))
    }

    /// A copy of a parameter's gradient, by name (nil for buffers, which have none).
    public func gradient(named name: String) -> Tensor? {
        guard let (entry, _, isBuffer) = entry(named: name), !isBuffer else { return nil }
        return Tensor(
            shape: entry.shape, scalars: Array(UnsafeBufferPointer(start: gradients + entry.offset, count: entry.count))
        )
    }

    /// Sets a parameter's or buffer's values by name; the shape must match the declaration.
    public func setValue(named name: String, to tensor: Tensor) throws {
        guard let (entry, base, _) = entry(named: name) else { throw ParameterError.unknownName(name, known: allNames) }
        guard entry.shape == tensor.shape else {
            throw ParameterError.shapeMismatch(name, expected: entry.shape, found: tensor.shape)
        }
        tensor.withUnsafeBufferPointer { (base + entry.offset).update(from: $0.baseAddress!, count: entry.count) }
    }

    /// Parameter names then buffer names, in declaration order.
    public var allNames: [String] { layout.entries.map(\.name) + layout.buffers.map(\.name) }

    /// Every parameter and buffer as a name → tensor map (a PyTorch `state_dict`).
    public func stateDictionary() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: allNames.map { ($0, value(named: $0)!) })
    }

    /// Loads every parameter and buffer from `tensors`, which must hold exactly the declared
    /// names and shapes.
    public func load(_ tensors: [String: Tensor]) throws {
        let declared = Set(allNames)
        if let extra = tensors.keys.sorted().first(where: { !declared.contains($0) }) {
            throw ParameterError.unknownName(extra, known: allNames)
        }
        for name in allNames {
            guard let tensor = tensors[name] else { throw ParameterError.missing(name) }
            try setValue(named: name, to: tensor)
        }
    }
}

/// A parameter file or assignment that does not fit the model, with the name involved.
public enum ParameterError: Error, CustomStringConvertible, Equatable {
    case unknownName(String, known: [String])
    case missing(String)
    case shapeMismatch(String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .unknownName(let name, let known):
            return "parameter \"\(name)\" is not part of this model (it has: \(known.joined(separator: ", ")))"
        case .missing(let name): return "parameter \"\(name)\" is missing"
        case .shapeMismatch(let name, let expected, let found):
            return "parameter \"\(name)\" has shape \(found), the model expects \(expected)"
        }
    }
}
