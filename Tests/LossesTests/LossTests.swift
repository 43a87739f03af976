import Foundation
import Losses
import Tensors
import TestSupport
import Testing

@Suite("Losses against PyTorch and finite differences")
struct LossTests {
    static let reference: [String: Tensor] = try! loadReference("losses/loss_reference.safetensors").tensors

    /// The float64 reference rounded to float32 against a Float32 computation done in Double
    /// internally: agreement to a few float32 ulps; 1e-5 (relative, normwise per tensor) is the
    /// project's bound and holds with room.
    static let tolerance: Float = 1e-5

    static func labels(_ name: String) -> Tensor { reference["\(name).labels"]! }
    static func logits(_ name: String) -> Tensor { reference["\(name).logits"]! }

    func expectReference(_ name: String, loss: Float, gradient: Tensor) {
        let expected = Self.reference["\(name).loss"]!.scalar
        #expect(abs(loss - expected) <= Self.tolerance * abs(expected), "\(name): loss \(loss) vs PyTorch \(expected)")
        expectAgreement(gradient, Self.reference["\(name).grad"], relative: Self.tolerance, "\(name) gradient")
    }

    @Test func binaryCrossEntropy() {
        var gradient = Tensor.zeros([])
        let loss = BinaryCrossEntropy()(logits: Self.logits("bce"), labels: Self.labels("bce"), gradient: &gradient)
        expectReference("bce", loss: loss, gradient: gradient)
        let weighted = BinaryCrossEntropy(classWeights: ClassWeights(negative: 0.5, positive: 4), reduction: .sum)
        let weightedLoss = weighted(
            logits: Self.logits("bce_weighted"), labels: Self.labels("bce_weighted"), gradient: &gradient)
        expectReference("bce_weighted", loss: weightedLoss, gradient: gradient)
    }

    @Test func softmaxCrossEntropy() {
        var gradient = Tensor.zeros([])
        let targets = Self.labels("ce").scalars.map { Int($0) }
        expectReference(
            "ce", loss: SoftmaxCrossEntropy()(logits: Self.logits("ce"), targets: targets, gradient: &gradient),
            gradient: gradient)
        let weighted = SoftmaxCrossEntropy(classWeights: [0.2, 1, 3])
        expectReference(
            "ce_weighted", loss: weighted(logits: Self.logits("ce_weighted"), targets: targets, gradient: &gradient),
            gradient: gradient)
    }

