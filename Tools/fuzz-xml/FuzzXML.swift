import ERPImport

#if FUZZING
    /// libFuzzer's entry point: one input through the XML reader and the row validator.
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzXML(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
        Fuzzing.xml(Array(UnsafeBufferPointer(start: data, count: size)))
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
    @_cdecl("FuzzXML_main")
    public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
        var count = argc
        var arguments = argv
        return runFuzzerDriver(&count, &arguments) { data, size in fuzzXML(data, size) }
    }
#else
    #if canImport(Glibc)
        import Glibc
    #endif

    /// Without the fuzzer flags there is no libFuzzer `main`: say how to build the real harness.
    @main
    struct FuzzXMLUsage {
        static func main() {
            let message =
                "fuzz-xml is a libFuzzer harness; run `make fuzz` (both readers, with the invariant oracle), or build it with\n"
                + "  swift build -c debug --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING --product fuzz-xml\n"
                + "(see CONTRIBUTING.md)\n"
            _ = message.withCString { write(2, $0, strlen($0)) }
            exit(1)
        }
    }
#endif
