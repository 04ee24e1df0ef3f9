//! The DQN of spec (1) ("DQN"; the authors' `DeepQNetwork.ipynb`): a hand and a random target as
//! one-hot pixels (value 10) in a 2 × 16 × 16 image, 8 king moves clipped by the walls, reward −1
//! per move and 0 on a hit (‖hand − target‖₂ ≤ radius), the radius starting at 8 and halved every
//! 1000 episodes down to 1.
//!
//! Network (the authors' `CnnDQN`): conv 2→8 (3×3) ReLU, conv 8→16 (3×3) ReLU, FC 2304→128 ReLU,
//! dropout 0.3, FC 128 ReLU, FC 8. Learner: Adam 1e-3, γ = 1, a replay buffer of 10⁵, batches of
//! 32 from 1000 transitions on, no target network, ε = 0.1 + 0.9·e^(−n/30000) with n reset at each
//! halving. As in the authors' code the network stays in training mode while it acts and while it
//! computes the TD target (dropout on); the greedy evaluation turns dropout off.
//!
//! Everything is seeded (ChaCha8 streams for the environment, ε, replay sampling and dropout) and
//! the arithmetic is `nn::dense`'s fixed order, so a run has the same bits natively and in wasm.

use crate::fmath::FloatExt;
use crate::nn::dense::{self, relu_backward, relu_in_place, DenseSlot};
use crate::nn::{Adam, Real};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The screen's side (pixels).
pub const SIDE: usize = 16;
/// The king moves as (Δx, Δy), in the authors' order.
pub const MOVES: [(i64, i64); 8] = [(1, 0), (0, 1), (-1, 0), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)];
const N_ACTIONS: usize = 8;

/// A 3×3 valid convolution, stride 1: `c_in` → `c_out` channels on a `side` × `side` image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvSlot {
    pub offset: usize,
    pub c_in: usize,
    pub c_out: usize,
    /// The input's side; the output's is side − 2.
    pub side: usize,
}

impl ConvSlot {
    pub fn n_params(&self) -> usize {
        self.c_out * self.c_in * 9 + self.c_out
    }
    pub fn out_side(&self) -> usize {
        self.side - 2
    }
    /// Weights `(c_out x c_in x 3 x 3)` as PyTorch's, then the bias `(c_out)`.
    fn w<'a, T>(&self, p: &'a [T]) -> &'a [T] {
        &p[self.offset..self.offset + self.c_out * self.c_in * 9]
    }
    fn b<'a, T>(&self, p: &'a [T]) -> &'a [T] {
        let s = self.offset + self.c_out * self.c_in * 9;
        &p[s..s + self.c_out]
    }
}

/// y `(rows x c_out x s' x s')` = conv(x `(rows x c_in x s x s)`), channel-major as PyTorch.
fn conv_forward<T: Real>(slot: &ConvSlot, params: &[T], x: &[T], rows: usize) -> Vec<T> {
    let (s, so) = (slot.side, slot.out_side());
    let (w, b) = (slot.w(params), slot.b(params));
    let mut y = vec![T::zero(); rows * slot.c_out * so * so];
    for r in 0..rows {
        let xr = &x[r * slot.c_in * s * s..(r + 1) * slot.c_in * s * s];
        let yr = &mut y[r * slot.c_out * so * so..(r + 1) * slot.c_out * so * so];
        for o in 0..slot.c_out {
            let plane = &mut yr[o * so * so..(o + 1) * so * so];
            plane.iter_mut().for_each(|v| *v = b[o]);
            for i in 0..slot.c_in {
                let xi = &xr[i * s * s..(i + 1) * s * s];
                for ky in 0..3 {
                    for kx in 0..3 {
                        let wk = w[((o * slot.c_in + i) * 3 + ky) * 3 + kx];
                        for oy in 0..so {
                            let src = &xi[(oy + ky) * s + kx..(oy + ky) * s + kx + so];
                            for (v, &xv) in plane[oy * so..(oy + 1) * so].iter_mut().zip(src) {
                                *v += wk * xv;
                            }
                        }
                    }
                }
            }
        }
    }
    y
}

