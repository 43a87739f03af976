import Foundation
import TestSupport
import Testing

@testable import Features

/// Notes as TF-IDF over character n-grams with χ² selection, against scikit-learn
/// (`Fixtures/text/generate_tfidf_reference.py`).
@Suite("Visit notes: character n-gram TF-IDF")
struct TextFeaturesTests {
    struct Reference: Decodable {
        struct Case: Decodable {
            var name: String
            var documents: [String]
            var labels: [Int]
            var min_n: Int
            var max_n: Int
            var min_df: Int
            var max_features: Int
            var k: Int
            var terms: [String]
            var idf: [Double]
            var chi2: [Double]
            var selected: [Int]
            var transformed: [[Double]]
        }
        var sklearn: String
        var cases: [Case]
    }

    static let reference: Reference = fixtureJSON("text/tfidf_reference.json")

    @Test(
        "Vocabulary, idf, χ² scores, selection and transformed rows equal scikit-learn's (English, Chinese, a capped mix)",
        arguments: 0..<3)
    func agreesWithScikitLearn(index: Int) throws {
        let c = Self.reference.cases[index]
        var settings = CharacterNGramTFIDF.Settings()
        settings.minN = c.min_n
        settings.maxN = c.max_n
        settings.minimumDocuments = c.min_df
        settings.vocabularySize = c.max_features
        settings.selected = c.k
        let labels = c.labels.map { $0 == 1 }
        let model = try #require(CharacterNGramTFIDF.fit(documents: c.documents, labels: labels, settings: settings))
        #expect(model.terms == c.terms, "\(c.name): vocabulary")
        #expect(model.problem == nil)
        // Logs and sums of a few hundred terms: agreement to the last few bits.
        #expect(zip(model.idf, c.idf).allSatisfy { abs($0 - $1) <= 1e-12 * $1 }, "\(c.name): idf")
        let scores = model.chiSquare(c.documents.map { model.presence($0) }, labels: labels)
        #expect(zip(scores, c.chi2).allSatisfy { abs($0 - $1) <= 1e-9 * max(1, $1) }, "\(c.name): χ²")
        #expect(
            model.selectedColumns == c.selected, "\(c.name): selected \(model.selectedColumns.map { model.terms[$0] })")
        let rows = model.transform(c.documents)
        for (row, expected) in zip(rows, c.transformed) {
            #expect(zip(row, expected).allSatisfy { abs($0 - $1) <= 1e-12 }, "\(c.name): a transformed row differs")
        }
        // The planted phrase is what the selection keeps.
        let planted = c.name == "chinese" ? "新项" : "proj"
        #expect(model.selectedColumns.contains { model.terms[$0] == planted })
    }

    @Test("The analyzer by hand: lower case, whitespace runs as one space, code points, repeats kept")
    func analyzer() {
        #expect(CharacterNGramTFIDF.ngrams("AbA", minN: 1, maxN: 2) == ["a", "b", "a", "ab", "ba"])
        #expect(CharacterNGramTFIDF.ngrams("a  \t b", minN: 3, maxN: 3) == ["a b"])
        // One tab alone is kept as it is (scikit-learn replaces runs of two or more).
        #expect(CharacterNGramTFIDF.ngrams("a\tb", minN: 3, maxN: 3) == ["a\tb"])
        #expect(CharacterNGramTFIDF.ngrams("新项目", minN: 2, maxN: 3) == ["新项", "项目", "新项目"])
        #expect(CharacterNGramTFIDF.ngrams("ab", minN: 3, maxN: 4).isEmpty)
    }

    @Test(
        "No n-gram in enough documents: nothing to fit; an empty or unknown note is the zero vector; tampered documents are refused"
    )
    func edges() throws {
        var settings = CharacterNGramTFIDF.Settings()
        settings.minimumDocuments = 3
        #expect(CharacterNGramTFIDF.fit(documents: ["ab", "cd"], labels: [true, false], settings: settings) == nil)
        settings.selected = 2
        let model = try #require(
            CharacterNGramTFIDF.fit(
                documents: ["abc", "abd", "abe", "xyz"], labels: [true, false, true, false], settings: settings))
        #expect(model.terms == ["ab"] && model.width == 1)
        #expect(model.transform("") == [0] && model.transform("zzz") == [0] && model.transform("xab") == [1])
        var bad = model
        bad.idf = [0.5]
        #expect(bad.problem?.contains("idf") == true)
        bad = model
        bad.terms = ["b", "a"]
        bad.idf = [1, 1]
        #expect(bad.problem?.contains("code-point order") == true)
        bad = model
        bad.selectedColumns = [3]
        #expect(bad.problem?.contains("selected") == true)
        // Two spellings of "éx" (one scalar; e + combining acute) pass a code-point order check
        // but are one Swift string: refused, not a trap in the term index.
        bad = model
        bad.terms = ["e\u{301}x", "\u{E9}x"]
        bad.idf = [1, 1]
        bad.selectedColumns = [0]
        #expect(bad.problem?.contains("distinct") == true)
    }
}
