import CMemoryHints

#if canImport(Glibc)
    import Glibc
#endif

/// A failure to spill or read back a sorted run (disk full, a directory that cannot be written).
public struct ExternalSortError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// Sorts any number of records by a byte key in bounded memory: an external merge sort.
///
/// Records (a key and a payload, both bytes) are gathered in one arena until it reaches the
/// memory budget; the arena is then sorted and written out as a *run*, a file in `directory`,
/// and reused. ``sorted()`` merges the runs (a k-way merge over a binary heap, with one read
/// buffer per run; more runs than the fan-in the budget allows are merged in several passes).
/// When everything fits, nothing touches the disk.
///
/// Order: keys compare as bytes (`memcmp`, shorter prefix first); equal keys keep the order in
/// which they were appended (every record carries its sequence number), so the output is a
/// deterministic function of the appended sequence. Callers build keys whose byte order is
/// the order they want (``SortKey``).
///
/// Memory: the arena (key + payload + 16 bytes per record) plus the sort entries (16 bytes per
/// record) stay under `memoryBudget`; a merge holds one read buffer per run, together at most
/// a quarter of the budget. The run files are removed by ``sorted()``'s stream when it ends
/// or is released, and by `deinit`.
///
/// Layout of a record, in the arena and in a run file: `u32 keyLength, u32 payloadLength,
/// u64 sequence, key, payload` (little-endian).
public final class ExternalSorter {
    public let directory: String
    public let label: String
    public let memoryBudget: Int

    private var arena: UnsafeMutableRawPointer?
    private var arenaCapacity = 0
    private var arenaUsed = 0
    /// Per record: the first 8 key bytes as a big-endian integer (most comparisons end there,
    /// without touching the arena) and the record's offset in the arena.
    private var entries: [Entry] = []
    private var sequence: UInt64 = 0
    private var runs: [String] = []
    private var runCounter = 0
    private var finished = false

    /// Records appended so far.
    public private(set) var count = 0
    /// Runs written to disk so far (0 when everything fitted in memory).
    public var spilledRuns: Int { runCounter }

    static let headerBytes = 16

    /// - Parameters:
    ///   - directory: where runs are written (an existing directory, on a file system with room
    ///     for about the data's size).
    ///   - label: the run files' name prefix.
    ///   - memoryBudget: bytes; at least 1 MiB.
    public init(directory: String, label: String, memoryBudget: Int) {
        self.directory = directory
        self.label = label
        self.memoryBudget = max(memoryBudget, 1 << 20)
    }

    deinit {
        free(arena)
        for run in runs { unlink(run) }
    }

    /// Appends one record. The bytes are copied.
    public func append(key: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) throws {
        precondition(!finished, "ExternalSorter.append after sorted()")
        let size = Self.headerBytes + key.count + payload.count
        if arenaUsed + size + (entries.count + 1) * MemoryLayout<Entry>.stride > memoryBudget && !entries.isEmpty {
            try spill()
        }
        if arenaUsed + size > arenaCapacity {
            // realloc: on Linux a large block grows by remapping pages, not by copying them, so
            // growth does not hold two arenas at once.
            let wanted = max(arenaUsed + size, min(max(arenaCapacity * 2, 1 << 20), memoryBudget))
            guard let grown = realloc(arena, wanted) else {
                throw ExternalSortError(path: directory, reason: "cannot allocate \(wanted) bytes for sorting")
            }
            arena = grown
            arenaCapacity = wanted
        }
        let base = arena! + arenaUsed
        base.storeBytes(of: UInt32(key.count).littleEndian, toByteOffset: 0, as: UInt32.self)
        base.storeBytes(of: UInt32(payload.count).littleEndian, toByteOffset: 4, as: UInt32.self)
        base.storeBytes(of: sequence.littleEndian, toByteOffset: 8, as: UInt64.self)
        if key.count > 0 { (base + Self.headerBytes).copyMemory(from: key.baseAddress!, byteCount: key.count) }
        if payload.count > 0 {
            (base + Self.headerBytes + key.count).copyMemory(from: payload.baseAddress!, byteCount: payload.count)
        }
        entries.append(Entry(key: key, offset: arenaUsed))
        arenaUsed += size
        sequence += 1
        count += 1
    }

