import Dataset
import Formats
import Foundation

/// Writes a `SimulatedExport` as files in the default ERP layouts of BRIEF §4, plus the ground
/// truth, the inbound orders and a manifest (`Docs/FileFormats.md`, "Simulated exports").
/// Every file goes through `AtomicFile`, streamed in chunks; the manifest is written last, so
/// its presence marks a complete export.
public enum SynthWriter {
    /// Version of the layout of `ground_truth.csv`, `inbound_orders.csv` and `synth.json`.
    public static let formatVersion = 2

    /// The files written, in the order they are written.
    public static let fileNames = [
        "customers.csv", "customers.xml", "visits.csv", "visits.xml", "inbound_orders.csv", "ground_truth.csv",
        "synth.json"
    ]

    /// Writes every file into `directory` (created when missing); `includeXML: false` skips
    /// `customers.xml` and `visits.xml` (the bundled sample ships CSV only, to stay small).
    /// - Throws: `AtomicWriteError` or a file-system error naming the path.
    public static func write(_ export: SimulatedExport, to directory: String, includeXML: Bool = true) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ids = Identifiers(export)
        let dates = (0..<export.configuration.days).map {
            Array(export.configuration.start.advanced(by: $0).description.utf8)
        }
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        // Vocabulary spellings as bytes, looked up by raw value in the row loops.
        let methods = VisitMethod.allCases.map { Array($0.code.utf8) }
        let targets = VisitTarget.allCases.map { Array($0.code.utf8) }
        let purposes = VisitPurpose.allCases.map { Array($0.code.utf8) }
        let results = VisitResult.allCases.map { Array($0.code.utf8) }

