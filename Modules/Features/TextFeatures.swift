import Foundation

/// Visit notes as numbers (issue 17, item 4): TF-IDF over character n-grams, then the n-grams
/// that say most about an order kept by a χ² test. Character n-grams need no tokenizer, so they
/// work as well for Chinese as for English (the purchase-intent study's notes were Chinese).
///
/// Each step is scikit-learn's, so that a reader can reproduce it (agreement tested:
/// `Fixtures/text/generate_tfidf_reference.py`):
/// 1. **Analyzer** (`TfidfVectorizer(analyzer="char", ngram_range=(minN, maxN))`): the document
///    lower-cased, every run of two or more whitespace characters made one space, then every
///    substring of `minN…maxN` Unicode scalars (Python's code points).
/// 2. **Vocabulary** (`min_df`, `max_features`): n-grams in at least `minimumDocuments`
///    training documents, at most `vocabularySize` of them by total count (ties, which
///    scikit-learn leaves to its sort, broken here by fewer documents, then by the n-gram), in
///    code-point order.
/// 3. **Weights** (`smooth_idf=True`, `norm="l2"`): tf × idf with tf the raw count and
///    idf = ln((1 + n) / (1 + df)) + 1, each document's vector scaled to unit length.
/// 4. **Selection** (`SelectKBest(chi2, k=selected)` on the n-grams' presence, 0/1, and the
///    0/1 labels): the `selected` columns with the largest χ² statistic against the label
///    (exact ties, as scikit-learn breaks them, to the later column). Presence, not the tf-idf
///    weights: on weights below 1 the statistic shrinks with them and stops being a count
///    statistic that a significance test can read (the sample's project mentions scored 8 on
///    weights, 40 on presence, against a critical value of 20). The model sees the selected
///    columns' weights, still normalised over the whole vocabulary.
///
/// An empty document, or one with no vocabulary n-gram, is the zero vector.
public struct CharacterNGramTFIDF: Codable, Sendable, Equatable {
    public struct Settings: Codable, Sendable, Equatable {
        public var minN = 2
        public var maxN = 4
        public var minimumDocuments = 5
        public var vocabularySize = 2000
        /// Columns the models see.
        public var selected = 32

        public init() {}

        enum CodingKeys: String, CodingKey {
            case minN = "min_n", maxN = "max_n", minimumDocuments = "minimum_documents", vocabularySize =
                "vocabulary_size", selected
        }

        /// The first setting that cannot work, or nil.
        public var problem: String? {
            if minN < 1 || maxN < minN || maxN > 8 {
                return "n-gram lengths must satisfy 1 ≤ min ≤ max ≤ 8, got \(minN)…\(maxN)"
            }
            if minimumDocuments < 1 { return "the minimum document count must be at least 1, got \(minimumDocuments)" }
            if vocabularySize < 1 || vocabularySize > 100_000 {
                return "the vocabulary size must be in 1…100000, got \(vocabularySize)"
            }
            if selected < 1 || selected > vocabularySize {
                return "the selected columns must be in 1…\(vocabularySize), got \(selected)"
            }
            return nil
        }
    }

    public var settings: Settings
    /// The vocabulary in code-point order, and each term's idf.
    public var terms: [String]
    public var idf: [Double]
    /// Indices into `terms` of the columns the models see, ascending.
    public var selectedColumns: [Int]

    enum CodingKeys: String, CodingKey {
        case settings, terms, idf
        case selectedColumns = "selected_columns"
    }

    /// The width of ``transform(_:)``.
    public var width: Int { selectedColumns.count }

    /// The first inconsistency of a decoded document (it comes from a model file: untrusted), or nil.
    public var problem: String? {
        if let problem = settings.problem { return problem }
        if terms.count != idf.count { return "\(terms.count) terms but \(idf.count) idf values" }
        if terms.count > settings.vocabularySize {
            return "\(terms.count) terms, more than the vocabulary size \(settings.vocabularySize)"
        }
        if !idf.allSatisfy({ $0.isFinite && $0 >= 1 }) { return "an idf value is not a finite number ≥ 1" }
        // Code-point order, and distinct as Swift compares strings (canonical equivalence: "é"
        // as one scalar and as e + ◌́ are one term here, and the term index would trap on both).
        if !zip(terms, terms.dropFirst()).allSatisfy({ Self.precedes($0, $1) }) || Set(terms).count != terms.count {
            return "the terms are not distinct and in code-point order"
        }
        if !zip(selectedColumns, selectedColumns.dropFirst()).allSatisfy({ $0 < $1 })
            || !selectedColumns.allSatisfy({ $0 >= 0 && $0 < terms.count }) || selectedColumns.count > settings.selected
        {
            return "the selected columns are not increasing indices of the \(terms.count) terms"
        }
        return nil
    }

