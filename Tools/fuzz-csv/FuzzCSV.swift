import ERPImport

#if FUZZING
/// libFuzzer's entry point: one input through the CSV reader and the row validator.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    Fuzzing.csv(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
#if canImport(Glibc)
import Glibc
#endif

/// Without the fuzzer flags there is no libFuzzer `main`: say how to build the real harness.
@main
struct FuzzCSVUsage {
    static func main() {
        let message = "fuzz-csv is a libFuzzer harness; build it with\n"
            + "  swift build -c debug --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING --product fuzz-csv\n"
            + "(see CONTRIBUTING.md)\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        exit(1)
    }
}
#endif
