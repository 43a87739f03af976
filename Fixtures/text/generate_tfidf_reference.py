#!/usr/bin/env python3
"""Reference values for Revisit's notes features (Modules/Features/TextFeatures.swift) from
scikit-learn: `TfidfVectorizer(analyzer="char", ngram_range, min_df, max_features)` and
`SelectKBest(chi2, k)` on the n-grams' presence (its output > 0).

Seeded visit notes in English and Chinese (no tokenizer needed for character n-grams), with
runs of spaces, tabs and line breaks, capitals, empty notes, and a planted phrase that comes
with the label more often than not. Each case holds the documents, the 0/1 labels, the settings
and scikit-learn's vocabulary (in its column order), idf, the χ² scores, the selected columns
and the transformed (selected) rows.

Regenerate (any venv with scikit-learn):

    python3 Fixtures/text/generate_tfidf_reference.py
"""
import json, os
import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.feature_selection import SelectKBest, chi2

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(31)
english = ["called back", "no answer", "left a message", "price too high", "Will  ORDER next week", "asked for samples",
           "visited the site", "spoke to buyer\tabout stock", "follow up\n\nin March", "happy with service", ""]
chinese = ["客户不在", "电话无人接听", "价格太高", "下周再联系", "询问样品", "库存充足", "对服务满意", "  采购经理  出差", ""]
planted = {"english": "new project starting", "chinese": "新项目开工"}

cases = []
for name, pool, n, min_df, max_features, k, ngram in [
        ("english", english, 300, 3, None, 20, (2, 4)),
        ("chinese", chinese, 300, 3, None, 15, (1, 3)),
        ("mixed_capped", english + chinese, 400, 2, 150, 25, (2, 4))]:
    labels = (rng.random(n) < 0.25).astype(int)
    docs = []
    for y in labels:
        parts = list(rng.choice(pool, size=rng.integers(0, 4)))
        key = planted["chinese" if name == "chinese" else "english"]
        if rng.random() < (0.6 if y == 1 else 0.08):
            parts.insert(int(rng.integers(0, len(parts) + 1)), key)
        docs.append(" ".join(parts) if rng.random() < 0.7 else "  ".join(parts))
    if max_features is not None:
        # scikit-learn leaves ties at the max_features cut to its (unstable) sort; Revisit
        # breaks them by fewer documents, then the n-gram. Cut where there is no tie: the
        # largest size ≤ the asked one whose last kept total exceeds the first dropped.
        from sklearn.feature_extraction.text import CountVectorizer
        totals = np.sort(np.asarray(CountVectorizer(analyzer="char", ngram_range=ngram, min_df=min_df)
                                    .fit_transform(docs).sum(axis=0)).ravel())[::-1]
        max_features = max(m for m in range(1, max_features + 1) if totals[m - 1] > totals[m])
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=ngram, min_df=min_df, max_features=max_features)
    X = vectorizer.fit_transform(docs)
    terms = vectorizer.get_feature_names_out().tolist()
    selector = SelectKBest(chi2, k=k).fit((X > 0).astype(float), labels)
    selected = np.where(selector.get_support())[0].tolist()
    cases.append({"name": name, "documents": docs, "labels": labels.tolist(),
                  "min_n": ngram[0], "max_n": ngram[1], "min_df": min_df, "max_features": max_features or 100000, "k": k,
                  "terms": terms, "idf": vectorizer.idf_.tolist(), "chi2": np.nan_to_num(selector.scores_, nan=-1.0).tolist(),
                  "selected": selected, "transformed": X[:, selected].toarray().tolist()})

with open(os.path.join(HERE, "tfidf_reference.json"), "w") as f:
    json.dump({"generator": "Fixtures/text/generate_tfidf_reference.py", "sklearn": sklearn.__version__, "cases": cases},
              f, ensure_ascii=False)
