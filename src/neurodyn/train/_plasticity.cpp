// The local rule's time loop (neurodyn/train/plasticity.py, `train_local`), in C++.
//
// Why: the circuit is small (tens of units, tens of chains) and every Euler step of the Python
// loop dispatches about forty tiny tensor operations, so the time goes to dispatch. Here one
// call runs a block of steps with plain loops over float32 arrays, in the order the Python
// loop uses (stimulus, inputs, rates, reward, running averages, then the updates of W, C, b
// and D), from noise drawn by the caller. Single-threaded: the blocks are too small to split.
//
// Shapes (contiguous float32): w [N, N], c [N, K], b [N], d [O, N], theta [B], r [B, N],
// rr [B, N, N], rs [B, N, K], rm [B, N], noise [S, B, N + 1] (the last column drives theta).
// Returns the mean reward over chains at each of the S steps.

#include <torch/extension.h>

#include <cmath>
#include <vector>

namespace {

constexpr double kPi = 3.14159265358979323846;

inline float wrap(float x) {
  // to [-pi, pi), as torch.remainder(x + pi, 2 pi) - pi
  const float two_pi = static_cast<float>(2 * kPi);
  float y = std::fmod(x + static_cast<float>(kPi), two_pi);
  if (y < 0) y += two_pi;
  return y - static_cast<float>(kPi);
}

}  // namespace