        try stream(to: path("customers.csv")) { out in
            out.append("customer_id,customer_type,industry,tag\n")
            for (index, customer) in export.customers.enumerated() {
                out.append(ids.customer[index]); out.append(",")
                out.append(customer.type.code); out.append(",")
                out.append(customer.industry.code); out.append(",")
                out.append(customer.tag.code); out.append("\n")
                try out.flushIfFull()
            }
        }
        if includeXML {
            try stream(to: path("customers.xml")) { out in
                out.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CustomerExport>\n")
                for (index, customer) in export.customers.enumerated() {
                    out.append("<Customer id=\""); out.append(ids.customer[index])
                    out.append("\"><Type>"); out.append(customer.type.code)
                    out.append("</Type><Industry>"); out.append(customer.industry.code)
                    out.append("</Industry><Tag>"); out.append(customer.tag.code); out.append("</Tag></Customer>\n")
                    try out.flushIfFull()
                }
                out.append("</CustomerExport>\n")
            }
        }
        try stream(to: path("visits.csv")) { out in
            out.append("visit_id,customer_id,rep_id,visit_date,method,target,purpose,result,notes\n")
            for (index, visit) in export.visits.enumerated() {
                out.append(ids.visit(index)); out.append(",")
                out.append(ids.customer[Int(visit.customer)]); out.append(",")
                out.append(ids.rep[Int(visit.rep)]); out.append(",")
                out.append(dates[Int(visit.day)]); out.append(",")
                out.append(methods[Int(visit.method.rawValue)]); out.append(",")
                out.append(targets[Int(visit.target.rawValue)]); out.append(",")
                out.append(purposes[Int(visit.purpose.rawValue)]); out.append(",")
                out.append(results[Int(visit.result.rawValue)]); out.append(",")
                // VisitNote's phrases hold no comma, quote or line break: never quoted.
                out.append(Array(visit.note.utf8)); out.append("\n")
                try out.flushIfFull()
            }
        }
        if includeXML {
            try stream(to: path("visits.xml")) { out in
                out.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VisitExport>\n")
                for (index, visit) in export.visits.enumerated() {
                    out.append("<Visit id=\""); out.append(ids.visit(index))
                    out.append("\"><CustomerId>"); out.append(ids.customer[Int(visit.customer)])
                    out.append("</CustomerId><RepId>"); out.append(ids.rep[Int(visit.rep)])
                    out.append("</RepId><Date>"); out.append(dates[Int(visit.day)])
                    out.append("</Date><Method>"); out.append(methods[Int(visit.method.rawValue)])
                    out.append("</Method><Target>"); out.append(targets[Int(visit.target.rawValue)])
                    out.append("</Target><Purpose>"); out.append(purposes[Int(visit.purpose.rawValue)])
                    out.append("</Purpose><Result>"); out.append(results[Int(visit.result.rawValue)])
                    out.append("</Result><Notes>"); out.append(visit.note); out.append("</Notes></Visit>\n")
                    try out.flushIfFull()
                }
                out.append("</VisitExport>\n")
            }
        }
        try stream(to: path("inbound_orders.csv")) { out in
            out.append("customer_id,order_date,rep_id\n")
            for order in export.inboundOrders {
                out.append(ids.customer[Int(order.customer)]); out.append(",")
                out.append(dates[Int(order.day)]); out.append(",")
                out.append(ids.rep[Int(order.rep)]); out.append("\n")
                try out.flushIfFull()
            }
        }
        let truth = export.groundTruth
        try stream(to: path("ground_truth.csv")) { out in
            out.append("customer_id,as_of,p_order,ordered,p_visit_order,visit_ordered\n")
            for monday in 0..<truth.mondays {
                let date = dates[monday * 7]
                for customer in 0..<truth.customers {
                    let index = monday * truth.customers + customer
                    out.append(ids.customer[customer]); out.append(",")
                    out.append(date); out.append(",")
                    out.appendProbability(truth.probability[index]); out.append(",")
                    out.append(truth.ordered[index] ? "1," : "0,")
                    out.appendProbability(truth.visitProbability[index]); out.append(",")
                    out.append(truth.visitOrdered[index] ? "1\n" : "0\n")
                    try out.flushIfFull()
                }
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var manifest = try encoder.encode(Manifest(export))
        manifest.append(UInt8(ascii: "\n"))
        try AtomicFile.write(manifest, to: path("synth.json"))
    }

    /// The manifest `synth.json`: format versions, every setting (seed included) and row counts.
    struct Manifest: Encodable {
        let format = "revisit-synth"
        let formatVersion = SynthWriter.formatVersion
        let groundTruth: [String: String]
        let settings: SynthConfiguration
        let rows: [String: Int]

        init(_ export: SimulatedExport) {
            let truth = export.groundTruth
            groundTruth = [
                "horizon_days": String(export.configuration.horizonDays),
                "first_as_of": export.configuration.start.description,
                "last_as_of": export.configuration.start.advanced(by: max(0, truth.mondays - 1) * 7).description
            ]
            settings = export.configuration
            rows = [
                "customers.csv": export.customers.count, "visits.csv": export.visits.count,
                "inbound_orders.csv": export.inboundOrders.count, "ground_truth.csv": truth.mondays * truth.customers
            ]
        }
    }

    /// Zero-padded identifiers (`C000123`, `R017`, `V0000001`), wide enough for the counts so
    /// that they sort as text in the order of their numbers.
    struct Identifiers {
        let customer: [[UInt8]]
        let rep: [[UInt8]]
        let visitWidth: Int

        init(_ export: SimulatedExport) {
            func width(_ count: Int, minimum: Int) -> Int { max(minimum, String(count).count) }
            let customerWidth = width(export.customers.count, minimum: 6)
            let repWidth = width(export.reps.count, minimum: 3)
            customer = (0..<export.customers.count).map { Identifiers.make("C", $0 + 1, customerWidth) }
            rep = (0..<export.reps.count).map { Identifiers.make("R", $0 + 1, repWidth) }
            visitWidth = width(export.visits.count, minimum: 7)
        }

        func visit(_ index: Int) -> [UInt8] { Identifiers.make("V", index + 1, visitWidth) }

        static func make(_ prefix: Character, _ number: Int, _ width: Int) -> [UInt8] {
            var digits = [UInt8](repeating: UInt8(ascii: "0"), count: width + 1)
            digits[0] = UInt8(prefix.asciiValue!)
            var value = number
            var position = width
            while value > 0 && position > 0 {
                digits[position] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
                position -= 1
            }
            return digits
        }
    }

    /// A byte buffer that flushes to the file descriptor every 1 MiB.
    struct Output {
        let fd: Int32
        let path: String
        var bytes: [UInt8] = []

        init(fd: Int32, path: String) {
            self.fd = fd
            self.path = path
            bytes.reserveCapacity(1 << 20 + 4096)
        }

        mutating func append(_ text: String) { bytes.append(contentsOf: text.utf8) }
        mutating func append(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }

        /// `p` with four decimals (`0.1234`, `1.0000`), rounded half up on p · 10⁴.
        mutating func appendProbability(_ probability: Float) {
            let scaled = Int((Double(probability) * 10_000).rounded())
            bytes.append(UInt8(ascii: "0") + UInt8(scaled / 10_000))
            bytes.append(UInt8(ascii: "."))
            var remainder = scaled % 10_000
            for divisor in [1000, 100, 10, 1] {
                bytes.append(UInt8(ascii: "0") + UInt8(remainder / divisor))
                remainder %= divisor
            }
        }

        mutating func flushIfFull() throws { if bytes.count >= 1 << 20 { try flush() } }

        mutating func flush() throws {
            try bytes.withUnsafeBytes { try AtomicFile.writeAll(fd: fd, $0, path: path) }
            bytes.removeAll(keepingCapacity: true)
        }
    }

    static func stream(to path: String, _ produce: (inout Output) throws -> Void) throws {
        try AtomicFile.write(to: path) { fd in
            var output = Output(fd: fd, path: path)
            try produce(&output)
            try output.flush()
        }
    }
}
