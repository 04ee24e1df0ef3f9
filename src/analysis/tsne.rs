//! t-SNE (van der Maaten & Hinton 2008; Barnes–Hut: van der Maaten 2014) with scikit-learn's
//! conventions, plus a watershed clustering of the embedding's kernel-density map (how seed 003
//! finds gait phases).
//!
//! Affinities: for each point a Gaussian over squared Euclidean distances whose bandwidth is
//! found by bisection so that its perplexity matches `perplexity` (tolerance 1e-5 in entropy,
//! at most 100 steps); over all other points (exact) or the ⌊3·perplexity⌋ + 1 nearest
//! (Barnes–Hut); symmetrised P = (P + Pᵀ) / Σ. Embedding: 2-D, Student-t kernel (one degree of
//! freedom), initialised by PCA scaled to a first-axis standard deviation of 1e-4 (or seeded
//! Gaussian noise), gradient descent with momentum (0.5, then 0.8), per-coordinate gains
//! (+0.2 / ×0.8, ≥ 0.01; reset with the momentum when the exaggeration ends), early
//! exaggeration (×12 for 250 iterations), learning rate
//! max(n / 12 / 4, 50). Barnes–Hut approximates the repulsive forces with a quadtree (θ = 0.5).
//! The KL divergence returned is computed exactly on the final embedding (with the sparse P for
//! Barnes–Hut). Everything is sequential and seeded: same input, same seed, same bits.

use crate::fmath;
use crate::fmath::FloatExt;
use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};

use super::normalize::Normalization;
use super::pca::{pca, FitOn, PcaConfig};

/// Exact or Barnes–Hut gradients.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum TsneMethod {
    /// O(n²) per iteration; for up to a few thousand points.
    Exact,
    /// O(n log n) per iteration; `theta` trades accuracy for speed (0.5 in scikit-learn).
    BarnesHut { theta: f64 },
}

/// How to start the embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TsneInit {
    /// The top two PCs, scaled to a standard deviation of 1e-4 along the first.
    Pca,
    /// Gaussian noise of standard deviation 1e-4 from the seed.
    Random,
}

/// How to run t-SNE.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TsneConfig {
    /// Effective number of neighbours (30 in scikit-learn); must be < n_points.
    pub perplexity: f64,
    /// Gradient-descent iterations in all (1000).
    pub n_iter: usize,
    /// Iterations with exaggerated attraction at the start (250).
    pub exaggeration_iter: usize,
    /// Factor on P during those iterations (12).
    pub early_exaggeration: f64,
    /// Step size; `None` = max(n / early_exaggeration / 4, 50).
    pub learning_rate: Option<f64>,
    pub method: TsneMethod,
    pub init: TsneInit,
    /// Seed of the random initialisation.
    pub seed: u64,
}

impl Default for TsneConfig {
    fn default() -> Self {
        Self {
            perplexity: 30.0,
            n_iter: 1000,
            exaggeration_iter: 250,
            early_exaggeration: 12.0,
            learning_rate: None,
            method: TsneMethod::BarnesHut { theta: 0.5 },
            init: TsneInit::Pca,
            seed: 0,
        }
    }
}

/// Why t-SNE could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TsneError {
    #[error("perplexity must be positive and below the number of points ({n_points}), got {perplexity}")]
    BadPerplexity { perplexity: f64, n_points: usize },
    #[error("need at least 3 points of at least 1 dimension, got shape {0:?}")]
    TooFewPoints(Vec<usize>),
    #[error("input contains a non-finite value (NaN or infinity)")]
    NonFinite,
    #[error("bad optimiser setting: {0}")]
    BadSetting(String),
}

/// A 2-D embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct Tsne {
    /// `(n_points x 2)`
    pub embedding: Array2<f64>,
    /// KL(P ‖ Q) of the final embedding.
    pub kl_divergence: f64,
}

/// Sparse symmetric affinities: for each point, (neighbour, p_ij) with Σ_ij p_ij = 1.
struct Affinities {
    rows: Vec<Vec<(usize, f64)>>,
}