    /// Code-point order (Python's `str` comparison), which is scikit-learn's vocabulary order.
    static func precedes(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) { $0.value < $1.value }
    }

    /// The analyzer's n-grams of `document`, with repeats (scikit-learn's `_char_ngrams` after
    /// lower-casing).
    public static func ngrams(_ document: String, minN: Int, maxN: Int) -> [String] {
        var scalars: [Unicode.Scalar] = []
        var whitespaceRun: [Unicode.Scalar] = []
        func flushWhitespace() {
            if whitespaceRun.count >= 2 { scalars.append(" ") } else { scalars += whitespaceRun }
            whitespaceRun.removeAll(keepingCapacity: true)
        }
        for scalar in document.lowercased().unicodeScalars {
            if isPythonWhitespace(scalar) {
                whitespaceRun.append(scalar)
            } else {
                flushWhitespace()
                scalars.append(scalar)
            }
        }
        flushWhitespace()
        var result: [String] = []
        guard minN <= maxN else { return result }
        for n in minN...maxN where n <= scalars.count {
            for start in 0...(scalars.count - n) {
                var view = String.UnicodeScalarView()
                view.append(contentsOf: scalars[start..<(start + n)])
                result.append(String(view))
            }
        }
        return result
    }

    /// Python's `\s` in a `str` pattern: the characters `str.isspace()` accepts.
    static func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    /// Fits the vocabulary, idf and selection on training `documents` and their 0/1 `labels`.
    /// With `minimumChiSquare`, a selected column must also reach it (given the vocabulary size,
    /// it returns the critical value). Returns nil when no n-gram is in `minimumDocuments`
    /// documents, or no column reaches the minimum (nothing to learn from).
    public static func fit(
        documents: [String], labels: [Bool], settings: Settings,
        minimumChiSquare: ((_ vocabularySize: Int) -> Double)? = nil
    ) -> CharacterNGramTFIDF? {
        precondition(settings.problem == nil, "CharacterNGramTFIDF: \(settings.problem!)")
        precondition(
            documents.count == labels.count, "CharacterNGramTFIDF: \(documents.count) documents, \(labels.count) labels"
        )
        var documentFrequency: [String: Int] = [:], totalCount: [String: Int] = [:]
        for document in documents {
            var counts: [String: Int] = [:]
            for gram in ngrams(document, minN: settings.minN, maxN: settings.maxN) { counts[gram, default: 0] += 1 }
            for (gram, count) in counts {
                documentFrequency[gram, default: 0] += 1
                totalCount[gram, default: 0] += count
            }
        }
        var kept = documentFrequency.filter { $0.value >= settings.minimumDocuments }.map(\.key)
        guard !kept.isEmpty else { return nil }
        if kept.count > settings.vocabularySize {
            kept.sort {
                let (ta, tb) = (totalCount[$0]!, totalCount[$1]!)
                if ta != tb { return ta > tb }
                let (da, db) = (documentFrequency[$0]!, documentFrequency[$1]!)
                return da != db ? da < db : precedes($0, $1)
            }
            kept.removeLast(kept.count - settings.vocabularySize)
        }
        kept.sort(by: precedes)
        let n = Double(documents.count)
        var model = CharacterNGramTFIDF(
            settings: settings, terms: kept, idf: kept.map { log((1 + n) / (1 + Double(documentFrequency[$0]!))) + 1 },
            selectedColumns: Array(kept.indices))
        let columns = model.columnOfTerm
        let statistics = model.chiSquare(documents.map { model.presence($0, columns: columns) }, labels: labels)
        // SelectKBest's rule: a stable ascending sort of the scores (NaN lowest), the last k.
        // Identical columns (n-grams that always occur together, such as "new p" and "ew pr")
        // tie exactly, and then the later columns are kept.
        let order = statistics.indices.sorted {
            let (a, b) = (
                statistics[$0].isNaN ? -.infinity : statistics[$0], statistics[$1].isNaN ? -.infinity : statistics[$1]
            )
            return a != b ? a < b : $0 < $1
        }
        model.selectedColumns = Array(order.suffix(settings.selected)).sorted()
        if let minimumChiSquare {
            let critical = minimumChiSquare(kept.count)
            model.selectedColumns.removeAll { !(statistics[$0] >= critical) }
            if model.selectedColumns.isEmpty { return nil }
        }
        return model
    }

    /// Term → column (built on demand; the vocabulary is at most a few thousand terms).
    var columnOfTerm: [String: Int] { Dictionary(uniqueKeysWithValues: terms.enumerated().map { ($1, $0) }) }

    /// The unit-length tf-idf vector of `document` over the whole vocabulary, as (column, weight)
    /// pairs in column order.
    func weights(_ document: String, columns: [String: Int]? = nil) -> [(column: Int, weight: Double)] {
        var pairs = termCounts(document, columns: columns ?? columnOfTerm)
            .map { (column: $0.key, weight: Double($0.value) * idf[$0.key]) }.sorted { $0.column < $1.column }
        let norm = pairs.reduce(0) { $0 + $1.weight * $1.weight }.squareRoot()
        if norm > 0 { for i in pairs.indices { pairs[i].weight /= norm } }
        return pairs
    }

    /// The vocabulary columns `document` contains, each with weight 1 (what the χ² selection
    /// tests: whether an n-gram is present, not its tf-idf weight).
    func presence(_ document: String, columns: [String: Int]? = nil) -> [(column: Int, weight: Double)] {
        termCounts(document, columns: columns ?? columnOfTerm).keys.sorted().map { (column: $0, weight: 1) }
    }

    /// Column → how often its n-gram occurs in `document`.
    private func termCounts(_ document: String, columns: [String: Int]) -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for gram in Self.ngrams(document, minN: settings.minN, maxN: settings.maxN) {
            if let column = columns[gram] { counts[column, default: 0] += 1 }
        }
        return counts
    }

    /// scikit-learn's `chi2` of each column against the labels: Σ over the two classes of
    /// (observed − expected)² / expected, with observed the class's sum of the column and
    /// expected the column's total × the class's share. NaN for a column that is 0 everywhere.
    func chiSquare(_ rows: [[(column: Int, weight: Double)]], labels: [Bool]) -> [Double] {
        var positive = [Double](repeating: 0, count: terms.count), total = [Double](repeating: 0, count: terms.count)
        for (row, label) in zip(rows, labels) {
            for (column, weight) in row {
                total[column] += weight
                if label { positive[column] += weight }
            }
        }
        let share = labels.isEmpty ? 0 : Double(labels.filter { $0 }.count) / Double(labels.count)
        return terms.indices.map { j in
            let expectedPositive = total[j] * share, expectedNegative = total[j] * (1 - share)
            let observedNegative = total[j] - positive[j]
            func term(_ observed: Double, _ expected: Double) -> Double {
                expected == 0
                    ? (observed == 0 ? .nan : .infinity) : (observed - expected) * (observed - expected) / expected
            }
            let a = term(positive[j], expectedPositive), b = term(observedNegative, expectedNegative)
            // scikit-learn sums the classes that occur; a class with no rows contributes nothing.
            return (share == 0 ? 0 : a) + (share == 1 ? 0 : b)
        }
    }

    /// The selected columns of `document`'s weights: the model's text inputs.
    public func transform(_ document: String) -> [Double] {
        transform([document])[0]
    }

    /// ``transform(_:)`` of many documents (the term index is built once).
    public func transform(_ documents: [String]) -> [[Double]] {
        let columns = columnOfTerm
        var position = [Int: Int]()
        for (i, column) in selectedColumns.enumerated() { position[column] = i }
        return documents.map { document in
            var out = [Double](repeating: 0, count: selectedColumns.count)
            for (column, weight) in weights(document, columns: columns) {
                if let i = position[column] { out[i] = weight }
            }
            return out
        }
    }
}