    public func append(key: [UInt8], payload: [UInt8]) throws {
        try key.withUnsafeBytes { k in try payload.withUnsafeBytes { p in try append(key: k, payload: p) } }
    }

    /// Ends appending and returns the records in key order. The sorter's memory moves to the
    /// stream; the sorter itself can only be released afterwards.
    public func sorted() throws -> SortedRecords {
        precondition(!finished, "ExternalSorter.sorted() called twice")
        finished = true
        if runs.isEmpty {
            sortArena()
            let stream = SortedRecords(memory: arena, entries: entries)
            arena = nil
            entries = []
            return stream
        }
        if !entries.isEmpty { try spill() }
        free(arena)
        arena = nil
        arenaCapacity = 0
        entries = []
        // Fan-in: every run being merged holds one read buffer; together at most a quarter of
        // the budget, and never fewer than two runs at a time.
        let bufferBytes = 256 << 10
        let fanIn = max(2, min(1024, memoryBudget / 4 / bufferBytes))
        var queue = runs
        runs = []
        while queue.count > fanIn {
            let group = Array(queue.prefix(fanIn))
            queue.removeFirst(fanIn)
            let merged = try nextRunPath()
            let writer = try RunWriter(path: merged)
            let stream = try SortedRecords(runs: group, bufferBytes: bufferBytes)
            while let record = try stream.next() {
                try writer.write(key: record.key, payload: record.payload, sequence: record.sequence)
            }
            try writer.close()
            // Merged runs go to the back: sequence numbers, not run order, decide ties.
            queue.append(merged)
        }
        return try SortedRecords(runs: queue, bufferBytes: bufferBytes)
    }

    private func nextRunPath() throws -> String {
        runCounter += 1
        return "\(directory)/\(label)-\(getpid())-\(runCounter).run"
    }

    private func sortArena() {
        guard let base = arena else { return }
        entries.sort { a, b in a.precedes(b, in: base) }
    }

