import AllocationCounter
import Tensors
import TestSupport
import Testing

/// The in-place and `into:` forms let a steady-state training step run without touching the
/// heap. This suite runs the tensor operations of a dense layer's forward and backward pass and
/// counts this thread's allocations (Tests/Support/AllocationCounter), in the debug build that
/// `make test` uses (which allocates more readily than release).
///
/// OpenBLAS is held to one thread during the measurement: Debian's OpenBLAS 0.3.21 mallocs a
/// job array inside every multi-threaded sgemm call (seen in its `sgemm_thread_*` drivers), an
/// allocation Revisit cannot avoid from outside the library; Docs/PERFORMANCE.md records it.
@Suite("Hot-loop operations do not allocate")
struct AllocationTests {
    @Test func theCounterSeesAllocations() {
        let a = Tensor.zeros([4, 4])
        revisit_allocation_count_begin()
        let sum = a + a
        let counted = revisit_allocation_count_end()
        #expect(counted >= 1, "a result-returning operator allocates its result")
        #expect(sum.shape == [4, 4])
    }

    @Test func aDenseLayerStepAllocatesNothingOnceBuffersExist() {
        var random = SeededRandom(seed: 5)
        // N = 64 rows, input C = 192, output H = 512: the shape of one LSTM gate product.
        let x = Tensor.uniform([64, 192], in: -1..<1, using: &random)  // [N, C]
        var weight = Tensor.uniform([512, 192], in: -0.1..<0.1, using: &random)  // [H, C]
        let bias = Tensor.uniform([512], in: -0.1..<0.1, using: &random)  // [H]
        let target = Tensor.uniform([64, 512], in: -1..<1, using: &random)  // [N, H]
        var preActivation = Tensor.zeros([64, 512]), activation = Tensor.zeros([64, 512])
        var gradient = Tensor.zeros([64, 512]), weightGradient = Tensor.zeros([512, 192])
        var biasGradient = Tensor.zeros([512]), inputGradient = Tensor.zeros([64, 192])
        var weightTransposed = Tensor.zeros([192, 512]), joined = Tensor.zeros([64, 704])
        let parts = [x, activation]

        func step() {
            Tensor.matmul(x, weight, transposeB: true, into: &preActivation)  // y = x·Wᵀ
            preActivation += bias  // + b (row vector)
            Tensor.apply(.tanh, to: preActivation, into: &activation)
            Tensor.apply(.subtract, activation, target, into: &gradient)  // dL/da for ½‖a − t‖²
            Tensor.apply(.multiply, activation, activation, into: &preActivation)
            preActivation -= 1  // a² − 1 = −(1 − a²)
            gradient *= preActivation
            gradient *= -1  // dL/dz = (a − t)(1 − a²)
            Tensor.matmul(gradient, transposeA: true, x, beta: 1, into: &weightGradient)  // dW += dzᵀ·x
            Tensor.sum(gradient, alongAxis: 0, into: &biasGradient, accumulate: true)  // db += Σ dz
            Tensor.matmul(gradient, weight, into: &inputGradient)  // dx = dz·W
            weight.addScaled(weightGradient, by: -0.001)
            weightGradient.fill(with: 0)
            activation.clamp(to: -1...1)
            Tensor.transpose(weight, into: &weightTransposed)
            Tensor.concatenate(parts, alongAxis: 1, into: &joined)
        }

        let counted = BLASThreads.withAllocationFreeProducts { () -> Int in
            step()  // the first step may size buffers; steady state starts after it
            revisit_allocation_count_begin()
            var remaining = 5
            while remaining > 0 {
                step()
                remaining -= 1
            }
            return revisit_allocation_count_end()
        }
        #expect(counted == 0)
        #expect(inputGradient.shape == [64, 192] && biasGradient.shape == [512] && joined.shape == [64, 704])
    }

    /// oneDNN's `dnnl_sgemm` (the default library) takes its packing workspace from malloc on
    /// each call. What a steady state may allocate is therefore bounded here instead of zero:
    /// every allocation is freed before the step ends (nothing accumulates), and every step of
    /// the same shapes allocates the same number of times (nothing grows).
    @Test func oneDNNProductsFreeWhatTheyAllocate() {
        var random = SeededRandom(seed: 11)
        let a = Tensor.uniform([512, 128], in: -1..<1, using: &random)  // W_hh [G·H, H]
        let b = Tensor.uniform([128, 32], in: -1..<1, using: &random)  // H₋₁ [H, N]
        let x = Tensor.uniform([64, 320], in: -1..<1, using: &random)
        var c = Tensor.zeros([512, 32]), d = Tensor.zeros([]), e = Tensor.zeros([])
        func step() {
            Tensor.matmul(a, b, beta: 1, into: &c)  // the recurrent step, accumulated
            Tensor.matmul(a, transposeA: true, c, into: &d)  // W_hhᵀ · dRP
            Tensor.matmul(x, transposeA: true, x, into: &e)  // a weight gradient's shape
        }
        let counts = BLAS.withLibrary(.oneDNN) { () -> [(allocations: Int, frees: Int)] in
            step()
            return (0..<3).map { _ in
                revisit_allocation_count_begin()
                step()
                step()
                let allocations = revisit_allocation_count_end()
                return (allocations, revisit_allocation_frees())
            }
        }
        for count in counts { #expect(count.allocations == count.frees, "\(count)") }
        #expect(Set(counts.map(\.allocations)).count == 1, "\(counts)")
    }
}