/// The notes inputs of a feature pipeline: which text columns, how many of the last visits'
/// notes make an example's document, and the fitted TF-IDF. Docs/Features.md, "Visit notes".
public struct NotesInputs: Codable, Sendable, Equatable {
    /// The dataset's text columns (`visit_columns.text`), joined per visit with a space.
    public var columns: [String]
    /// An example's document: the notes of its history visits dated in [t − `days`, t) (the
    /// horizon H by default: intent said in the last weeks, not a phrase whose order has
    /// already come, which the whole sequence window would mix in).
    public var days: Int
    public var model: CharacterNGramTFIDF

    /// Significance of an n-gram's χ² (1 degree of freedom) for it to become an input, after a
    /// Bonferroni correction over the vocabulary: notes with no signal then give no inputs at
    /// all, instead of 32 columns of noise for the models to overfit (issue 17: "on an export
    /// whose notes carry no signal, the notes must not make the model worse").
    public static let significance = 0.01
    /// Each visit's note is read up to this many characters.
    public static let maximumNoteCharacters = 2000

    /// The χ² critical value for `significance / tests` (one degree of freedom): the square of
    /// the standard normal quantile at 1 − α/2.
    static func criticalChiSquare(tests: Int) -> Double {
        let alpha = significance / Double(max(tests, 1))
        let z = normalQuantile(1 - alpha / 2)
        return z * z
    }