torch::Tensor local_rule_steps(torch::Tensor w, torch::Tensor c, torch::Tensor b,
                               torch::Tensor d, torch::Tensor theta, torch::Tensor r,
                               torch::Tensor rr, torch::Tensor rs, torch::Tensor rm,
                               torch::Tensor noise, int64_t first_step, int64_t transient_steps,
                               std::vector<double> circuit, std::vector<double> stimulus,
                               std::vector<double> rule, int64_t classification) {
  const int64_t n = w.size(0), k_in = c.size(1), n_out = d.size(0), chains = r.size(0);
  const int64_t steps = noise.size(0);
  // circuit: dt, sigma, leak_r, alpha, beta, gamma, r_min, r_max
  const float dt = circuit[0], sigma = circuit[1], leak_r = circuit[2], f_alpha = circuit[3],
              beta = circuit[4], gamma = circuit[5], r_min = circuit[6], r_max = circuit[7];
  // stimulus: kappa, mu, sigma_s, boundary, output gain
  const float kappa = stimulus[0], mu = stimulus[1], sigma_s = stimulus[2],
              boundary = stimulus[3], out_gain = stimulus[4];
  // rule: average rate, then dt * A * eta and lambda for W, C, b, D
  const float a = rule[0], eta_w = rule[1], eta_c = rule[2], eta_b = rule[3], eta_d = rule[4],
              lam_w = rule[5], lam_c = rule[6], lam_b = rule[7], lam_d = rule[8];

  float* W = w.data_ptr<float>();
  float* C = c.data_ptr<float>();
  float* Bv = b.data_ptr<float>();
  float* D = d.data_ptr<float>();
  float* TH = theta.data_ptr<float>();
  float* R = r.data_ptr<float>();
  float* RR = rr.data_ptr<float>();
  float* RS = rs.data_ptr<float>();
  float* RM = rm.data_ptr<float>();
  const float* XI = noise.data_ptr<float>();
  auto rewards = torch::empty({steps}, torch::kFloat32);
  float* REW = rewards.data_ptr<float>();

  const float noise_r = sigma * std::sqrt(dt), noise_s = sigma_s * std::sqrt(dt);
  const float drift_s = -0.5f * sigma_s * sigma_s * kappa;
  std::vector<float> phi(k_in);
  for (int64_t k = 0; k < k_in; ++k) phi[k] = static_cast<float>(-kPi + 2 * kPi * k / k_in);

  std::vector<float> s(chains * k_in), reward(chains), err(chains * n_out), rnext(n);
  std::vector<float> dW(n * n), dC(n * k_in), dB(n), dD(n_out * n);

  for (int64_t step = 0; step < steps; ++step) {
    const float* xi = XI + step * chains * (n + 1);
    double total = 0;
    for (int64_t bi = 0; bi < chains; ++bi) {
      const float* x = xi + bi * (n + 1);
      float th = TH[bi];
      th = wrap(th + dt * drift_s * std::sin(th - mu) + noise_s * x[n]);
      TH[bi] = th;
      float* sb = s.data() + bi * k_in;
      for (int64_t k = 0; k < k_in; ++k) sb[k] = std::max(0.0f, std::cos(th - phi[k]));
      float* rb = R + bi * n;
      for (int64_t i = 0; i < n; ++i) {
        const float z = rb[i] / beta;
        const float inverse = (z + std::log(-std::expm1(-z)) - f_alpha) / gamma;
        float drive = -inverse / leak_r + Bv[i];
        const float* wi = W + i * n;
        for (int64_t j = 0; j < n; ++j) drive += wi[j] * rb[j];
        const float* ci = C + i * k_in;
        for (int64_t k = 0; k < k_in; ++k) drive += ci[k] * sb[k];
        const float v = rb[i] + dt * drive + noise_r * x[i];
        rnext[i] = std::min(std::max(v, r_min), r_max);
      }
      for (int64_t i = 0; i < n; ++i) rb[i] = rnext[i];
      // reward and the readout's error term
      float* eb = err.data() + bi * n_out;
      float rew;
      if (!classification) {
        const float y[2] = {std::cos(th), std::sin(th)};
        rew = 0;
        for (int64_t o = 0; o < n_out; ++o) {
          float out = 0;
          for (int64_t i = 0; i < n; ++i) out += D[o * n + i] * rb[i];
          eb[o] = y[o] - out;
          rew -= eb[o] * eb[o];
        }
      } else {
        float drive = 0;
        for (int64_t i = 0; i < n; ++i) drive += D[i] * rb[i];
        const float offset = wrap(th - boundary);
        const float label = (offset >= 0 || offset <= static_cast<float>(-kPi)) ? 1.0f : 0.0f;
        float out = 1.0f / (1.0f + std::exp(-out_gain * drive));
        out = std::min(std::max(out, 1e-4f), 1.0f - 1e-4f);
        rew = label * std::log(out) + (1 - label) * std::log1p(-out);
        eb[0] = out_gain * (label - out);
      }
      reward[bi] = rew;
      total += rew;
      // running averages
      float* rrb = RR + bi * n * n;
      float* rsb = RS + bi * n * k_in;
      float* rmb = RM + bi * n;
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < n; ++j) rrb[i * n + j] += a * (rb[i] * rb[j] - rrb[i * n + j]);
        for (int64_t k = 0; k < k_in; ++k) rsb[i * k_in + k] += a * (rb[i] * sb[k] - rsb[i * k_in + k]);
        rmb[i] += a * (rb[i] - rmb[i]);
      }
    }
    REW[step] = static_cast<float>(total / chains);
    if (first_step + step < transient_steps) continue;
    // the brackets, averaged over chains
    std::fill(dW.begin(), dW.end(), 0.0f);
    std::fill(dC.begin(), dC.end(), 0.0f);
    std::fill(dB.begin(), dB.end(), 0.0f);
    std::fill(dD.begin(), dD.end(), 0.0f);
    for (int64_t bi = 0; bi < chains; ++bi) {
      const float rew = reward[bi];
      const float* rb = R + bi * n;
      const float* sb = s.data() + bi * k_in;
      const float* rrb = RR + bi * n * n;
      const float* rsb = RS + bi * n * k_in;
      const float* rmb = RM + bi * n;
      const float* eb = err.data() + bi * n_out;
      for (int64_t i = 0; i < n; ++i) {
        const float ri = rew * rb[i];
        for (int64_t j = 0; j < n; ++j) dW[i * n + j] += ri * rb[j] - rew * rrb[i * n + j];
        for (int64_t k = 0; k < k_in; ++k) dC[i * k_in + k] += ri * sb[k] - rew * rsb[i * k_in + k];
        dB[i] += ri - rew * rmb[i];
      }
      for (int64_t o = 0; o < n_out; ++o)
        for (int64_t i = 0; i < n; ++i) dD[o * n + i] += eb[o] * rb[i];
    }
    const float inv = 1.0f / chains;
    for (int64_t i = 0; i < n * n; ++i) W[i] += eta_w * (dW[i] * inv - lam_w * W[i]);
    for (int64_t i = 0; i < n * k_in; ++i) C[i] += eta_c * (dC[i] * inv - lam_c * C[i]);
    for (int64_t i = 0; i < n; ++i) Bv[i] += eta_b * (dB[i] * inv - lam_b * Bv[i]);
    for (int64_t i = 0; i < n_out * n; ++i) D[i] += eta_d * (dD[i] * inv - lam_d * D[i]);
  }
  return rewards;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("local_rule_steps", &local_rule_steps, "a block of steps of the local rule, in place");
}
