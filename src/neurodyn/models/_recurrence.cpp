// The two time loops of the leaky recurrence (neurodyn/models/recurrence.py), in C++, and the
// fixed-point finder's descent on the leaky map's speed (`speed_descent`, at the end).
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
#include <cmath>
#include <type_traits>
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


// -- the fixed-point finder's descent on the leaky map, F(h) = (1 - alpha) h + alpha f(pre) --
//
// `neurodyn.analysis._descent._descend_dense` with the closed-form speed of
// `CTRNN.speed_and_gradient`, iteration for iteration: per-state Adam on q(h) = |F(h) - h|^2 / 2,
// a step taken only where it does not raise q, a refused one restarting the state's moments.
// Why: at a hundred states of a hundred units the Python loop's ~25 element-wise tensor ops
// per iteration cost three times its two matmuls; here each iteration is the two matmuls and
// tanh through ATen and three passes over the states (tests/analysis hold the two equal).
namespace descent {

// f and f' of each activation but tanh (whose f comes through ATen, vectorised):
// 0 relu, 2 softplus, 3 retanh, 4 linear
template <typename scalar_t>
inline void activate(int64_t activation, scalar_t z, scalar_t& f, scalar_t& slope) {
  switch (activation) {
    case 0: f = z > 0 ? z : scalar_t(0); slope = z > 0 ? scalar_t(1) : scalar_t(0); break;
    case 2: f = z > 20 ? z : std::log1p(std::exp(z)); slope = 1 / (1 + std::exp(-z)); break;
    case 3: {
      const scalar_t t = z > 0 ? std::tanh(z) : scalar_t(0);
      f = t; slope = z > 0 ? 1 - t * t : scalar_t(0);
      break;
    }
    default: f = z; slope = 1; break;
  }
}

// tanh in float32 as a rational function, the one Eigen uses for float (`ptanh`): within a
// few ulp, and without branches or calls, so the pass below vectorises (libm's tanhf, or
// ATen's tanh as a separate pass, would be a fifth to a third of an iteration). float64 keeps
// ATen's tanh, the Python loop's to the bit.
inline float tanh_rational(float x) {
  constexpr float kClamp = 7.90531110763549805f;
  x = x < -kClamp ? -kClamp : (x > kClamp ? kClamp : x);
  const float x2 = x * x;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  return x * p / q;
}

// whether tanh comes from ATen (a pass of its own) rather than inside residual_pass
template <typename scalar_t>
constexpr bool kTanhThroughATen = !std::is_same_v<scalar_t, float>;

// r = alpha (f(pre) - x), weighted = f'(pre) r, q = |r|^2 / 2 for one state's N units
template <typename scalar_t>
inline scalar_t residual_pass(int64_t activation, const scalar_t* __restrict pre,
                              const scalar_t* __restrict rates, const scalar_t* __restrict x,
                              scalar_t* __restrict r, scalar_t* __restrict weighted, int64_t n,
                              scalar_t alpha) {
  scalar_t acc = 0;
  if (activation == 1) {
#pragma omp simd reduction(+ : acc)
    for (int64_t i = 0; i < n; ++i) {
      const scalar_t f = kTanhThroughATen<scalar_t> ? rates[i] : tanh_rational(pre[i]);
      const scalar_t ri = alpha * (f - x[i]);
      r[i] = ri;
      weighted[i] = (1 - f * f) * ri;
      acc += ri * ri;
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      scalar_t f, slope;
      activate<scalar_t>(activation, pre[i], f, slope);
      const scalar_t ri = alpha * (f - x[i]);
      r[i] = ri;
      weighted[i] = slope * ri;
      acc += ri * ri;
    }
  }
  return acc / 2;
}

// g *= cap / max(|g|, cap)
template <typename scalar_t>
inline void clip(scalar_t* __restrict g, int64_t n, scalar_t cap) {
  scalar_t nn = 0;
#pragma omp simd reduction(+ : nn)
  for (int64_t i = 0; i < n; ++i) nn += g[i] * g[i];
  const scalar_t scale = cap / std::max(std::sqrt(nn), cap);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) g[i] *= scale;
}

// Adam's moments and the proposal best - rate m / (sqrt(v_hat) + eps), as _descend_dense
template <typename scalar_t>
inline void adam_pass(const scalar_t* __restrict best, const scalar_t* __restrict g,
                      scalar_t* __restrict m, scalar_t* __restrict v, scalar_t* __restrict out,
                      int64_t n, scalar_t rate, scalar_t c2) {
  const scalar_t b1 = 0.1, b2 = 0.001, eps = 1e-8;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    m[i] += b1 * (g[i] - m[i]);
    v[i] += b2 * (g[i] * g[i] - v[i]);
    out[i] = best[i] - m[i] / ((std::sqrt(v[i] / c2) + eps) / rate);
  }
}

