import COpenBLAS
import Foundation
import Tensors

/// Single-precision matrix-product throughput through the Tensors API, next to the same
/// `cblas_sgemm` call made directly (the wrapper's cost) and numpy's figure from
/// `../shared/bench/gemm_reference.py` (the reference).
///
/// The API is measured with its products on OpenBLAS (`BLAS.withLibrary(.openBLAS)`), the
/// library of the direct call and of numpy, at the thread count of the row: the ratios then
/// say what the wrapper costs. The choice of oneDNN for the tools' products is measured on the
/// engine's own shapes (Docs/PERFORMANCE.md, "oneDNN for the products").
public enum GEMMBenchmark {
    /// `(M, K, N)`: `(M×K)·(K×N)`. 1024², then the LSTM step shapes at batch 64 and 4096, in
    /// the order gemm_reference.py times them (order matters here: see ``warmUp(seconds:)``).
    public static let shapes: [(m: Int, k: Int, n: Int)] = [
        (1024, 1024, 1024), (64, 192, 512), (64, 256, 512), (4096, 192, 512)
    ]

    /// Keeps the cores busy with 1024² products for `seconds` before measuring.
    ///
    /// On the 2-core cloud machines this project runs on, a small product measured from idle
    /// runs at about two thirds of the rate it reaches after a few seconds of sustained work
    /// (23 vs 35 GFLOP/s for (64×192)·(192×512), numpy and Revisit alike), and the rate decays
    /// again within seconds of idling. gemm_reference.py measures its small shapes right after
    /// the large ones, i.e. warm; Revisit measures warm too, so the ratio compares libraries,
    /// not machine states.
    public static func warmUp(seconds: Double) {
        guard seconds > 0 else { return }
        var random = SeededRandom(seed: 1)
        let a = Tensor.normal([1024, 1024], using: &random)
        var c = Tensor.zeros([1024, 1024])
        let start = Measurement.now()
        BLAS.withLibrary(.openBLAS) {
            while Measurement.now() - start < seconds { Tensor.matmul(a, a, into: &c) }
        }
    }

    /// One shape at one thread count.
    public struct Row: Codable {
        public let shape: String
        public let threads: Int
        /// GFLOP/s through `Tensor.matmul(_:_:into:)`.
        public let tensorsAPI: Summary
        /// GFLOP/s through `cblas_sgemm` on the same buffers.
        public let directCBLAS: Summary
    }

    /// The shape label used by gemm_reference.py, so rows can be joined.
    public static func label(_ m: Int, _ k: Int, _ n: Int) -> String { "(\(m)x\(k))@(\(k)x\(n))" }

    /// Measures every shape at each thread count. Repetitions alternate between the API and
    /// the direct call, so machine drift affects both alike.
    public static func run(
        threadCounts: [Int], repetitions: Int, secondsPerRepetition: Double, warmUpSeconds: Double = 3,
        progress: (String) -> Void
    ) -> [Row] {
        var rows: [Row] = []
        var random = SeededRandom(seed: 0)
        for threads in threadCounts {
            BLAS.threadCount = threads
            warmUp(seconds: warmUpSeconds)
            for (m, k, n) in shapes {
                let a = Tensor.normal([m, k], using: &random)
                let b = Tensor.normal([k, n], using: &random)
                var c = Tensor.zeros([m, n])
                var direct = Tensor.zeros([m, n])
                let flop = 2.0 * Double(m) * Double(k) * Double(n)
                let throughAPI = { BLAS.withLibrary(.openBLAS) { Tensor.matmul(a, b, into: &c) } }
                let throughCBLAS = {
                    a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            direct.withUnsafeMutableBufferPointer { pc in
                                cblas_sgemm(
                                    CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(m), blasint(n), blasint(k),
                                    1, pa.baseAddress, blasint(k), pb.baseAddress, blasint(n), 0, pc.baseAddress,
                                    blasint(n))
                            }
                        }
                    }
                }
                let count = Measurement.iterations(toFill: secondsPerRepetition, throughAPI)
                _ = Measurement.time(count / 3 + 1, throughCBLAS)  // warm every path
                var api: [Double] = [], cblas: [Double] = []
                for _ in 0..<repetitions {
                    api.append(flop * Double(count) / Measurement.time(count, throughAPI) / 1e9)
                    cblas.append(flop * Double(count) / Measurement.time(count, throughCBLAS) / 1e9)
                }
                let row = Row(
                    shape: label(m, k, n), threads: threads, tensorsAPI: Summary(api), directCBLAS: Summary(cblas))
                progress(
                    String(
                        format: "%@ %d thr: API %.1f, direct %.1f GFLOP/s", row.shape, threads, row.tensorsAPI.median,
                        row.directCBLAS.median))
                rows.append(row)
            }
        }
        return rows
    }

    /// numpy's median GFLOP/s per (shape, threads) from gemm_reference.py's `GEMM_JSON` output.
    public static func referenceMedians(fromJSON data: Data) throws -> [String: Double] {
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let rows = root["rows"] as? [[String: Any]]
        else {
            throw BenchmarkError(
                "gemm reference JSON has no `rows` array (was it written by gemm_reference.py with GEMM_JSON set?)")
        }
        var medians: [String: Double] = [:]
        for row in rows {
            guard let shape = row["shape"] as? String, let threads = row["threads"] as? Int,
                let numpy = row["numpy"] as? [String: Any], let median = numpy["median"] as? Double
            else { continue }
            medians["\(shape)/\(threads)"] = median
        }
        return medians
    }

    /// The side-by-side table, as Markdown.
    public static func table(swift runs: [[Row]], reference: [String: Double]?) -> String {
        var lines = [
            "| shape | threads | Tensors API GFLOP/s | direct cblas_sgemm | API / direct | numpy GFLOP/s | API / numpy |",
            "|---|---:|---:|---:|---:|---:|---:|"
        ]
        guard let first = runs.first else { return lines.joined(separator: "\n") }
        for (index, row) in first.enumerated() {
            // Pool the medians of every Swift run (before and after the reference) for this row.
            let api = Summary(runs.map { $0[index].tensorsAPI.median }).median
            let direct = Summary(runs.map { $0[index].directCBLAS.median }).median
            var line = String(
                format: "| %@ | %d | %.1f | %.1f | %.3f |", row.shape, row.threads, api, direct, api / direct)
            if let numpy = reference?["\(row.shape)/\(row.threads)"] {
                line += String(format: " %.1f | %.2f |", numpy, api / numpy)
            } else {
                line += " – | – |"
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}

/// A benchmark that cannot run, with the reason.
public struct BenchmarkError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
