import ERPImport

#if FUZZING
/// libFuzzer's entry point: one input through the XML reader and the row validator.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzXML(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    Fuzzing.xml(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
#if canImport(Glibc)
import Glibc
#endif

/// Without the fuzzer flags there is no libFuzzer `main`: say how to build the real harness.
@main
struct FuzzXMLUsage {
    static func main() {
        let message = "fuzz-xml is a libFuzzer harness; build it with\n"
            + "  swift build -c debug --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING --product fuzz-xml\n"
            + "(see CONTRIBUTING.md)\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        exit(1)
    }
}
#endif