/// t-SNE of the rows of `x` `(n_points x n_dims)`.
pub fn tsne(x: ArrayView2<f64>, config: &TsneConfig) -> Result<Tsne, TsneError> {
    let (n_points, n_dims) = x.dim();
    if n_points < 3 || n_dims == 0 {
        return Err(TsneError::TooFewPoints(x.shape().to_vec()));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(TsneError::NonFinite);
    }
    if !(config.perplexity > 0.0 && config.perplexity < n_points as f64) {
        return Err(TsneError::BadPerplexity { perplexity: config.perplexity, n_points });
    }
    if !(config.early_exaggeration.is_finite() && config.early_exaggeration > 0.0) {
        return Err(TsneError::BadSetting(format!("early exaggeration {}", config.early_exaggeration)));
    }
    if let Some(rate) = config.learning_rate.filter(|r| !(r.is_finite() && *r > 0.0)) {
        return Err(TsneError::BadSetting(format!("learning rate {rate}")));
    }
    if let TsneMethod::BarnesHut { theta } = config.method {
        if !(theta.is_finite() && theta >= 0.0) {
            return Err(TsneError::BadSetting(format!("theta {theta}")));
        }
    }
    let n_neighbours = match config.method {
        TsneMethod::Exact => n_points - 1,
        TsneMethod::BarnesHut { .. } => ((3.0 * config.perplexity) as usize + 1).min(n_points - 1),
    };
    let p = affinities(x, config.perplexity, n_neighbours);
    let mut y = initial_embedding(x, config)?;
    let learning_rate = config.learning_rate.unwrap_or((n_points as f64 / config.early_exaggeration / 4.0).fmax(50.0));
    let mut update = Array2::<f64>::zeros((n_points, 2));
    let mut gains = Array2::<f64>::ones((n_points, 2));
    let mut grad = Array2::<f64>::zeros((n_points, 2));
    for iter in 0..config.n_iter {
        let (exaggeration, momentum) =
            if iter < config.exaggeration_iter { (config.early_exaggeration, 0.5) } else { (1.0, 0.8) };
        if iter == config.exaggeration_iter {
            // The second phase starts afresh, as scikit-learn's second `_gradient_descent` call does.
            update.fill(0.0);
            gains.fill(1.0);
        }
        match config.method {
            TsneMethod::Exact => exact_gradient(&p, &y, exaggeration, &mut grad),
            TsneMethod::BarnesHut { theta } => barnes_hut_gradient(&p, &y, exaggeration, theta, &mut grad),
        }
        for ((g, u), (gain, yv)) in grad.iter_mut().zip(update.iter_mut()).zip(gains.iter_mut().zip(y.iter_mut())) {
            if *u * *g < 0.0 {
                *gain += 0.2;
            } else {
                *gain *= 0.8;
            }
            *gain = gain.fmax(0.01);
            *u = momentum * *u - learning_rate * *gain * *g;
            *yv += *u;
        }
    }
    let kl_divergence = kl_divergence(&p, &y);
    Ok(Tsne { embedding: y, kl_divergence })
}

/// Squared Euclidean distances from row `i` to every row.
fn squared_distances_from(x: ArrayView2<f64>, i: usize) -> Vec<f64> {
    let xi = x.row(i);
    x.rows().into_iter().map(|xj| xi.iter().zip(xj).map(|(a, b)| (a - b) * (a - b)).sum()).collect()
}