template <typename scalar_t>
void descend_impl(at::Tensor& best, const at::Tensor& drive, const at::Tensor& w_rec,
                  at::Tensor& active_t, at::Tensor& ran_t, at::Tensor& q_best_t, int64_t n_iters,
                  double alpha, int64_t activation, double lr0, double lr_increase,
                  double lr_decrease, double min_lr, double tol_dq, double max_grad_norm,
                  double stop_below) {
  const int64_t E = best.size(0), K = best.size(1), N = best.size(2), S = E * K;
  const auto w_rec_t = w_rec.transpose(1, 2);
  auto pre = at::empty_like(best), rates = at::empty_like(best), r = at::empty_like(best);
  auto weighted = at::empty_like(best), proposal = at::empty_like(best);
  auto g_new = at::empty_like(best), g_best = at::empty_like(best);
  auto m = at::zeros_like(best), v = at::zeros_like(best);
  std::vector<scalar_t> q_new(S), lr(S, static_cast<scalar_t>(lr0)), steps(S, 0);
  const scalar_t a = alpha, cap = max_grad_norm;
  scalar_t* Q = q_best_t.data_ptr<scalar_t>();
  // q at x into q_out [S], its clipped gradient into g; `only`: the states that need them (all
  // when null; a stopped state's never reach the result)
  auto speed = [&](const at::Tensor& x, scalar_t* q_out, at::Tensor& g, const bool* only) {
    at::baddbmm_out(pre, drive, x, w_rec_t);
    if (activation == 1 && kTanhThroughATen<scalar_t>) at::tanh_out(rates, pre);
    const scalar_t *P = pre.data_ptr<scalar_t>(), *F = rates.data_ptr<scalar_t>(),
                   *X = x.data_ptr<scalar_t>();
    scalar_t *R = r.data_ptr<scalar_t>(), *W = weighted.data_ptr<scalar_t>();
    for (int64_t s = 0; s < S; ++s) {
      if (only != nullptr && !only[s]) continue;
      q_out[s] = residual_pass<scalar_t>(activation, P + s * N, F + s * N, X + s * N, R + s * N,
                                         W + s * N, N, a);
    }
    // dq/dh = alpha (W_rec^T (f' r) - r)
    at::baddbmm_out(g, r, weighted, w_rec, -alpha, alpha);
    scalar_t* G = g.data_ptr<scalar_t>();
    for (int64_t s = 0; s < S; ++s) {
      if (only == nullptr || only[s]) clip<scalar_t>(G + s * N, N, cap);
    }
  };
  speed(best, Q, g_best, nullptr);
  scalar_t *B = best.data_ptr<scalar_t>(), *Pp = proposal.data_ptr<scalar_t>();
  scalar_t *M = m.data_ptr<scalar_t>(), *V = v.data_ptr<scalar_t>();
  scalar_t *Gb = g_best.data_ptr<scalar_t>(), *Gn = g_new.data_ptr<scalar_t>();
  bool* A = active_t.data_ptr<bool>();
  int64_t* Ran = ran_t.data_ptr<int64_t>();
  const scalar_t beta1 = 0.9, beta2 = 0.999;
  for (int64_t it = 0; it < n_iters; ++it) {
    // a stopped state never starts again: once all have, the rest would change nothing
    if (std::none_of(A, A + S, [](bool a) { return a; })) break;
    for (int64_t s = 0; s < S; ++s) {
      if (!A[s]) continue;
      steps[s] += 1;
      const scalar_t rate = lr[s] / (1 - std::pow(beta1, steps[s]));
      adam_pass<scalar_t>(B + s * N, Gb + s * N, M + s * N, V + s * N, Pp + s * N, N, rate,
                          1 - std::pow(beta2, steps[s]));
    }
    speed(proposal, q_new.data(), g_new, A);
    for (int64_t s = 0; s < S; ++s) {
      if (!A[s]) continue;
      const bool accept = q_new[s] <= Q[s];
      const bool small_gain = (Q[s] - q_new[s]) < tol_dq;
      if (accept) {
        std::copy(Pp + s * N, Pp + (s + 1) * N, B + s * N);
        std::copy(Gn + s * N, Gn + (s + 1) * N, Gb + s * N);
        Q[s] = q_new[s];
        lr[s] *= lr_increase;
      } else {
        // a refused step restarts the state's moments
        std::fill(M + s * N, M + (s + 1) * N, scalar_t(0));
        std::fill(V + s * N, V + (s + 1) * N, scalar_t(0));
        steps[s] = 0;
        lr[s] *= lr_decrease;
      }
      Ran[s] += 1;
      const bool stuck = (accept && small_gain) || (lr[s] < min_lr);
      A[s] = !((Q[s] < stop_below) || stuck);
    }
  }
}

}  // namespace descent

// h0, drive [E, K, N] (drive = W_in u + b), w_rec [E, N, N], active0 [E, K] bool. Returns
// best [E, K, N], q_best [E, K], active [E, K], ran [E, K] (int64: iterations each was active).
std::vector<at::Tensor> speed_descent(const at::Tensor& h0, const at::Tensor& drive,
                                const at::Tensor& w_rec, const at::Tensor& active0,
                                int64_t n_iters, double alpha, int64_t activation, double lr0,
                                double lr_increase, double lr_decrease, double min_lr,
                                double tol_dq, double max_grad_norm, double stop_below) {
  at::NoGradGuard no_grad;
  auto best = h0.contiguous().clone();
  auto active = active0.to(at::kBool).contiguous().clone();
  auto ran = at::zeros(active.sizes(), active.options().dtype(at::kLong));
  auto q_best = at::empty(active.sizes(), best.options());
  AT_DISPATCH_FLOATING_TYPES(best.scalar_type(), "speed_descent", [&] {
    descent::descend_impl<scalar_t>(best, drive.contiguous(), w_rec.contiguous(), active, ran, q_best,
                           n_iters, alpha, activation, lr0, lr_increase, lr_decrease, min_lr,
                           tol_dq, max_grad_norm, stop_below);
  });
  return {best, q_best, active, ran};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &recurrence_forward, "leaky recurrence, forward loop");
  m.def("backward", &recurrence_backward, "leaky recurrence, backward loop");
  m.def("speed_descent", &speed_descent, "fixed-point descent on the leaky map's speed");
}
