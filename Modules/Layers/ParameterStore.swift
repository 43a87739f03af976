import Tensors

/// Where a layer's parameter lives in a ``ParameterStore``: its index in declaration order and
/// its span in the arenas.
public struct ParameterHandle: Sendable, Equatable {
    public let index: Int
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

    public init() {}

    /// Declares a parameter. Names must be unique.
    public mutating func declare(_ name: String, shape: [Int]) -> ParameterHandle {
        precondition(!entries.contains { $0.name == name }, "ParameterLayout: parameter \"\(name)\" declared twice")
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

    /// Allocates zeroed arenas for `layout`.
    public init(layout: ParameterLayout) {
        self.layout = layout
        let capacity = Swift.max(layout.count, 1)
        values = UnsafeMutableRawPointer.allocate(byteCount: capacity * 4, alignment: 64).bindMemory(to: Float.self, capacity: capacity)
        gradients = UnsafeMutableRawPointer.allocate(byteCount: capacity * 4, alignment: 64).bindMemory(to: Float.self, capacity: capacity)
        values.initialize(repeating: 0, count: capacity)
        gradients.initialize(repeating: 0, count: capacity)
    }

    deinit {
        UnsafeMutableRawPointer(values).deallocate()
        UnsafeMutableRawPointer(gradients).deallocate()
    }

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

    private func entry(named name: String) -> (Int, ParameterLayout.Entry)? {
        guard let index = layout.entries.firstIndex(where: { $0.name == name }) else { return nil }
        return (index, layout.entries[index])
    }

    /// A copy of a parameter's values, by name.
    public func value(named name: String) -> Tensor? {
        guard let (_, entry) = entry(named: name) else { return nil }
        return Tensor(shape: entry.shape, scalars: Array(UnsafeBufferPointer(start: values + entry.offset, count: entry.count)))
    }

    /// A copy of a parameter's gradient, by name.
    public func gradient(named name: String) -> Tensor? {
        guard let (_, entry) = entry(named: name) else { return nil }
        return Tensor(shape: entry.shape, scalars: Array(UnsafeBufferPointer(start: gradients + entry.offset, count: entry.count)))
    }

    /// Sets a parameter's values by name; the shape must match the declaration.
    public func setValue(named name: String, to tensor: Tensor) throws {
        guard let (_, entry) = entry(named: name) else { throw ParameterError.unknownName(name, known: layout.entries.map(\.name)) }
        guard entry.shape == tensor.shape else { throw ParameterError.shapeMismatch(name, expected: entry.shape, found: tensor.shape) }
        tensor.withUnsafeBufferPointer { (values + entry.offset).update(from: $0.baseAddress!, count: entry.count) }
    }

    /// Every parameter as a name → tensor map (a PyTorch `state_dict`).
    public func stateDictionary() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: layout.entries.map { ($0.name, value(named: $0.name)!) })
    }

    /// Loads every parameter from `tensors`, which must hold exactly the declared names and shapes.
    public func load(_ tensors: [String: Tensor]) throws {
        let declared = Set(layout.entries.map(\.name))
        if let extra = tensors.keys.sorted().first(where: { !declared.contains($0) }) {
            throw ParameterError.unknownName(extra, known: layout.entries.map(\.name))
        }
        for entry in layout.entries {
            guard let tensor = tensors[entry.name] else { throw ParameterError.missing(entry.name) }
            try setValue(named: entry.name, to: tensor)
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
