//! The discrete Fourier transform X[k] = Σⱼ x[j] e^(−2πi jk / n) in one fixed order of
//! operations, with twiddle factors from [`crate::fmath`]: the same bits natively and in wasm.
//! (rustfft computes its twiddles with the platform's `sin`/`cos` — glibc natively, Rust's libm
//! in wasm — and picks SIMD kernels at run time, so its last bits differ between the CLI and the
//! page.) Power-of-two lengths use the iterative radix-2 Cooley–Tukey transform, O(n log n);
//! other lengths the direct sum, O(n²).

/// A complex number.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct C64 {
    pub re: f64,
    pub im: f64,
}

impl C64 {
    pub fn new(re: f64, im: f64) -> Self {
        Self { re, im }
    }

    /// |z|².
    pub fn norm_sqr(self) -> f64 {
        self.re * self.re + self.im * self.im
    }

    fn mul(self, o: C64) -> C64 {
        C64::new(self.re * o.re - self.im * o.im, self.re * o.im + self.im * o.re)
    }

    fn add(self, o: C64) -> C64 {
        C64::new(self.re + o.re, self.im + o.im)
    }

    fn sub(self, o: C64) -> C64 {
        C64::new(self.re - o.re, self.im - o.im)
    }
}

/// A forward DFT of one length, with its twiddles computed once.
#[derive(Debug, Clone)]
pub struct Dft {
    n: usize,
    /// e^(−2πik / n) for k < n.
    twiddles: Vec<C64>,
}

impl Dft {
    pub fn new(n: usize) -> Self {
        let twiddles = (0..n)
            .map(|k| {
                let angle = -std::f64::consts::TAU * k as f64 / n as f64;
                C64::new(crate::fmath::cos(angle), crate::fmath::sin(angle))
            })
            .collect();
        Self { n, twiddles }
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Transforms `buf` (of this length) in place. `scratch` is reused between calls (the
    /// direct sum of a non-power-of-two length needs a copy of the input).
    pub fn forward(&self, buf: &mut [C64], scratch: &mut Vec<C64>) {
        assert_eq!(buf.len(), self.n, "a DFT of length {} given {} values", self.n, buf.len());
        if self.n <= 1 {
            return;
        }
        if self.n.is_power_of_two() {
            self.radix2(buf);
        } else {
            scratch.clear();
            scratch.extend_from_slice(buf);
            for (k, out) in buf.iter_mut().enumerate() {
                let mut sum = C64::default();
                for (j, &x) in scratch.iter().enumerate() {
                    sum = sum.add(x.mul(self.twiddles[(j * k) % self.n]));
                }
                *out = sum;
            }
        }
    }

    fn radix2(&self, buf: &mut [C64]) {
        let n = self.n;
        let bits = n.trailing_zeros();
        for i in 0..n {
            let j = i.reverse_bits() >> (usize::BITS - bits);
            if j > i {
                buf.swap(i, j);
            }
        }
        let mut size = 2;
        while size <= n {
            let half = size / 2;
            let stride = n / size;
            for start in (0..n).step_by(size) {
                for k in 0..half {
                    let t = self.twiddles[k * stride].mul(buf[start + k + half]);
                    let u = buf[start + k];
                    buf[start + k] = u.add(t);
                    buf[start + k + half] = u.sub(t);
                }
            }
            size *= 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fmath::FloatExt;

    /// The direct sum with angles computed per term (an independent reference).
    fn naive(x: &[C64]) -> Vec<C64> {
        let n = x.len();
        (0..n)
            .map(|k| {
                x.iter().enumerate().fold(C64::default(), |acc, (j, &v)| {
                    let angle = -std::f64::consts::TAU * ((j * k) % n) as f64 / n as f64;
                    acc.add(v.mul(C64::new(angle.cos(), angle.sin())))
                })
            })
            .collect()
    }

    fn signal(n: usize) -> Vec<C64> {
        (0..n).map(|j| C64::new(((j * 7 + 3) as f64 * 0.37).sin(), ((j * 5) as f64 * 0.11).cos() * 0.5)).collect()
    }

    #[test]
    fn matches_the_direct_sum_for_power_of_two_and_other_lengths() {
        for n in [1, 2, 3, 4, 5, 8, 12, 64, 100, 256] {
            let x = signal(n);
            let mut got = x.clone();
            Dft::new(n).forward(&mut got, &mut Vec::new());
            let want = naive(&x);
            let scale = want.iter().map(|z| z.norm_sqr().sqrt()).fold(1.0, f64::fmax);
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g.re - w.re).abs() < 1e-12 * scale && (g.im - w.im).abs() < 1e-12 * scale,
                    "n = {n}: {g:?} vs {w:?}"
                );
            }
        }
    }

    #[test]
    fn a_cosine_lands_in_its_two_bins_and_energy_is_kept() {
        let n = 64;
        let x: Vec<C64> =
            (0..n).map(|j| C64::new((std::f64::consts::TAU * 5.0 * j as f64 / n as f64).cos(), 0.0)).collect();
        let mut y = x.clone();
        Dft::new(n).forward(&mut y, &mut Vec::new());
        for (k, z) in y.iter().enumerate() {
            let expected = if k == 5 || k == n - 5 { n as f64 / 2.0 } else { 0.0 };
            assert!((z.re - expected).abs() < 1e-10 && z.im.abs() < 1e-10, "bin {k}: {z:?}");
        }
        // Parseval: Σ|x|² = Σ|X|² / n.
        let time: f64 = x.iter().map(|z| z.norm_sqr()).sum();
        let freq: f64 = y.iter().map(|z| z.norm_sqr()).sum::<f64>() / n as f64;
        assert!((time - freq).abs() < 1e-10 * time);
    }
}
