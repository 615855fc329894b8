// The two time loops of the leaky recurrence (neurodyn/models/recurrence.py), in C++.
//
// Why: at small N a Python loop spends most of each step dispatching half a dozen tiny ops.
// Here each step is one matmul-add through ATen (BLAS) and one pass over the B x N block that
// does the activation and the leaky update (forward), or the gradient product and the leak
// (backward). Everything else (the slopes, the weight gradient as one large matmul) stays in
// Python. Layout [E, T, B, N], contiguous; members are independent, so the member loop is
// outside the time loop and every block a step touches is contiguous.
//
// Activations: 0 relu, 1 tanh, 2 softplus, 3 retanh (tanh of relu).

#include <torch/extension.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

namespace {

constexpr int64_t kGrain = 1 << 14;

// h_out = h + alpha (r - h), with r = relu(pre) computed in the same pass when `fused_relu`.
template <typename scalar_t>
void leaky_update(const scalar_t* r, const scalar_t* h, scalar_t* h_out, int64_t n, scalar_t alpha,
                  bool fused_relu) {
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    if (fused_relu) {
      for (int64_t i = begin; i < end; ++i) {
        const scalar_t v = r[i] > 0 ? r[i] : scalar_t(0);
        h_out[i] = h[i] + alpha * (v - h[i]);
      }
    } else {
      for (int64_t i = begin; i < end; ++i) h_out[i] = h[i] + alpha * (r[i] - h[i]);
    }
  });
}

// g = delta * slope; carry = direct + (1 - alpha) delta
template <typename scalar_t>
void gradient_pass(const scalar_t* delta, const scalar_t* slope, const scalar_t* direct,
                   scalar_t* g, scalar_t* carry, int64_t n, scalar_t leak) {
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      g[i] = delta[i] * slope[i];
      carry[i] = direct[i] + leak * delta[i];
    }
  });
}

}  // namespace

// drive [E, T, B, N], h0 [E, B, N], w_rec_t [E, N, N] (W_rec transposed).
// Returns states [E, T, B, N] (h_1 .. h_T) and pre-activations [E, T, B, N].
std::vector<at::Tensor> recurrence_forward(const at::Tensor& drive, const at::Tensor& h0,
                                           const at::Tensor& w_rec_t, double alpha,
                                           int64_t activation) {
  TORCH_CHECK(drive.is_contiguous() && h0.is_contiguous(), "drive and h0 must be contiguous");
  at::NoGradGuard no_grad;
  auto states = at::empty_like(drive);
  // pre starts as the drive, and each step adds W_rec h in place (no copy per step)
  auto pre = drive.clone();
  auto rate = at::empty_like(h0.select(0, 0));
  const int64_t n_members = drive.size(0), n_steps = drive.size(1);
  const int64_t block = drive.size(2) * drive.size(3);
  AT_DISPATCH_FLOATING_TYPES(drive.scalar_type(), "recurrence_forward", [&] {
    const auto a = static_cast<scalar_t>(alpha);
    for (int64_t e = 0; e < n_members; ++e) {
      const auto w = w_rec_t.select(0, e);
      const auto pre_e = pre.select(0, e), states_e = states.select(0, e);
      scalar_t* states_ptr = states_e.data_ptr<scalar_t>();
      at::Tensor h = h0.select(0, e);
      for (int64_t t = 0; t < n_steps; ++t) {
        auto p = pre_e.select(0, t);
        p.addmm_(h, w);
        const scalar_t* r = p.data_ptr<scalar_t>();
        if (activation == 1) {
          at::tanh_out(rate, p);
          r = rate.data_ptr<scalar_t>();
        } else if (activation == 2) {
          at::softplus_out(rate, p, 1, 20);
          r = rate.data_ptr<scalar_t>();
        } else if (activation == 3) {
          at::clamp_min_out(rate, p, 0);
          rate.tanh_();
          r = rate.data_ptr<scalar_t>();
        }
        leaky_update<scalar_t>(r, h.data_ptr<scalar_t>(), states_ptr + t * block, block, a,
                               activation == 0);
        h = states_e.select(0, t);
      }
    }
  });
  return {states, pre};
}

// grad_states [E, T, B, N] (dL/dh_t from outside the recurrence), slope [E, T, B, N]
// (alpha f'(pre_t)), w_rec [E, N, N]. Returns dL/dpre [E, T, B, N] and the total dL/dh_1
// [E, B, N] (from which the caller gets dL/dh0).
std::vector<at::Tensor> recurrence_backward(const at::Tensor& grad_states, const at::Tensor& slope,
                                            const at::Tensor& w_rec, double alpha) {
  TORCH_CHECK(grad_states.is_contiguous() && slope.is_contiguous(), "inputs must be contiguous");
  at::NoGradGuard no_grad;
  auto grad_pre = at::empty_like(grad_states);
  const int64_t n_members = grad_states.size(0), n_steps = grad_states.size(1);
  auto first = at::empty({n_members, grad_states.size(2), grad_states.size(3)},
                         grad_states.options());
  // delta (the total dL/dh_t) alternates between two buffers: a matmul cannot write where it
  // reads
  at::Tensor buffers[2] = {at::empty_like(first.select(0, 0)), at::empty_like(first.select(0, 0))};
  const int64_t block = buffers[0].numel();
  AT_DISPATCH_FLOATING_TYPES(grad_states.scalar_type(), "recurrence_backward", [&] {
    const auto leak = static_cast<scalar_t>(1 - alpha);
    for (int64_t e = 0; e < n_members; ++e) {
      const auto w = w_rec.select(0, e);
      const auto gp = grad_pre.select(0, e);
      const scalar_t* direct = grad_states.select(0, e).data_ptr<scalar_t>();
      const scalar_t* sl = slope.select(0, e).data_ptr<scalar_t>();
      scalar_t* gp_ptr = gp.data_ptr<scalar_t>();
      const scalar_t* delta = direct + (n_steps - 1) * block;
      for (int64_t t = n_steps - 1; t > 0; --t) {
        // g_t = delta * slope_t, and dL/dh_{t-1} = direct + (1 - alpha) delta + g_t W_rec
        auto& next = buffers[t % 2];
        gradient_pass<scalar_t>(delta, sl + t * block, direct + (t - 1) * block,
                                gp_ptr + t * block, next.data_ptr<scalar_t>(), block, leak);
        next.addmm_(gp.select(0, t), w);
        delta = next.data_ptr<scalar_t>();
      }
      scalar_t* first_ptr = first.select(0, e).data_ptr<scalar_t>();
      for (int64_t i = 0; i < block; ++i) {
        gp_ptr[i] = delta[i] * sl[i];
        first_ptr[i] = delta[i];
      }
    }
  });
  return {grad_pre, first};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &recurrence_forward, "leaky recurrence, forward loop");
  m.def("backward", &recurrence_backward, "leaky recurrence, backward loop");
}