    static func precedes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer) -> Bool {
        let order = compare(a, b)
        if order != 0 { return order < 0 }
        return UInt64(littleEndian: a.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            < UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
    }

    /// memcmp order of the two records' keys, shorter first on a common prefix.
    static func compare(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer) -> Int32 {
        let aLength = Int(UInt32(littleEndian: a.loadUnaligned(as: UInt32.self)))
        let bLength = Int(UInt32(littleEndian: b.loadUnaligned(as: UInt32.self)))
        let common = min(aLength, bLength)
        let order = common == 0 ? 0 : memcmp(a + headerBytes, b + headerBytes, common)
        if order != 0 { return order }
        return aLength == bLength ? 0 : (aLength < bLength ? -1 : 1)
    }

    private func spill() throws {
        sortArena()
        let path = try nextRunPath()
        let writer = try RunWriter(path: path)
        runs.append(path)
        let base = arena!
        for entry in entries {
            let record = base + entry.offset
            let size =
                Self.headerBytes + Int(UInt32(littleEndian: record.loadUnaligned(as: UInt32.self)))
                + Int(UInt32(littleEndian: record.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
            try writer.writeRaw(UnsafeRawBufferPointer(start: record, count: size))
        }
        try writer.close()
        entries.removeAll(keepingCapacity: true)
        arenaUsed = 0
    }
}

/// A record's place in the arena, with the start of its key.
///
/// Sixteen bytes of the key, not eight: the importer's by-customer key is the customer id and
/// then the visit date, so with eight bytes every visit of one customer tied on the prefix and
/// the sort compared those in full, a cache miss into the arena each time.
struct Entry {
    /// Key bytes 0..<8 and 8..<16, big-endian, zero-padded: prefixes order as the keys do, and
    /// keys with equal prefixes are compared in full.
    var high: UInt64
    var low: UInt64
    var offset: Int

    init(key: UnsafeRawBufferPointer, offset: Int) {
        high = Self.word(of: key, from: 0)
        low = Self.word(of: key, from: 8)
        self.offset = offset
    }

    private static func word(of key: UnsafeRawBufferPointer, from start: Int) -> UInt64 {
        if key.count >= start + 8 {
            return UInt64(bigEndian: key.loadUnaligned(fromByteOffset: start, as: UInt64.self))
        }
        var value: UInt64 = 0
        for index in start..<start + 8 { value = value << 8 | UInt64(index < key.count ? key[index] : 0) }
        return value
    }

    /// Whether `self`'s record sorts before `other`'s (`base`: the arena).
    @inline(__always)
    func precedes(_ other: Entry, in base: UnsafeMutableRawPointer) -> Bool {
        if high != other.high { return high < other.high }
        if low != other.low { return low < other.low }
        return ExternalSorter.precedes(base + offset, base + other.offset)
    }
}

/// One record of a ``SortedRecords`` stream: views valid until the stream's next `next()`.
public struct SortedRecord {
    public let key: UnsafeRawBufferPointer
    public let payload: UnsafeRawBufferPointer
    /// The record's position in the order it was appended.
    public let sequence: UInt64
}

/// The records of an ``ExternalSorter`` in key order, read once.
public final class SortedRecords {
    // In memory: the sorted arena itself.
    private var memory: UnsafeMutableRawPointer?
    private var entries: [Entry] = []
    private var position = 0
    // Spilled: one reader per run and a binary heap of run indices.
    private var readers: [RunReader] = []
    private var heap: [Int] = []
    private var merging = false
    private var runPaths: [String] = []
    private var started = false

    /// How many records ahead the in-memory stream prefetches.
    static let prefetchDistance = 8

    init(memory: UnsafeMutableRawPointer?, entries: [Entry]) {
        self.memory = memory
        self.entries = entries
    }

    init(runs: [String], bufferBytes: Int) throws {
        runPaths = runs
        merging = true
        for path in runs { readers.append(try RunReader(path: path, bufferBytes: bufferBytes)) }
    }

    deinit {
        free(memory)
        for path in runPaths { unlink(path) }
    }

    /// The next record, or nil at the end (the run files are removed then).
    public func next() throws -> SortedRecord? {
        guard merging else {
            guard position < entries.count, let base = memory else {
                free(memory)
                memory = nil
                entries = []
                return nil
            }
            position += 1
            // The entries are in key order, the records they point at scattered over the
            // arena: start loading the record a few steps ahead (a record is a few cache lines).
            if position + Self.prefetchDistance <= entries.count {
                let ahead = UnsafeRawPointer(base + entries[position + Self.prefetchDistance - 1].offset)
                revisit_prefetch(ahead)
                revisit_prefetch(ahead + 64)
                revisit_prefetch(ahead + 128)
            }
            return Self.view(base + entries[position - 1].offset)
        }
        if !started {
            started = true
            for index in readers.indices where try readers[index].advance() { heap.append(index) }
            for index in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(&heap, index, readers) }
        } else if !heap.isEmpty {
            // The previous record came from heap[0]: move that run on.
            if try readers[heap[0]].advance() {
                siftDown(&heap, 0, readers)
            } else {
                heap[0] = heap[heap.count - 1]
                heap.removeLast()
                if !heap.isEmpty { siftDown(&heap, 0, readers) }
            }
        }
        guard let top = heap.first else {
            for path in runPaths { unlink(path) }
            runPaths = []
            readers = []
            return nil
        }
        return Self.view(readers[top].current!)
    }

    private func siftDown(_ heap: inout [Int], _ start: Int, _ readers: [RunReader]) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            if left >= heap.count { return }
            var smallest = left
            let right = left + 1
            if right < heap.count, ExternalSorter.precedes(readers[heap[right]].current!, readers[heap[left]].current!)
            {
                smallest = right
            }
            guard ExternalSorter.precedes(readers[heap[smallest]].current!, readers[heap[parent]].current!) else {
                return
            }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }

    static func view(_ record: UnsafeRawPointer) -> SortedRecord {
        let keyLength = Int(UInt32(littleEndian: record.loadUnaligned(as: UInt32.self)))
        let payloadLength = Int(UInt32(littleEndian: record.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        let sequence = UInt64(littleEndian: record.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let key = UnsafeRawBufferPointer(start: record + ExternalSorter.headerBytes, count: keyLength)
        let payload = UnsafeRawBufferPointer(
            start: record + ExternalSorter.headerBytes + keyLength, count: payloadLength)
        return SortedRecord(key: key, payload: payload, sequence: sequence)
    }
}

/// A run file being written, through a 1 MiB buffer.
final class RunWriter {
    let path: String
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    /// One record's header, reused (a merge pass writes every record through it).
    private var header = [UInt8](repeating: 0, count: ExternalSorter.headerBytes)

    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ExternalSortError(path: path, reason: "cannot create a sort run: \(errnoText())")
        }
        buffer.reserveCapacity(1 << 20)
    }

    deinit { if descriptor >= 0 { Glibc.close(descriptor) } }

    func writeRaw(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count > 1 << 20 { try flush() }
        if bytes.count > 1 << 20 {
            try writeAll(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    func write(key: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, sequence: UInt64) throws {
        header.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(key.count).littleEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: UInt32(payload.count).littleEndian, toByteOffset: 4, as: UInt32.self)
            raw.storeBytes(of: sequence.littleEndian, toByteOffset: 8, as: UInt64.self)
        }
        try header.withUnsafeBytes { try writeRaw($0) }
        try writeRaw(key)
        try writeRaw(payload)
    }

    private func flush() throws {
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw ExternalSortError(path: path, reason: "cannot write a sort run: \(errnoText())")
            }
            offset += written
        }
    }

    func close() throws {
        try flush()
        let result = Glibc.close(descriptor)
        descriptor = -1
        guard result == 0 else {
            throw ExternalSortError(path: path, reason: "cannot write a sort run: \(errnoText())")
        }
    }
}