    @Test func focalLossBothForms() {
        var gradient = Tensor.zeros([])
        let binary = FocalLoss(alpha: 0.25, gamma: 2, form: .binaryLogit)
        expectReference(
            "focal_binary",
            loss: binary(logits: Self.logits("focal_binary"), labels: Self.labels("focal_binary"), gradient: &gradient),
            gradient: gradient)
        let softmax = FocalLoss(alpha: 0.25, gamma: 2, form: .twoClassSoftmax)
        expectReference(
            "focal_softmax",
            loss: softmax(
                logits: Self.logits("focal_softmax"), labels: Self.labels("focal_softmax"), gradient: &gradient),
            gradient: gradient)
        #expect(
            gradient[8, 0] == 0 && gradient[8, 1] == 0 && gradient[9, 1] == 0, "clamped probabilities get no gradient")
        let other = FocalLoss(alpha: 0.6, gamma: 0.5, form: .twoClassSoftmax, reduction: .sum)
        expectReference(
            "focal_softmax_sum",
            loss: other(
                logits: Self.logits("focal_softmax_sum"), labels: Self.labels("focal_softmax_sum"), gradient: &gradient),
            gradient: gradient)
    }

    @Test func discreteHazardLikelihood() {
        var gradient = Tensor.zeros([])
        let atRisk = Self.reference["hazard.at_risk"]!
        let loss = DiscreteHazardLoss()(
            logits: Self.logits("hazard"), events: Self.labels("hazard"), atRisk: atRisk, gradient: &gradient)
        expectReference("hazard", loss: loss, gradient: gradient)
        #expect(gradient[5, 0] == 0 && gradient[0, 1] == 0, "bins outside the risk set get no gradient")
        // The likelihood it is: a row with an order in bin 2 after two silent bins contributes
        // −log[(1 − h₀)(1 − h₁) h₂].
        let z = Tensor(shape: [1, 3], scalars: [-1, 0.5, 2])
        let single = DiscreteHazardLoss()(
            logits: z, events: Tensor(shape: [1, 3], scalars: [0, 0, 1]),
            atRisk: Tensor(shape: [1, 3], scalars: [1, 1, 1]), gradient: &gradient)
        let h = z.scalars.map { 1 / (1 + exp(-Double($0))) }
        #expect(abs(Double(single) + log((1 - h[0]) * (1 - h[1]) * h[2])) < 1e-6)
    }

    @Test func focalLossWithoutFocusingIsWeightedCrossEntropy() {
        var random = SeededRandom(seed: 4)
        let z = Tensor.uniform([16], in: -4..<4, using: &random)
        let y = Tensor.bernoulli([16], probability: 0.3, using: &random)
        var g1 = Tensor.zeros([]), g2 = Tensor.zeros([])
        let focal = FocalLoss(alpha: 0.5, gamma: 0, form: .binaryLogit)(logits: z, labels: y, gradient: &g1)
        let bce = BinaryCrossEntropy()(logits: z, labels: y, gradient: &g2)
        #expect(abs(focal - 0.5 * bce) <= 1e-6 * bce)
        expectClose(g1, g2 * 0.5, relative: 1e-5, absolute: 1e-8)
    }

    /// Each loss as a function of its logits, for the finite-difference check.
    static let cases: [(String, @Sendable (Tensor, inout Tensor) -> Float)] = {
        let y = Tensor([1, 0, 0, 1, 0, 1])
        return [
            (
                "bce",
                {
                    BinaryCrossEntropy(classWeights: ClassWeights(negative: 0.7, positive: 3))(
                        logits: $0, labels: y, gradient: &$1)
                }
            ),
            (
                "focal binary",
                { FocalLoss(alpha: 0.25, gamma: 2, form: .binaryLogit)(logits: $0, labels: y, gradient: &$1) }
            ),
            (
                "focal softmax",
                {
                    FocalLoss(alpha: 0.25, gamma: 2, form: .twoClassSoftmax, reduction: .sum)(
                        logits: $0.reshaped([3, 2]), labels: Tensor([1, 0, 1]), gradient: &$1)
                }
            ),
            (
                "cross-entropy",
                {
                    SoftmaxCrossEntropy(classWeights: [0.5, 2])(
                        logits: $0.reshaped([3, 2]), targets: [1, 0, 1], gradient: &$1)
                }
            ),
            (
                "discrete hazard",
                {
                    DiscreteHazardLoss()(
                        logits: $0.reshaped([2, 3]), events: Tensor(shape: [2, 3], scalars: [0, 1, 0, 0, 0, 0]),
                        atRisk: Tensor(shape: [2, 3], scalars: [1, 1, 0, 1, 1, 1]), gradient: &$1)
                }
            )
        ]
    }()

    @Test(arguments: 0..<5)
    func gradientsMatchFiniteDifferences(index: Int) {
        let (name, loss) = Self.cases[index]
        var random = SeededRandom(seed: UInt64(index))
        let z = Tensor.uniform([6], in: -3..<3, using: &random)
        var gradient = Tensor.zeros([])
        _ = loss(z, &gradient)
        var scratch = Tensor.zeros([])
        let numeric = finiteDifferenceGradient(ofInput: z, step: 1e-2) { Double(loss($0, &scratch)) }
        // Smooth in z with O(1) curvature: truncation h²/6 ≈ 2e-5 relative; the Float32 loss
        // value's rounding over 2h adds ≈ 6e-8·|L| / 2e-2 ≈ 1e-5. Bound 2e-3 with floor 1e-3.
        let worst = maximumRelativeError(analytic: gradient.reshaped([6]).scalars, numeric: numeric, floor: 1e-3)
        #expect(worst.error < 2e-3, "\(name): logit \(worst.index), relative error \(worst.error)")
    }

    @Test func extremeLogitsStayFinite() {
        let z = Tensor([1000, -1000, 88, -88])
        let y = Tensor([0, 1, 1, 0])
        var gradient = Tensor.zeros([])
        let bce = BinaryCrossEntropy()(logits: z, labels: y, gradient: &gradient)
        #expect(bce.isFinite && abs(bce - 500) < 1e-3 && gradient.scalars.allSatisfy { $0.isFinite })
        let focal = FocalLoss(form: .binaryLogit)(logits: z, labels: y, gradient: &gradient)
        #expect(focal.isFinite && gradient.scalars.allSatisfy { $0.isFinite })
        let ce = SoftmaxCrossEntropy()(
            logits: Tensor(shape: [2, 2], scalars: [1000, -1000, 500, 501]), targets: [1, 0], gradient: &gradient)
        #expect(ce.isFinite && gradient.scalars.allSatisfy { $0.isFinite })
    }
}
