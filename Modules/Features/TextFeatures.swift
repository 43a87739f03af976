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
/// 4. **Selection** (`SelectKBest(chi2, k=selected)` on the weighted vectors and the 0/1
///    labels): the `selected` columns with the largest χ² statistic against the label (exact
///    ties, as scikit-learn breaks them, to the later column). The model sees those columns
///    only, still normalised over the whole vocabulary.
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
            case minN = "min_n", maxN = "max_n", minimumDocuments = "minimum_documents", vocabularySize = "vocabulary_size", selected
        }

        /// The first setting that cannot work, or nil.
        public var problem: String? {
            if minN < 1 || maxN < minN || maxN > 8 { return "n-gram lengths must satisfy 1 ≤ min ≤ max ≤ 8, got \(minN)…\(maxN)" }
            if minimumDocuments < 1 { return "the minimum document count must be at least 1, got \(minimumDocuments)" }
            if vocabularySize < 1 || vocabularySize > 100_000 { return "the vocabulary size must be in 1…100000, got \(vocabularySize)" }
            if selected < 1 || selected > vocabularySize { return "the selected columns must be in 1…\(vocabularySize), got \(selected)" }
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
        if terms.count > settings.vocabularySize { return "\(terms.count) terms, more than the vocabulary size \(settings.vocabularySize)" }
        if !idf.allSatisfy({ $0.isFinite && $0 >= 1 }) { return "an idf value is not a finite number ≥ 1" }
        if !zip(terms, terms.dropFirst()).allSatisfy({ Self.precedes($0, $1) }) { return "the terms are not distinct and in code-point order" }
        if !zip(selectedColumns, selectedColumns.dropFirst()).allSatisfy({ $0 < $1 })
            || !selectedColumns.allSatisfy({ $0 >= 0 && $0 < terms.count }) || selectedColumns.count > settings.selected {
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
            if isPythonWhitespace(scalar) { whitespaceRun.append(scalar) } else {
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
    /// Returns nil when no n-gram is in `minimumDocuments` documents (nothing to learn from).
    public static func fit(documents: [String], labels: [Bool], settings: Settings) -> CharacterNGramTFIDF? {
        precondition(settings.problem == nil, "CharacterNGramTFIDF: \(settings.problem!)")
        precondition(documents.count == labels.count, "CharacterNGramTFIDF: \(documents.count) documents, \(labels.count) labels")
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
        let statistics = model.chiSquare(documents.map { model.weights($0) }, labels: labels)
        // SelectKBest's rule: a stable ascending sort of the scores (NaN lowest), the last k.
        // Identical columns (n-grams that always occur together, such as "new p" and "ew pr")
        // tie exactly, and then the later columns are kept.
        let order = statistics.indices.sorted {
            let (a, b) = (statistics[$0].isNaN ? -.infinity : statistics[$0], statistics[$1].isNaN ? -.infinity : statistics[$1])
            return a != b ? a < b : $0 < $1
        }
        model.selectedColumns = Array(order.suffix(settings.selected)).sorted()
        return model
    }

    /// Term → column (built on demand; the vocabulary is at most a few thousand terms).
    private var columnOfTerm: [String: Int] { Dictionary(uniqueKeysWithValues: terms.enumerated().map { ($1, $0) }) }

    /// The unit-length tf-idf vector of `document` over the whole vocabulary, as (column, weight)
    /// pairs in column order.
    func weights(_ document: String, columns: [String: Int]? = nil) -> [(column: Int, weight: Double)] {
        let columns = columns ?? columnOfTerm
        var counts: [Int: Int] = [:]
        for gram in Self.ngrams(document, minN: settings.minN, maxN: settings.maxN) {
            if let column = columns[gram] { counts[column, default: 0] += 1 }
        }
        var pairs = counts.map { (column: $0.key, weight: Double($0.value) * idf[$0.key]) }.sorted { $0.column < $1.column }
        let norm = pairs.reduce(0) { $0 + $1.weight * $1.weight }.squareRoot()
        if norm > 0 { for i in pairs.indices { pairs[i].weight /= norm } }
        return pairs
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
                expected == 0 ? (observed == 0 ? .nan : .infinity) : (observed - expected) * (observed - expected) / expected
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
            for (column, weight) in weights(document, columns: columns) { if let i = position[column] { out[i] = weight } }
            return out
        }
    }
}