/// Symmetrised, normalised affinities over each point's `n_neighbours` nearest neighbours.
fn affinities(x: ArrayView2<f64>, perplexity: f64, n_neighbours: usize) -> Affinities {
    let n_points = x.nrows();
    let mut conditional: Vec<Vec<(usize, f64)>> = Vec::with_capacity(n_points);
    for i in 0..n_points {
        let distances = squared_distances_from(x, i);
        let mut neighbours: Vec<usize> = (0..n_points).filter(|&j| j != i).collect();
        if n_neighbours < n_points - 1 {
            neighbours.sort_by(|&a, &b| distances[a].total_cmp(&distances[b]).then(a.cmp(&b)));
            neighbours.truncate(n_neighbours);
        }
        let d: Vec<f64> = neighbours.iter().map(|&j| distances[j]).collect();
        let probs = conditional_probabilities(&d, perplexity);
        conditional.push(neighbours.into_iter().zip(probs).collect());
    }
    // P + Pᵀ, normalised to sum 1.
    let mut sym: Vec<std::collections::BTreeMap<usize, f64>> = vec![Default::default(); n_points];
    for (i, row) in conditional.iter().enumerate() {
        for &(j, pij) in row {
            *sym[i].entry(j).or_insert(0.0) += pij;
            *sym[j].entry(i).or_insert(0.0) += pij;
        }
    }
    let total: f64 = sym.iter().flat_map(|row| row.values()).sum();
    let total = total.fmax(f64::EPSILON);
    Affinities {
        rows: sym
            .into_iter()
            .map(|row| row.into_iter().map(|(j, v)| (j, (v / total).fmax(f64::EPSILON))).collect())
            .collect(),
    }
}

/// exp(−β d) normalised, with β bisected so the entropy (nats) is ln(perplexity) (scikit-learn's
/// `_binary_search_perplexity`).
fn conditional_probabilities(distances: &[f64], perplexity: f64) -> Vec<f64> {
    let desired = fmath::ln(perplexity);
    let (mut beta, mut beta_min, mut beta_max) = (1.0f64, f64::NEG_INFINITY, f64::INFINITY);
    let mut p = vec![0.0; distances.len()];
    for _ in 0..100 {
        for (pj, &d) in p.iter_mut().zip(distances) {
            *pj = fmath::exp(-d * beta);
        }
        let sum_p = p.iter().sum::<f64>().fmax(1e-8);
        let mut weighted = 0.0;
        for (pj, &d) in p.iter_mut().zip(distances) {
            *pj /= sum_p;
            weighted += d * *pj;
        }
        let entropy = fmath::ln(sum_p) + beta * weighted;
        let diff = entropy - desired;
        if diff.abs() <= 1e-5 {
            break;
        }
        if diff > 0.0 {
            beta_min = beta;
            beta = if beta_max == f64::INFINITY { beta * 2.0 } else { (beta + beta_max) / 2.0 };
        } else {
            beta_max = beta;
            beta = if beta_min == f64::NEG_INFINITY { beta / 2.0 } else { (beta + beta_min) / 2.0 };
        }
    }
    p
}

fn initial_embedding(x: ArrayView2<f64>, config: &TsneConfig) -> Result<Array2<f64>, TsneError> {
    let n_points = x.nrows();
    let y = match config.init {
        TsneInit::Pca if x.ncols() >= 2 => {
            let pca_config =
                PcaConfig { n_components: 2, normalization: Normalization::None, fit_on: FitOn::AllConditions };
            // Data without spread (no principal components) starts from noise instead.
            let Ok(fit) = pca(x.insert_axis(ndarray::Axis(0)), &pca_config) else {
                return Ok(random_init(n_points, config.seed));
            };
            let scores = fit.scores.index_axis_move(ndarray::Axis(0), 0);
            let col = scores.column(0);
            let mean = col.mean().unwrap_or(0.0);
            let sd = (col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n_points as f64).sqrt();
            if sd > 0.0 {
                scores * (1e-4 / sd)
            } else {
                random_init(n_points, config.seed)
            }
        }
        _ => random_init(n_points, config.seed),
    };
    Ok(y)
}

/// Gaussian noise (Box–Muller), standard deviation 1e-4.
fn random_init(n_points: usize, seed: u64) -> Array2<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((n_points, 2), || {
        let (u1, u2): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random_range(0.0..1.0));
        1e-4 * (-2.0 * fmath::ln(u1)).sqrt() * fmath::cos(std::f64::consts::TAU * u2)
    })
}

