import Foundation

/// Wall-clock timing helpers for release-mode benchmarks.
public enum Measurement {
    /// Monotonic seconds.
    @inline(__always)
    public static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    /// How many calls of `body` take about `seconds` (at least 3), from a short trial.
    ///
    /// The first call is left out of the trial: it pays the one-time costs (oneDNN compiling its
    /// kernels, pages touched for the first time), tens of milliseconds against a call's
    /// fraction of one, which made the measured windows a small part of what was asked for.
    /// The trial then doubles its count until it lasts long enough to time.
    public static func iterations(toFill seconds: Double, _ body: () -> Void) -> Int {
        body()
        let trialSeconds = Swift.min(0.05, seconds / 4)
        var count = 1
        while true {
            let elapsed = time(count, body)
            if elapsed >= trialSeconds || count >= 1 << 24 {
                return Swift.max(3, Int(seconds * Double(count) / Swift.max(elapsed, 1e-9)))
            }
            count *= 2
        }
    }

    /// Seconds for `count` calls of `body`.
    public static func time(_ count: Int, _ body: () -> Void) -> Double {
        let start = now()
        for _ in 0..<count { body() }
        return now() - start
    }
}

/// Median, minimum and maximum of repeated measurements.
public struct Summary: Codable, Equatable {
    public let median: Double
    public let min: Double
    public let max: Double
    public let n: Int

    public init(_ samples: [Double]) {
        precondition(!samples.isEmpty, "Summary: no samples")
        let sorted = samples.sorted()
        let middle = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        min = sorted[0]
        max = sorted[sorted.count - 1]
        n = sorted.count
    }
}