    /// Φ⁻¹(p) by Acklam's rational approximation refined by one Halley step (relative error
    /// below 1e-9 over (0, 1); P. J. Acklam, "An algorithm for computing the inverse normal
    /// cumulative distribution function", 2003).
    static func normalQuantile(_ p: Double) -> Double {
        let a = [
            -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
            -3.066479806614716e+01, 2.506628277459239e+00
        ]
        let b = [
            -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
            -1.328068155288572e+01
        ]
        let c = [
            -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
            4.374664141464968e+00, 2.938163982698783e+00
        ]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        var x: Double
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            x =
                (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - low {
            let q = p - 0.5, r = q * q
            x =
                (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log(1 - p)).squareRoot()
            x =
                -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        let e = 0.5 * erfc(-x / 2.0.squareRoot()) - p
        let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        return x - u / (1 + x * u / 2)
    }

    /// Fits the notes inputs on the training examples, or nil when the dataset has no text
    /// column, no n-gram is common enough, or none is significant.
    public static func fit(
        training: ExampleSet, history: VisitHistory, settings: CharacterNGramTFIDF.Settings = .init()
    ) -> NotesInputs? {
        let manifest = history.dataset.manifest
        guard !manifest.visitColumns.text.isEmpty else { return nil }
        let columns = manifest.visitColumns.text
        let slots = columns.compactMap { manifest.visitColumns.categorical.firstIndex(of: $0) }
        let days = training.settings.horizonDays
        // Only examples with notes in their window: an empty document is the zero vector anyway,
        // and among all examples "has any note" means "was visited in the last H days", which
        // the other inputs already say. On a log whose notes are random phrases that alone made
        // the commonest n-grams significant.
        var documents: [String] = [], labels: [Bool] = []
        for example in training.examples {
            let document = history.notesDocument(of: example, in: training, slots: slots, days: days)
            guard !document.isEmpty else { continue }
            documents.append(document)
            labels.append(example.label == 1)
        }
        guard
            let model = CharacterNGramTFIDF.fit(
                documents: documents, labels: labels, settings: settings,
                minimumChiSquare: { criticalChiSquare(tests: $0) })
        else { return nil }
        return NotesInputs(columns: columns, days: days, model: model)
    }

    /// The static column names (`notes:proj`).
    public var names: [String] { model.selectedColumns.map { "notes:\(model.terms[$0])" } }
}

extension VisitHistory {
    /// An example's notes document: the text columns (`slots` into `Visit.categorical`) of its
    /// history visits dated in [t − `days`, t), oldest first, joined with spaces (empty notes
    /// skipped).
    public func notesDocument(of example: AsOfExample, in set: ExampleSet, slots: [Int], days window: Int) -> String {
        let from = example.asOf - Int32(window)
        // Walk back from the last history visit while inside the window: O(visits in the
        // window), not O(history), per example.
        var visits: [Int] = []
        if example.shifted >= 0 {
            for visit in set.shiftedHistories[Int(example.shifted)].reversed() {
                guard days[Int(visit)] >= from else { break }
                visits.append(Int(visit))
            }
        } else {
            var visit = Int(example.historyEnd) - 1
            let first = customers[Int(example.customer)].visits.lowerBound
            while visit >= first && days[visit] >= from {
                visits.append(visit)
                visit -= 1
            }
        }
        var parts: [String] = []
        for visit in visits.reversed() {
            for slot in slots {
                let note = dataset.visits[visit].categorical[slot]
                // A note longer than this is a pasted document, not a rep's remark; its head is
                // what the n-grams need, and the cap bounds the work per example.
                if !note.isEmpty {
                    parts.append(
                        note.count > NotesInputs.maximumNoteCharacters
                            ? String(note.prefix(NotesInputs.maximumNoteCharacters)) : note)
                }
            }
        }
        return parts.joined(separator: " ")
    }
}