/// 4 Σ_j (e·p_ij − q_ij) (1 + d_ij²)⁻¹ (y_i − y_j), q_ij = (1 + d_ij²)⁻¹ / Z, all pairs.
fn exact_gradient(p: &Affinities, y: &Array2<f64>, exaggeration: f64, grad: &mut Array2<f64>) {
    let n_points = y.nrows();
    let mut kernel = Array2::<f64>::zeros((n_points, n_points));
    let mut z = 0.0;
    for i in 0..n_points {
        for j in 0..n_points {
            if i != j {
                let (dx, dy) = (y[[i, 0]] - y[[j, 0]], y[[i, 1]] - y[[j, 1]]);
                let k = 1.0 / (1.0 + dx * dx + dy * dy);
                kernel[[i, j]] = k;
                z += k;
            }
        }
    }
    grad.fill(0.0);
    for i in 0..n_points {
        // Repulsion from every point, attraction from P's neighbours.
        let (mut gx, mut gy) = (0.0, 0.0);
        for j in 0..n_points {
            let k = kernel[[i, j]];
            let q = k / z;
            gx -= q * k * (y[[i, 0]] - y[[j, 0]]);
            gy -= q * k * (y[[i, 1]] - y[[j, 1]]);
        }
        for &(j, pij) in &p.rows[i] {
            let k = kernel[[i, j]];
            gx += exaggeration * pij * k * (y[[i, 0]] - y[[j, 0]]);
            gy += exaggeration * pij * k * (y[[i, 1]] - y[[j, 1]]);
        }
        grad[[i, 0]] = 4.0 * gx;
        grad[[i, 1]] = 4.0 * gy;
    }
}

/// A quadtree node: its square, its points' count and centre of mass, children (if split).
struct Node {
    centre: [f64; 2],
    half_width: f64,
    count: usize,
    mass_centre: [f64; 2],
    /// First child's index in the arena (four in a row), or `None` for a leaf.
    children: Option<usize>,
    /// The point stored in a leaf (leaves hold one point, or several identical ones).
    point: Option<usize>,
}

/// A quadtree over the rows of `y` `(n_points x 2)`.
struct QuadTree {
    nodes: Vec<Node>,
}

impl QuadTree {
    fn new(y: &Array2<f64>) -> Self {
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for row in y.rows() {
            for a in 0..2 {
                lo[a] = lo[a].fmin(row[a]);
                hi[a] = hi[a].fmax(row[a]);
            }
        }
        let centre = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
        let half_width = ((hi[0] - lo[0]).fmax(hi[1] - lo[1]) / 2.0).fmax(1e-12) * (1.0 + 1e-9);
        let mut tree = Self { nodes: vec![Self::empty(centre, half_width)] };
        for i in 0..y.nrows() {
            tree.insert(0, i, [y[[i, 0]], y[[i, 1]]], y, 0);
        }
        tree
    }

    fn empty(centre: [f64; 2], half_width: f64) -> Node {
        Node { centre, half_width, count: 0, mass_centre: [0.0; 2], children: None, point: None }
    }

    fn insert(&mut self, node: usize, i: usize, pos: [f64; 2], y: &Array2<f64>, depth: usize) {
        {
            let n = &mut self.nodes[node];
            let c = n.count as f64;
            n.mass_centre = [(n.mass_centre[0] * c + pos[0]) / (c + 1.0), (n.mass_centre[1] * c + pos[1]) / (c + 1.0)];
            n.count += 1;
        }
        if self.nodes[node].children.is_none() {
            match self.nodes[node].point {
                None => {
                    self.nodes[node].point = Some(i);
                    return;
                }
                // Identical points (or too deep to separate) share a leaf.
                Some(other) if (y[[other, 0]] == pos[0] && y[[other, 1]] == pos[1]) || depth > 60 => return,
                Some(other) => {
                    self.split(node);
                    self.nodes[node].point = None;
                    let other_pos = [y[[other, 0]], y[[other, 1]]];
                    let child = self.child_for(node, other_pos);
                    self.insert(child, other, other_pos, y, depth + 1);
                }
            }
        }
        let child = self.child_for(node, pos);
        self.insert(child, i, pos, y, depth + 1);
    }