/// The backward pass of [`conv_forward`]: adds the weight gradients to `grad` and returns dL/dx.
fn conv_backward<T: Real>(
    slot: &ConvSlot,
    params: &[T],
    x: &[T],
    dy: &[T],
    grad: &mut [T],
    rows: usize,
    want_dx: bool,
) -> Vec<T> {
    let (s, so) = (slot.side, slot.out_side());
    let w = slot.w(params);
    let n_w = slot.c_out * slot.c_in * 9;
    let mut dx = if want_dx { vec![T::zero(); rows * slot.c_in * s * s] } else { Vec::new() };
    let (gw, gb) = grad[slot.offset..slot.offset + slot.n_params()].split_at_mut(n_w);
    for r in 0..rows {
        let xr = &x[r * slot.c_in * s * s..(r + 1) * slot.c_in * s * s];
        let dyr = &dy[r * slot.c_out * so * so..(r + 1) * slot.c_out * so * so];
        for o in 0..slot.c_out {
            let plane = &dyr[o * so * so..(o + 1) * so * so];
            for &d in plane {
                gb[o] += d;
            }
            for i in 0..slot.c_in {
                let xi = &xr[i * s * s..(i + 1) * s * s];
                for ky in 0..3 {
                    for kx in 0..3 {
                        let k = ((o * slot.c_in + i) * 3 + ky) * 3 + kx;
                        let mut acc = T::zero();
                        for oy in 0..so {
                            let src = &xi[(oy + ky) * s + kx..(oy + ky) * s + kx + so];
                            acc += dense::dot(&plane[oy * so..(oy + 1) * so], src);
                        }
                        gw[k] += acc;
                        if want_dx {
                            let wk = w[k];
                            let dxi = &mut dx[(r * slot.c_in + i) * s * s..(r * slot.c_in + i + 1) * s * s];
                            for oy in 0..so {
                                let dst = &mut dxi[(oy + ky) * s + kx..(oy + ky) * s + kx + so];
                                for (g, &d) in dst.iter_mut().zip(&plane[oy * so..(oy + 1) * so]) {
                                    *g += wk * d;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    dx
}

/// Where the network's parameters sit.
#[derive(Debug, Clone, PartialEq)]
pub struct DqnLayout {
    pub conv1: ConvSlot,
    pub conv2: ConvSlot,
    pub fc1: DenseSlot,
    pub fc2: DenseSlot,
    pub fc3: DenseSlot,
    pub n_params: usize,
}

impl DqnLayout {
    /// The authors' network (`side` = 16), or a smaller one for tests.
    pub fn new(side: usize, hidden: usize) -> Self {
        let conv1 = ConvSlot { offset: 0, c_in: 2, c_out: 8, side };
        let conv2 = ConvSlot { offset: conv1.n_params(), c_in: 8, c_out: 16, side: side - 2 };
        let n_features = 16 * conv2.out_side() * conv2.out_side();
        let fc1 = DenseSlot { offset: conv2.offset + conv2.n_params(), n_in: n_features, n_out: hidden };
        let fc2 = DenseSlot { offset: fc1.offset + fc1.n_params(), n_in: hidden, n_out: hidden };
        let fc3 = DenseSlot { offset: fc2.offset + fc2.n_params(), n_in: hidden, n_out: N_ACTIONS };
        let n_params = fc3.offset + fc3.n_params();
        Self { conv1, conv2, fc1, fc2, fc3, n_params }
    }

    /// PyTorch's default initialisation: U(±1/√fan_in), fan_in = c_in·9 for a convolution.
    pub fn init_params(&self, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut params = vec![0.0f32; self.n_params];
        let ranges = [
            (self.conv1.offset, self.conv1.n_params(), self.conv1.c_in * 9),
            (self.conv2.offset, self.conv2.n_params(), self.conv2.c_in * 9),
            (self.fc1.offset, self.fc1.n_params(), self.fc1.n_in),
            (self.fc2.offset, self.fc2.n_params(), self.fc2.n_in),
            (self.fc3.offset, self.fc3.n_params(), self.fc3.n_in),
        ];
        for (offset, len, fan_in) in ranges {
            let bound = 1.0 / (fan_in as f64).sqrt();
            for p in &mut params[offset..offset + len] {
                *p = ((rng.random::<f64>() * 2.0 - 1.0) * bound) as f32;
            }
        }
        params
    }
}

/// What a forward pass keeps for its backward pass.
struct Forward<T> {
    x: Vec<T>,
    a1: Vec<T>,
    a2: Vec<T>,
    h1: Vec<T>,
    h1_relu: Vec<T>,
    h2: Vec<T>,
    q: Vec<T>,
}

/// Q values `(rows x 8)` of images `x` `(rows x 2 x side x side)`; `mask` is the dropout mask
/// after FC1 `(rows x hidden)` (values 0 or 1/(1 − p)), None for evaluation.
fn forward<T: Real>(layout: &DqnLayout, params: &[T], x: &[T], rows: usize, mask: Option<&[f32]>) -> Forward<T> {
    let mut a1 = conv_forward(&layout.conv1, params, x, rows);
    relu_in_place(&mut a1);
    let mut a2 = conv_forward(&layout.conv2, params, &a1, rows);
    relu_in_place(&mut a2);
    let (fc1, fc2, fc3) = (layout.fc1, layout.fc2, layout.fc3);
    let mut h1 = vec![T::zero(); rows * fc1.n_out];
    dense::forward(&a2, fc1.w(params), fc1.b(params), &mut h1, rows, fc1.n_in, fc1.n_out);
    relu_in_place(&mut h1);
    let h1_relu = h1.clone();
    if let Some(mask) = mask {
        for (v, &m) in h1.iter_mut().zip(mask) {
            *v *= T::from_f64(f64::from(m));
        }
    }
    let mut h2 = vec![T::zero(); rows * fc2.n_out];
    dense::forward(&h1, fc2.w(params), fc2.b(params), &mut h2, rows, fc2.n_in, fc2.n_out);
    relu_in_place(&mut h2);
    let mut q = vec![T::zero(); rows * N_ACTIONS];
    dense::forward(&h2, fc3.w(params), fc3.b(params), &mut q, rows, fc3.n_in, N_ACTIONS);
    Forward { x: x.to_vec(), a1, a2, h1, h1_relu, h2, q }
}

/// Adds dL/dparams for dL/dq `dq` to `grad`.
fn backward<T: Real>(
    layout: &DqnLayout,
    params: &[T],
    f: &Forward<T>,
    dq: &[T],
    mask: Option<&[f32]>,
    grad: &mut [T],
    rows: usize,
) {
    let (fc1, fc2, fc3) = (layout.fc1, layout.fc2, layout.fc3);
    let mut dh2 = vec![T::zero(); rows * fc2.n_out];
    let (dw, db) = fc3.grads_mut(grad);
    dense::backward(&f.h2, fc3.w(params), dq, dw, db, Some(&mut dh2), rows, fc3.n_in, N_ACTIONS);
    relu_backward(&f.h2, &mut dh2);
    let mut dh1 = vec![T::zero(); rows * fc1.n_out];
    let (dw, db) = fc2.grads_mut(grad);
    dense::backward(&f.h1, fc2.w(params), &dh2, dw, db, Some(&mut dh1), rows, fc2.n_in, fc2.n_out);
    if let Some(mask) = mask {
        for (g, &m) in dh1.iter_mut().zip(mask) {
            *g *= T::from_f64(f64::from(m));
        }
    }
    relu_backward(&f.h1_relu, &mut dh1);
    let mut da2 = vec![T::zero(); rows * fc1.n_in];
    let (dw, db) = fc1.grads_mut(grad);
    dense::backward(&f.a2, fc1.w(params), &dh1, dw, db, Some(&mut da2), rows, fc1.n_in, fc1.n_out);
    relu_backward(&f.a2, &mut da2);
    let mut da1 = conv_backward(&layout.conv2, params, &f.a1, &da2, grad, rows, true);
    relu_backward(&f.a1, &mut da1);
    conv_backward(&layout.conv1, params, &f.x, &da1, grad, rows, false);
}

/// The hand and the target, each (x, y) in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screen {
    pub hand: (usize, usize),
    pub target: (usize, usize),
}

impl Screen {
    /// The 2 × side × side image: channel 0 the hand, channel 1 the target, value 10.
    pub fn image<T: Real>(&self, side: usize, out: &mut [T]) {
        out.iter_mut().for_each(|v| *v = T::zero());
        out[self.hand.0 * side + self.hand.1] = T::from_f64(10.0);
        out[side * side + self.target.0 * side + self.target.1] += T::from_f64(10.0);
    }

    pub fn step(&self, action: usize, side: usize) -> Screen {
        let (dx, dy) = MOVES[action];
        let max = side as i64 - 1;
        let hand = ((self.hand.0 as i64 + dx).clamp(0, max) as usize, (self.hand.1 as i64 + dy).clamp(0, max) as usize);
        Screen { hand, target: self.target }
    }

    /// ‖hand − target‖₂ ≤ radius.
    pub fn hit(&self, radius: f64) -> bool {
        let dx = self.hand.0 as f64 - self.target.0 as f64;
        let dy = self.hand.1 as f64 - self.target.1 as f64;
        dx * dx + dy * dy <= radius * radius
    }

    pub fn chebyshev(&self) -> usize {
        self.hand.0.abs_diff(self.target.0).max(self.hand.1.abs_diff(self.target.1))
    }

    /// The fewest king moves to a hit at `radius` (breadth-first over the walls' clipping).
    pub fn fewest_moves(&self, radius: f64, side: usize) -> usize {
        let mut seen = vec![false; side * side];
        let mut frontier = vec![*self];
        seen[self.hand.0 * side + self.hand.1] = true;
        for moves in 0..side * side {
            if frontier.iter().any(|s| s.hit(radius)) {
                return moves;
            }
            let mut next = Vec::new();
            for s in &frontier {
                for a in 0..N_ACTIONS {
                    let n = s.step(a, side);
                    if !std::mem::replace(&mut seen[n.hand.0 * side + n.hand.1], true) {
                        next.push(n);
                    }
                }
            }
            frontier = next;
        }
        usize::MAX
    }
}

/// The learner's settings (the authors' by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DqnConfig {
    pub side: usize,
    pub hidden: usize,
    pub frames: usize,
    pub learning_rate: f64,
    pub gamma: f64,
    pub batch_size: usize,
    pub replay_capacity: usize,
    pub replay_start: usize,
    pub dropout: f64,
    pub epsilon_final: f64,
    pub epsilon_decay_frames: f64,
    pub radius_start: f64,
    pub episodes_per_halving: usize,
    pub max_episode_frames: usize,
    pub seed: u64,
}

impl DqnConfig {
    pub fn authors(seed: u64) -> Self {
        Self {
            side: SIDE,
            hidden: 128,
            frames: 100_000,
            learning_rate: 1e-3,
            gamma: 1.0,
            batch_size: 32,
            replay_capacity: 100_000,
            replay_start: 1000,
            dropout: 0.3,
            epsilon_final: 0.1,
            epsilon_decay_frames: 30_000.0,
            radius_start: 8.0,
            episodes_per_halving: 1000,
            max_episode_frames: 100_000,
            seed,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if !(5..=64).contains(&self.side) || !(1..=1024).contains(&self.hidden) {
            return Err(format!("side must be 5 … 64 and hidden 1 … 1024, got {} and {}", self.side, self.hidden));
        }
        if self.frames > 10_000_000 || self.replay_capacity > 10_000_000 || !(1..=1024).contains(&self.batch_size) {
            return Err("frames and replay capacity must be at most 10⁷, the batch 1 … 1024".into());
        }
        if self.episodes_per_halving == 0 || self.max_episode_frames == 0 {
            return Err("episodes per halving and the episode cap must be at least 1".into());
        }
        if self.replay_start < self.batch_size {
            return Err("the replay must start with at least one batch of transitions".into());
        }
        if !(0.0..0.95).contains(&self.dropout) || !(0.0..=1.0).contains(&self.gamma) {
            return Err("dropout must be in [0, 0.95) and γ in [0, 1]".into());
        }
        Ok(())
    }

    /// ε after `n` frames since the last halving.
    pub fn epsilon(&self, n: usize) -> f64 {
        self.epsilon_final + (1.0 - self.epsilon_final) * libm::exp(-(n as f64) / self.epsilon_decay_frames)
    }
}

/// One stored transition.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Transition {
    state: Screen,
    action: usize,
    reward: f32,
    next: Screen,
    done: bool,
}

/// A DQN run in progress: network, optimiser, replay, environment and counters.
#[derive(Debug, Clone)]
pub struct DqnState {
    pub layout: DqnLayout,
    pub params: Vec<f32>,
    adam: Adam,
    replay: Vec<Transition>,
    replay_next: usize,
    rng: ChaCha8Rng,
    screen: Screen,
    radius: f64,
    epsilon_frames: usize,
    episode_frames: usize,
    episode_reward: f64,
    pub frames_done: usize,
    /// Each finished episode's reward (−moves) and the radius it was played at.
    pub episodes: Vec<(f64, f64)>,
    /// The TD loss of each update.
    pub losses: Vec<f64>,
}

impl DqnState {
    pub fn new(config: &DqnConfig) -> Self {
        let layout = DqnLayout::new(config.side, config.hidden);
        let params = layout.init_params(config.seed);
        let mut rng = ChaCha8Rng::seed_from_u64(crate::task::random::episode_seed(config.seed, 0, 7));
        let screen = Self::new_trial(&mut rng, config.side, config.radius_start);
        Self {
            adam: Adam::new(params.len()),
            layout,
            params,
            replay: Vec::new(),
            replay_next: 0,
            rng,
            screen,
            radius: config.radius_start,
            epsilon_frames: 0,
            episode_frames: 0,
            episode_reward: 0.0,
            frames_done: 0,
            episodes: Vec::new(),
            losses: Vec::new(),
        }
    }

    /// A random target and a random hand not already hitting it.
    fn new_trial(rng: &mut ChaCha8Rng, side: usize, radius: f64) -> Screen {
        let target = (rng.random_range(0..side), rng.random_range(0..side));
        loop {
            let screen = Screen { hand: (rng.random_range(0..side), rng.random_range(0..side)), target };
            if !screen.hit(radius) {
                return screen;
            }
        }
    }

    fn dropout_mask(&mut self, config: &DqnConfig, rows: usize) -> Vec<f32> {
        let keep = (1.0 / (1.0 - config.dropout)) as f32;
        (0..rows * config.hidden).map(|_| if self.rng.random::<f64>() < config.dropout { 0.0 } else { keep }).collect()
    }

    /// The reward radius of the current episode.
    pub fn radius(&self) -> f64 {
        self.radius
    }

    /// ε for the next frame.
    pub fn epsilon(&self, config: &DqnConfig) -> f64 {
        config.epsilon(self.epsilon_frames)
    }

    /// Runs up to `max_frames` more frames; returns how many ran.
    pub fn advance(&mut self, config: &DqnConfig, max_frames: usize) -> usize {
        let side = config.side;
        let pixels = 2 * side * side;
        let mut image = vec![0.0f32; pixels];
        let mut ran = 0;
        while ran < max_frames && self.frames_done < config.frames {
            // Act: ε-greedy with the network in training mode (dropout on), as the authors.
            let epsilon = config.epsilon(self.epsilon_frames);
            let action = if self.rng.random::<f64>() > epsilon {
                self.screen.image(side, &mut image);
                let mask = self.dropout_mask(config, 1);
                let f = forward(&self.layout, &self.params, &image, 1, Some(&mask));
                argmax(&f.q)
            } else {
                self.rng.random_range(0..N_ACTIONS)
            };
            let next = self.screen.step(action, side);
            let done = next.hit(self.radius);
            let reward = if done { 0.0 } else { -1.0 };
            let transition = Transition { state: self.screen, action, reward, next, done };
            if self.replay.len() < config.replay_capacity {
                self.replay.push(transition);
            } else {
                self.replay[self.replay_next] = transition;
                self.replay_next = (self.replay_next + 1) % config.replay_capacity;
            }
            self.screen = next;
            self.episode_reward += f64::from(reward);
            self.episode_frames += 1;
            self.epsilon_frames += 1;
            if done || self.episode_frames > config.max_episode_frames {
                self.episodes.push((self.episode_reward, self.radius));
                self.episode_reward = 0.0;
                self.episode_frames = 0;
                if self.episodes.len().is_multiple_of(config.episodes_per_halving) {
                    self.radius = (self.radius / 2.0).fmax(1.0);
                    self.epsilon_frames = 0;
                }
                self.screen = Self::new_trial(&mut self.rng, side, self.radius);
            }
            if self.replay.len() > config.replay_start {
                self.update(config);
            }
            self.frames_done += 1;
            ran += 1;
        }
        ran
    }

    /// One TD(0) update on a batch drawn without replacement from the replay.
    fn update(&mut self, config: &DqnConfig) {
        let (side, rows) = (config.side, config.batch_size);
        let pixels = 2 * side * side;
        let mut picked: Vec<usize> = Vec::with_capacity(rows);
        while picked.len() < rows {
            let k = self.rng.random_range(0..self.replay.len());
            if !picked.contains(&k) {
                picked.push(k);
            }
        }
        let batch: Vec<Transition> = picked.iter().map(|&k| self.replay[k]).collect();
        let mut states = vec![0.0f32; rows * pixels];
        let mut nexts = vec![0.0f32; rows * pixels];
        for (r, t) in batch.iter().enumerate() {
            t.state.image(side, &mut states[r * pixels..(r + 1) * pixels]);
            t.next.image(side, &mut nexts[r * pixels..(r + 1) * pixels]);
        }
        let mask_q = self.dropout_mask(config, rows);
        let mask_next = self.dropout_mask(config, rows);
        let f = forward(&self.layout, &self.params, &states, rows, Some(&mask_q));
        let next = forward(&self.layout, &self.params, &nexts, rows, Some(&mask_next));
        let mut dq = vec![0.0f32; rows * N_ACTIONS];
        let mut loss = 0.0;
        for (r, t) in batch.iter().enumerate() {
            let best_next =
                next.q[r * N_ACTIONS..(r + 1) * N_ACTIONS].iter().copied().fold(f32::NEG_INFINITY, f32::fmax);
            let not_done = if t.done { 0.0 } else { 1.0 };
            let target = t.reward + config.gamma as f32 * best_next * not_done;
            let error = f.q[r * N_ACTIONS + t.action] - target;
            loss += f64::from(error * error) / rows as f64;
            dq[r * N_ACTIONS + t.action] = 2.0 * error / rows as f32;
        }
        let mut grad = vec![0.0f32; self.layout.n_params];
        backward(&self.layout, &self.params, &f, &dq, Some(&mask_q), &mut grad, rows);
        self.adam.update(&mut self.params, &grad, config.learning_rate);
        self.losses.push(loss);
    }
}

fn argmax(q: &[f32]) -> usize {
    let mut best = 0;
    for a in 1..q.len() {
        if q[a] > q[best] {
            best = a;
        }
    }
    best
}

/// Greedy trials (dropout off) from random screens: the spec's check 8.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DqnEvaluation {
    pub trials: usize,
    pub radius: f64,
    pub max_moves: usize,
    /// Trials that hit within `max_moves`.
    pub hits: usize,
    /// Mean of (moves − fewest possible moves) over the hits.
    pub mean_excess_moves: f64,
    /// Mean of (moves − Chebyshev distance) over the hits (the spec's wording).
    pub mean_moves_minus_chebyshev: f64,
}

/// The greedy path (dropout off) from `start` until a hit at `radius` or `max_moves` moves:
/// every screen, `start` first.
pub fn greedy_path(layout: &DqnLayout, params: &[f32], start: Screen, radius: f64, max_moves: usize) -> Vec<Screen> {
    let side = layout.conv1.side;
    let mut image = vec![0.0f32; 2 * side * side];
    let mut path = vec![start];
    let mut screen = start;
    while !screen.hit(radius) && path.len() <= max_moves {
        screen.image(side, &mut image);
        let f = forward(layout, params, &image, 1, None);
        screen = screen.step(argmax(&f.q), side);
        path.push(screen);
    }
    path
}

/// `n` random screens for greedy trials at `radius` (the evaluation's, for `seed`).
pub fn trial_screens(side: usize, radius: f64, n: usize, seed: u64) -> Vec<Screen> {
    let mut rng = ChaCha8Rng::seed_from_u64(crate::task::random::episode_seed(seed, 1, 8));
    (0..n).map(|_| DqnState::new_trial(&mut rng, side, radius)).collect()
}

/// Check 8's rule as the spec words it.
pub const CHECK_8_RULE: &str =
    "≥ 95 % of 1000 greedy trials hit within 50 moves; mean (moves − Chebyshev distance) ≤ 1";

/// Whether an evaluation meets check 8's rule (hits ≥ 95 %, mean moves − Chebyshev ≤ 1).
pub fn check_8_passed(e: &DqnEvaluation) -> bool {
    e.hits as f64 >= 0.95 * e.trials as f64 && e.mean_moves_minus_chebyshev <= 1.0
}

/// An evaluation being accumulated one greedy trial at a time (the page yields between trials).
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationTally {
    radius: f64,
    max_moves: usize,
    trials: usize,
    hits: usize,
    excess: f64,
    over_chebyshev: f64,
}

impl EvaluationTally {
    pub fn new(radius: f64, max_moves: usize) -> Self {
        Self { radius, max_moves, trials: 0, hits: 0, excess: 0.0, over_chebyshev: 0.0 }
    }

    /// Plays the greedy trial from `start`, counts it and returns its path.
    pub fn play(&mut self, layout: &DqnLayout, params: &[f32], start: Screen) -> Vec<Screen> {
        let path = greedy_path(layout, params, start, self.radius, self.max_moves);
        self.trials += 1;
        if path[path.len() - 1].hit(self.radius) {
            let moves = path.len() - 1;
            self.hits += 1;
            self.excess += (moves - start.fewest_moves(self.radius, layout.conv1.side)) as f64;
            self.over_chebyshev += moves as f64 - start.chebyshev() as f64;
        }
        path
    }

    pub fn finish(&self) -> DqnEvaluation {
        let per_hit = |v: f64| if self.hits > 0 { v / self.hits as f64 } else { f64::NAN };
        DqnEvaluation {
            trials: self.trials,
            radius: self.radius,
            max_moves: self.max_moves,
            hits: self.hits,
            mean_excess_moves: per_hit(self.excess),
            mean_moves_minus_chebyshev: per_hit(self.over_chebyshev),
        }
    }
}

/// Plays `trials` greedy trials at `radius` with at most `max_moves` moves each.
pub fn evaluate(
    config: &DqnConfig,
    params: &[f32],
    trials: usize,
    radius: f64,
    max_moves: usize,
    seed: u64,
) -> DqnEvaluation {
    let layout = DqnLayout::new(config.side, config.hidden);
    let mut tally = EvaluationTally::new(radius, max_moves);
    for start in trial_screens(config.side, radius, trials, seed) {
        tally.play(&layout, params, start);
    }
    tally.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradients_match_finite_differences() {
        let layout = DqnLayout::new(7, 6);
        let params: Vec<f64> = layout.init_params(2).iter().map(|&p| f64::from(p) * 1.3).collect();
        let rows = 3;
        let x: Vec<f64> = (0..rows * 2 * 49).map(|k| ((k * 29 % 17) as f64 / 17.0 - 0.3) * 2.0).collect();
        let mask: Vec<f32> = (0..rows * 6).map(|k| if k % 4 == 1 { 0.0 } else { 1.0 / 0.7 }).collect();
        let weights: Vec<f64> = (0..rows * 8).map(|k| (k % 5) as f64 - 2.0).collect();
        let loss = |p: &[f64]| {
            forward(&layout, p, &x, rows, Some(&mask)).q.iter().zip(&weights).map(|(q, w)| q * w).sum::<f64>()
        };
        let f = forward(&layout, &params, &x, rows, Some(&mask));
        let mut grad = vec![0.0; layout.n_params];
        backward(&layout, &params, &f, &weights, Some(&mask), &mut grad, rows);
        let eps = 1e-6;
        for k in 0..layout.n_params {
            let (mut plus, mut minus) = (params.clone(), params.clone());
            plus[k] += eps;
            minus[k] -= eps;
            let numeric = (loss(&plus) - loss(&minus)) / (2.0 * eps);
            assert!((numeric - grad[k]).abs() < 1e-6 * (1.0 + numeric.abs()), "param {k}: {numeric} vs {}", grad[k]);
        }
    }

    #[test]
    fn a_convolution_matches_a_hand_computed_value() {
        // One channel pair: a 4×4 input of 1…16 and a kernel of ones except the centre (2).
        let slot = ConvSlot { offset: 0, c_in: 1, c_out: 1, side: 4 };
        let mut params = vec![1.0f64; 10];
        params[4] = 2.0;
        params[9] = 0.5; // bias
        let x: Vec<f64> = (1..=16).map(f64::from).collect();
        let y = conv_forward(&slot, &params, &x, 1);
        // Output (0,0): the 3×3 block 1,2,3,5,6,7,9,10,11 sums to 54, plus the centre 6 again, plus 0.5.
        assert_eq!(y, vec![60.5, 70.5, 100.5, 110.5]);
    }

    #[test]
    fn the_environment_and_its_judge() {
        let s = Screen { hand: (0, 0), target: (5, 3) };
        assert_eq!(s.chebyshev(), 5);
        assert_eq!(s.fewest_moves(0.0, 16), 5);
        // Radius 1 counts the four neighbours: one move fewer here.
        assert_eq!(s.fewest_moves(1.0, 16), 4);
        assert_eq!(s.step(2, 16), s); // into the wall
        let mut image = vec![0.0f32; 2 * 256];
        s.image(16, &mut image);
        assert_eq!(image[0], 10.0);
        assert_eq!(image[256 + 5 * 16 + 3], 10.0);
        let c = DqnConfig::authors(1);
        assert!(
            (c.epsilon(0) - 1.0).abs() < 1e-12 && (c.epsilon(30_000) - (0.1 + 0.9 / std::f64::consts::E)).abs() < 1e-12
        );
    }

    #[test]
    fn a_run_in_pieces_is_the_run_in_one_go() {
        let config = DqnConfig {
            frames: 1200,
            side: 6,
            hidden: 16,
            replay_start: 200,
            episodes_per_halving: 50,
            radius_start: 4.0,
            ..DqnConfig::authors(3)
        };
        let mut a = DqnState::new(&config);
        assert_eq!(a.advance(&config, 5000), 1200);
        let mut b = DqnState::new(&config);
        b.advance(&config, 345);
        b.advance(&config, 5000);
        assert_eq!((a.params.clone(), a.losses.clone(), a.episodes.clone()), (b.params, b.losses, b.episodes));
        assert_eq!(a.losses.len(), 1200 - 200);
        // Episodes end on a hit (reward −(moves − 1)) and the radius halves every 50 of them.
        assert!(a.episodes.iter().all(|&(reward, _)| reward <= 0.0));
        let radii: Vec<f64> = a.episodes.iter().map(|&(_, r)| r).collect();
        assert!(radii.windows(2).all(|w| w[1] <= w[0]) && radii[0] == 4.0);
        let eval = evaluate(&config, &a.params, 20, 1.0, 30, 9);
        assert_eq!(eval.trials, 20);
        assert!(eval.hits <= 20 && (eval.hits == 0) == eval.mean_excess_moves.is_nan());
    }
}
