import ERPImport

#if FUZZING
    /// libFuzzer's entry point: one input through the CSV reader and the row validator.
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
        Fuzzing.csv(Array(UnsafeBufferPointer(start: data, count: size)))
        return 0
    }

    /// libFuzzer's driver (from libclang_rt.fuzzer).
    @_silgen_name("LLVMFuzzerRunDriver")
    func runFuzzerDriver(
        _ argc: UnsafeMutablePointer<Int32>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
    ) -> Int32

    /// SwiftPM links an executable target's entry point as `<Target>_main`; hand it to libFuzzer.
    @_cdecl("FuzzCSV_main")
    public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
        var count = argc
        var arguments = argv
        return runFuzzerDriver(&count, &arguments) { data, size in fuzzCSV(data, size) }
    }
#else
    #if canImport(Glibc)
        import Glibc
    #endif

    /// Without the fuzzer flags there is no libFuzzer `main`: say how to build the real harness.
    @main
    struct FuzzCSVUsage {
        static func main() {
            let message =
                "fuzz-csv is a libFuzzer harness; run `make fuzz` (both readers, with the invariant oracle), or build it with\n"
                + "  swift build -c debug --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING --product fuzz-csv\n"
                + "(see CONTRIBUTING.md)\n"
            _ = message.withCString { write(2, $0, strlen($0)) }
            exit(1)
        }
    }
#endif