    fn split(&mut self, node: usize) {
        let (centre, half) = (self.nodes[node].centre, self.nodes[node].half_width / 2.0);
        let first = self.nodes.len();
        for quadrant in 0..4 {
            let cx = centre[0] + if quadrant & 1 == 1 { half } else { -half };
            let cy = centre[1] + if quadrant & 2 == 2 { half } else { -half };
            self.nodes.push(Self::empty([cx, cy], half));
        }
        self.nodes[node].children = Some(first);
    }

    fn child_for(&self, node: usize, pos: [f64; 2]) -> usize {
        let n = &self.nodes[node];
        let quadrant = usize::from(pos[0] > n.centre[0]) + 2 * usize::from(pos[1] > n.centre[1]);
        n.children.expect("split node") + quadrant
    }

    /// Adds point i's repulsion terms: Σ N_cell q̃ and Σ N_cell q̃² (y_i − c) with q̃ = 1/(1 + d²),
    /// using a cell's centre of mass when width / distance < θ (or the cell is a leaf).
    fn repulsion(&self, node: usize, i: usize, pos: [f64; 2], theta: f64, sum_q: &mut f64, force: &mut [f64; 2]) {
        let n = &self.nodes[node];
        if n.count == 0 || (n.children.is_none() && n.point == Some(i) && n.count == 1) {
            return;
        }
        let (dx, dy) = (pos[0] - n.mass_centre[0], pos[1] - n.mass_centre[1]);
        let dist_sq = dx * dx + dy * dy;
        let is_leaf = n.children.is_none();
        if is_leaf || 2.0 * n.half_width < theta * dist_sq.sqrt() {
            // A leaf holding i itself (with duplicates) counts only the others.
            let count = if is_leaf && n.point == Some(i) { n.count - 1 } else { n.count } as f64;
            let q = 1.0 / (1.0 + dist_sq);
            *sum_q += count * q;
            force[0] += count * q * q * dx;
            force[1] += count * q * q * dy;
            return;
        }
        let first = n.children.expect("not a leaf");
        for child in first..first + 4 {
            self.repulsion(child, i, pos, theta, sum_q, force);
        }
    }
}

/// The Barnes–Hut gradient: exact attraction over P's neighbours, quadtree repulsion.
fn barnes_hut_gradient(p: &Affinities, y: &Array2<f64>, exaggeration: f64, theta: f64, grad: &mut Array2<f64>) {
    let n_points = y.nrows();
    let tree = QuadTree::new(y);
    let mut sum_q = 0.0;
    let mut repulsion = vec![[0.0f64; 2]; n_points];
    for (i, force) in repulsion.iter_mut().enumerate() {
        tree.repulsion(0, i, [y[[i, 0]], y[[i, 1]]], theta, &mut sum_q, force);
    }
    for i in 0..n_points {
        let (mut gx, mut gy) = (0.0, 0.0);
        for &(j, pij) in &p.rows[i] {
            let (dx, dy) = (y[[i, 0]] - y[[j, 0]], y[[i, 1]] - y[[j, 1]]);
            let k = 1.0 / (1.0 + dx * dx + dy * dy);
            gx += exaggeration * pij * k * dx;
            gy += exaggeration * pij * k * dy;
        }
        grad[[i, 0]] = 4.0 * (gx - repulsion[i][0] / sum_q);
        grad[[i, 1]] = 4.0 * (gy - repulsion[i][1] / sum_q);
    }
}