/// A run file being read, one record at a time, through a buffer that grows for a record
/// larger than itself.
final class RunReader {
    let path: String
    private var descriptor: Int32
    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    private var start = 0
    private var end = 0
    private var atEOF = false
    /// The record ``advance()`` stopped on.
    private(set) var current: UnsafeRawPointer?

    init(path: String, bufferBytes: Int) throws {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ExternalSortError(path: path, reason: "cannot open a sort run: \(errnoText())")
        }
        capacity = bufferBytes
        buffer = malloc(bufferBytes)!
    }

    deinit {
        free(buffer)
        if descriptor >= 0 { close(descriptor) }
    }

    /// Moves to the next record; false at the end of the run.
    func advance() throws -> Bool {
        if current != nil { start += recordSize(at: start) }
        current = nil
        guard try fill(ExternalSorter.headerBytes) else { return false }
        let size = recordSize(at: start)
        guard try fill(size) else {
            throw ExternalSortError(path: path, reason: "sort run ends inside a record (was it changed?)")
        }
        current = UnsafeRawPointer(buffer + start)
        return true
    }

    private func recordSize(at offset: Int) -> Int {
        let record = UnsafeRawPointer(buffer + offset)
        return ExternalSorter.headerBytes + Int(UInt32(littleEndian: record.loadUnaligned(as: UInt32.self)))
            + Int(UInt32(littleEndian: record.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
    }

    /// Makes `count` bytes from `start` available; false when the run ends first (clean end
    /// only when no byte of a record was read).
    private func fill(_ count: Int) throws -> Bool {
        while end - start < count {
            if atEOF {
                if end == start { return false }
                throw ExternalSortError(path: path, reason: "sort run ends inside a record (was it changed?)")
            }
            if start > 0 {
                if end > start { memmove(buffer, buffer + start, end - start) }
                end -= start
                start = 0
            }
            if count > capacity {
                capacity = max(count, capacity * 2)
                buffer = realloc(buffer, capacity)!
            }
            let got = read(descriptor, buffer + end, capacity - end)
            if got < 0 {
                if errno == EINTR { continue }
                throw ExternalSortError(path: path, reason: "cannot read a sort run: \(errnoText())")
            }
            if got == 0 { atEOF = true } else { end += got }
        }
        return true
    }
}

func errnoText() -> String { String(cString: strerror(errno)) }
