// The two time loops of the leaky recurrence (neurodyn/models/recurrence.py), in C++.
//
// Why: at small N a Python loop spends most of each step dispatching half a dozen tiny ops.
// Here each step is one matmul-add through ATen (BLAS) and one pass over the B x N block that
// does the activation and the leaky update (forward), or the gradient product and the leak
// (backward). Everything else (the slopes, the weight gradient as one large matmul) stays in
// Python. Layout [E, T, B, N], contiguous; members are independent, so the member loop is
// outside the time loop and every block a step touches is contiguous.
//
// Activations: 0 relu, 1 tanh, 2 softplus, 3 retanh (tanh of relu), 4 linear (the identity).

#include <torch/extension.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

namespace {

constexpr int64_t kGrain = 1 << 14;

// h_out = h + alpha (r - h), with r = relu(pre) computed in the same pass when `fused_relu`
// (r is then the pre-activation, as it is for the linear activation without `fused_relu`).
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
  auto rate = at::empty_like(h0);
  const int64_t n_members = drive.size(0), n_steps = drive.size(1);
  const int64_t block = drive.size(2) * drive.size(3);  // one member's B x N
  const int64_t member_stride = n_steps * block;
  AT_DISPATCH_FLOATING_TYPES(drive.scalar_type(), "recurrence_forward", [&] {
    const auto a = static_cast<scalar_t>(alpha);
    at::Tensor h = h0;
    for (int64_t t = 0; t < n_steps; ++t) {
      // every member's step in one batched matmul (BLAS takes the member stride)
      auto p = pre.select(1, t);
      p.baddbmm_(h, w_rec_t);
      const bool fused_relu = activation == 0;
      // relu is applied inside the update and linear needs nothing: both read the
      // pre-activation itself
      const bool reads_pre = fused_relu || activation == 4;
      if (activation == 1) {
        at::tanh_out(rate, p);
      } else if (activation == 2) {
        at::softplus_out(rate, p, 1, 20);
      } else if (activation == 3) {
        at::clamp_min_out(rate, p, 0);
        rate.tanh_();
      }
      const scalar_t* h_ptr = h.data_ptr<scalar_t>();
      const int64_t h_stride = h.stride(0);
      for (int64_t e = 0; e < n_members; ++e) {
        const scalar_t* r = reads_pre ? p.data_ptr<scalar_t>() + e * member_stride
                                       : rate.data_ptr<scalar_t>() + e * block;
        leaky_update<scalar_t>(r, h_ptr + e * h_stride,
                               states.data_ptr<scalar_t>() + e * member_stride + t * block, block,
                               a, fused_relu);
      }
      h = states.select(1, t);
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
  const int64_t block = grad_states.size(2) * grad_states.size(3);
  const int64_t member_stride = n_steps * block;
  // delta (the total dL/dh_t) alternates between two buffers: a matmul cannot write where it
  // reads
  auto shape = std::vector<int64_t>{n_members, grad_states.size(2), grad_states.size(3)};
  at::Tensor buffers[2] = {at::empty(shape, grad_states.options()),
                           at::empty(shape, grad_states.options())};
  AT_DISPATCH_FLOATING_TYPES(grad_states.scalar_type(), "recurrence_backward", [&] {
    const auto leak = static_cast<scalar_t>(1 - alpha);
    const scalar_t* direct = grad_states.data_ptr<scalar_t>();
    const scalar_t* sl = slope.data_ptr<scalar_t>();
    scalar_t* gp = grad_pre.data_ptr<scalar_t>();
    at::Tensor delta = grad_states.select(1, n_steps - 1);  // dL/dh_t, walking back in time
    for (int64_t t = n_steps - 1; t > 0; --t) {
      // g_t = delta * slope_t, and dL/dh_{t-1} = direct + (1 - alpha) delta + g_t W_rec
      auto& next = buffers[t % 2];
      const scalar_t* d = delta.data_ptr<scalar_t>();
      const int64_t d_stride = delta.stride(0);
      for (int64_t e = 0; e < n_members; ++e) {
        const int64_t at_t = e * member_stride + t * block;
        gradient_pass<scalar_t>(d + e * d_stride, sl + at_t, direct + at_t - block, gp + at_t,
                                next.data_ptr<scalar_t>() + e * block, block, leak);
      }
      next.baddbmm_(grad_pre.select(1, t), w_rec);
      delta = next;
    }
    auto first = delta.contiguous();
    const scalar_t* d = first.data_ptr<scalar_t>();
    for (int64_t e = 0; e < n_members; ++e) {
      for (int64_t i = 0; i < block; ++i) {
        gp[e * member_stride + i] = d[e * block + i] * sl[e * member_stride + i];
      }
    }
    buffers[0] = first;
  });
  return {grad_pre, buffers[0].clone()};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &recurrence_forward, "leaky recurrence, forward loop");
  m.def("backward", &recurrence_backward, "leaky recurrence, backward loop");
}