/// KL(P ‖ Q) = Σ p_ij ln(p_ij / q_ij) over P's entries, with Z summed over all pairs.
fn kl_divergence(p: &Affinities, y: &Array2<f64>) -> f64 {
    let n_points = y.nrows();
    let kernel = |i: usize, j: usize| {
        let (dx, dy) = (y[[i, 0]] - y[[j, 0]], y[[i, 1]] - y[[j, 1]]);
        1.0 / (1.0 + dx * dx + dy * dy)
    };
    let mut z = 0.0;
    for i in 0..n_points {
        for j in 0..n_points {
            if i != j {
                z += kernel(i, j);
            }
        }
    }
    let mut kl = 0.0;
    for (i, row) in p.rows.iter().enumerate() {
        for &(j, pij) in row {
            let q = (kernel(i, j) / z).fmax(f64::EPSILON);
            kl += pij * fmath::ln(pij / q);
        }
    }
    kl
}

/// How to build the density map that [`watershed_clusters`] segments.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KdeConfig {
    /// Grid cells per side.
    pub grid_size: usize,
    /// Gaussian kernel standard deviation in embedding units; `None` = Scott's rule,
    /// n^(−1/6) × the mean of the two axes' standard deviations.
    pub bandwidth: Option<f64>,
    /// Margin around the points' bounding box, as a fraction of its larger side (at least three
    /// bandwidths, so the map holds nearly all of the density).
    pub margin_frac: f64,
}

impl Default for KdeConfig {
    fn default() -> Self {
        Self { grid_size: 100, bandwidth: None, margin_frac: 0.1 }
    }
}

/// Why the density map could not be segmented.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClusterError {
    #[error("need at least 2 points in 2 dimensions, got shape {0:?}")]
    BadShape(Vec<usize>),
    #[error("embedding contains a non-finite value")]
    NonFinite,
    #[error("grid must have at least 3 cells per side, got {0}")]
    BadGrid(usize),
    #[error("bandwidth must be positive and finite, got {0}")]
    BadBandwidth(f64),
}

/// Watershed clusters of an embedding's density map.
#[derive(Debug, Clone, PartialEq)]
pub struct Clusters {
    /// `(n_points)` cluster of each point, 0 … n_clusters − 1 (ordered by peak density, highest first).
    pub labels: Vec<usize>,
    pub n_clusters: usize,
    /// `(grid_size x grid_size)` density, indexed [row = y cell, column = x cell].
    pub density: Array2<f64>,
    /// `(grid_size x grid_size)` cluster of each grid cell.
    pub grid_labels: Array2<usize>,
    /// Centre of cell (0, 0) and cell width, embedding units: cell (r, c) is at
    /// (origin[0] + c·cell, origin[1] + r·cell).
    pub origin: [f64; 2],
    pub cell: f64,
}

/// Gaussian KDE of `embedding` `(n_points x 2)` on a square grid, segmented into the basins of
/// its local maxima: every cell climbs to its highest 8-neighbour until no neighbour is higher
/// (ties broken by cell index), and takes the label of the peak it reaches.
pub fn watershed_clusters(embedding: ArrayView2<f64>, config: &KdeConfig) -> Result<Clusters, ClusterError> {
    let (n_points, n_dims) = embedding.dim();
    if n_points < 2 || n_dims != 2 {
        return Err(ClusterError::BadShape(embedding.shape().to_vec()));
    }
    if embedding.iter().any(|v| !v.is_finite()) {
        return Err(ClusterError::NonFinite);
    }
    let g = config.grid_size;
    if g < 3 {
        return Err(ClusterError::BadGrid(g));
    }
    let sd = |a: usize| {
        let col = embedding.column(a);
        let mean = col.mean().unwrap_or(0.0);
        (col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n_points as f64).sqrt()
    };
    let bandwidth =
        config.bandwidth.unwrap_or_else(|| fmath::powf(n_points as f64, -1.0 / 6.0) * 0.5 * (sd(0) + sd(1)));
    if !(bandwidth.is_finite() && bandwidth > 0.0) {
        return Err(ClusterError::BadBandwidth(bandwidth));
    }
    let (lo, hi) = (0..2).fold(([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]), |(mut lo, mut hi), a| {
        for &v in embedding.column(a) {
            lo[a] = lo[a].fmin(v);
            hi[a] = hi[a].fmax(v);
        }
        (lo, hi)
    });
    let side = (hi[0] - lo[0]).fmax(hi[1] - lo[1]).fmax(bandwidth);
    let span = side + 2.0 * (config.margin_frac * side).fmax(3.0 * bandwidth);
    let cell = span / (g - 1) as f64;
    let origin = [(lo[0] + hi[0]) / 2.0 - span / 2.0, (lo[1] + hi[1]) / 2.0 - span / 2.0];
    let norm = 1.0 / (n_points as f64 * std::f64::consts::TAU * bandwidth * bandwidth);
    let density = Array2::from_shape_fn((g, g), |(r, c)| {
        let (gx, gy) = (origin[0] + c as f64 * cell, origin[1] + r as f64 * cell);
        norm * embedding
            .rows()
            .into_iter()
            .map(|p| fmath::exp(-((p[0] - gx).squared() + (p[1] - gy).squared()) / (2.0 * bandwidth * bandwidth)))
            .sum::<f64>()
    });
    // Steepest ascent: each cell's highest neighbour (itself if none is higher).
    let flat: Vec<f64> = density.iter().copied().collect();
    let higher = |a: usize, b: usize| flat[a] > flat[b] || (flat[a] == flat[b] && a < b);
    let up: Vec<usize> = (0..g * g)
        .map(|idx| {
            let (r, c) = (idx / g, idx % g);
            let mut best = idx;
            for dr in -1i64..=1 {
                for dc in -1i64..=1 {
                    let (nr, nc) = (r as i64 + dr, c as i64 + dc);
                    if (dr, dc) != (0, 0) && (0..g as i64).contains(&nr) && (0..g as i64).contains(&nc) {
                        let n = nr as usize * g + nc as usize;
                        if higher(n, best) {
                            best = n;
                        }
                    }
                }
            }
            best
        })
        .collect();
    let peak_of = |mut idx: usize| {
        while up[idx] != idx {
            idx = up[idx];
        }
        idx
    };
    let mut peaks: Vec<usize> = (0..g * g).filter(|&idx| up[idx] == idx).collect();
    peaks.sort_by(|&a, &b| flat[b].total_cmp(&flat[a]).then(a.cmp(&b)));
    let label_of_peak: std::collections::HashMap<usize, usize> =
        peaks.iter().enumerate().map(|(l, &p)| (p, l)).collect();
    let grid_labels = Array2::from_shape_fn((g, g), |(r, c)| label_of_peak[&peak_of(r * g + c)]);
    let labels = embedding
        .rows()
        .into_iter()
        .map(|p| {
            let c = (((p[0] - origin[0]) / cell).round() as usize).min(g - 1);
            let r = (((p[1] - origin[1]) / cell).round() as usize).min(g - 1);
            grid_labels[[r, c]]
        })
        .collect();
    Ok(Clusters { labels, n_clusters: peaks.len(), density, grid_labels, origin, cell })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n_per` points around each of `centres` (2-D Gaussian-ish blobs, seeded).
    fn blobs(centres: &[[f64; 2]], n_per: usize, spread: f64, seed: u64) -> (Array2<f64>, Vec<usize>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut x = Array2::zeros((centres.len() * n_per, 2));
        let mut truth = Vec::new();
        for (k, centre) in centres.iter().enumerate() {
            for i in 0..n_per {
                for a in 0..2 {
                    let v: f64 = (0..4).map(|_| rng.random_range(-1.0..1.0)).sum::<f64>() / 2.0;
                    x[[k * n_per + i, a]] = centre[a] + spread * v;
                }
                truth.push(k);
            }
        }
        (x, truth)
    }

    #[test]
    fn watershed_finds_separated_blobs() {
        let (x, truth) = blobs(&[[0.0, 0.0], [10.0, 0.0], [5.0, 9.0]], 60, 0.6, 1);
        let clusters = watershed_clusters(x.view(), &KdeConfig { grid_size: 60, ..Default::default() }).unwrap();
        assert_eq!(clusters.n_clusters, 3);
        // Same partition as the truth (labels may be permuted).
        for i in 0..truth.len() {
            for j in 0..truth.len() {
                assert_eq!(truth[i] == truth[j], clusters.labels[i] == clusters.labels[j]);
            }
        }
        // The density integrates to ≈ 1 over the grid (the margin holds almost all of the mass).
        let mass = clusters.density.sum() * clusters.cell * clusters.cell;
        assert!((mass - 1.0).abs() < 0.02, "mass {mass}");
    }

    #[test]
    fn perplexity_search_hits_its_target() {
        let d: Vec<f64> = (1..50).map(|k| (k as f64).sqrt()).collect();
        let p = conditional_probabilities(&d, 10.0);
        let entropy: f64 = -p.iter().filter(|&&v| v > 0.0).map(|v| v * v.ln()).sum::<f64>();
        assert!((entropy.exp() - 10.0).abs() < 1e-3, "perplexity {}", entropy.exp());
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn separates_clusters_and_is_reproducible() {
        let (x, truth) = blobs(&[[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]], 30, 0.5, 2);
        for method in [TsneMethod::Exact, TsneMethod::BarnesHut { theta: 0.5 }] {
            let config = TsneConfig { perplexity: 10.0, n_iter: 400, method, ..Default::default() };
            let a = tsne(x.view(), &config).unwrap();
            let b = tsne(x.view(), &config).unwrap();
            assert_eq!(a, b, "{method:?} not reproducible");
            // Every point's nearest embedded neighbour is from its own blob.
            for i in 0..truth.len() {
                let nearest = (0..truth.len())
                    .filter(|&j| j != i)
                    .min_by(|&p, &q| {
                        let d = |j: usize| {
                            (a.embedding[[i, 0]] - a.embedding[[j, 0]]).squared()
                                + (a.embedding[[i, 1]] - a.embedding[[j, 1]]).squared()
                        };
                        d(p).total_cmp(&d(q))
                    })
                    .unwrap();
                assert_eq!(truth[i], truth[nearest], "{method:?}: point {i}");
            }
            assert!(a.kl_divergence.is_finite() && a.kl_divergence > 0.0);
        }
    }

    #[test]
    fn identical_points_embed_without_error() {
        let x = Array2::<f64>::ones((12, 3));
        for method in [TsneMethod::Exact, TsneMethod::BarnesHut { theta: 0.5 }] {
            let fit =
                tsne(x.view(), &TsneConfig { perplexity: 4.0, n_iter: 50, method, ..Default::default() }).unwrap();
            assert!(fit.embedding.iter().all(|v| v.is_finite()), "{method:?}");
        }
    }

    #[test]
    fn rejects_bad_input() {
        let x = Array2::<f64>::zeros((10, 3));
        let bad = |config: TsneConfig| tsne(x.view(), &config).unwrap_err();
        assert!(matches!(bad(TsneConfig { perplexity: 10.0, ..Default::default() }), TsneError::BadPerplexity { .. }));
        assert!(matches!(
            bad(TsneConfig { perplexity: 3.0, learning_rate: Some(-1.0), ..Default::default() }),
            TsneError::BadSetting(_)
        ));
        assert!(matches!(
            tsne(Array2::<f64>::zeros((2, 3)).view(), &Default::default()),
            Err(TsneError::TooFewPoints(_))
        ));
        let mut nan = x.clone();
        nan[[0, 0]] = f64::NAN;
        assert_eq!(tsne(nan.view(), &TsneConfig { perplexity: 3.0, ..Default::default() }), Err(TsneError::NonFinite));
        assert!(matches!(watershed_clusters(x.view(), &KdeConfig::default()), Err(ClusterError::BadShape(_))));
    }
}
